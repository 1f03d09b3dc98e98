"""The frontier search without training: ladders run on a stub trainer (tests/stub_trainer.py);
the summaries and claims are in test_leaderboard_summaries.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from seqtasks.benchmarks import claims, report
from seqtasks.benchmarks.leaderboard import (
    LRS,
    Ladder,
    LeaderboardPlan,
    Problem,
    best_lr,
)
from seqtasks.benchmarks.runner import Job, failed, run_plan
from seqtasks.benchmarks.summaries import curve, frontier
from seqtasks.training.lengths import MODEL_REFUSAL
from tests.stub_trainer import CALLS, ECHO, climb, seeds_run, stub


def test_problem_options_tie_other_options_to_the_knob() -> None:
    assert ECHO.options(20) == {"framing": "many_to_one", "lag": 20, "length": 21}
    pairs = Problem(
        "ar", "associative_recall", "length", (64, 128), tied={"num_pairs": (1 / 16, 0)}
    )
    assert pairs.options(128) == {"length": 128, "num_pairs": 8}
    memorize = Problem("memorize", "memorize", "length", (5,), {}, ("data.batch_size=32",))
    assert memorize.overrides(5) == ["task=memorize", "task.length=5", "data.batch_size=32"]
    parity = Problem("parity", "parity", "length", (40,), {"min_length": 1},
                     eval_lengths=(100, 500), scored_at=(2,))  # fmt: skip
    assert parity.lengths(40) == [80, 100, 500] and parity.ceiling == 40


def test_one_seed_climbs_three_decide_the_frontier_and_the_break() -> None:
    ladder = climb("plain")
    # seed 0 climbs until two sizes in a row are unsolved (50, 100); seeds 1, 2 only at the
    # frontier (20) and the first unsolved size (50); nothing above the second miss
    assert seeds_run(ladder) == {5: [0], 10: [0], 20: [0, 1, 2], 50: [0, 1, 2], 100: [0]}
    assert ladder.status == "broke"
    entry = frontier(ladder)
    assert (entry["value"], entry["first_unsolved"], entry["seeds_solved"]) == (20, 50, 3)
    assert entry["steps"] == 201 and entry["steps_range"] == [200, 202]  # median and range
    assert entry["num_parameters"] == 1000 and entry["state_size"] == 64
    # its cost: every run once, the tuning runs at the other rates included (seconds: steps / 10)
    assert entry["seconds"] == pytest.approx(
        sum(10 * value + seed for _, value, seed, _ in CALLS) / 10
    )
    runs = [call for call in CALLS if call[0] == "plain"]
    assert len(runs) == len(set(runs)) == 3 + 1 + 3 + 3 + 1  # tuning at 5 (3), no run twice


def test_a_lucky_seed_at_the_top_is_overruled_and_the_frontier_moves_down() -> None:
    ladder = climb("lucky")
    assert seeds_run(ladder) == {5: [0], 10: [0], 20: [0], 50: [0, 1, 2], 100: [0, 1, 2],
                                 200: [0], 500: [0]}  # fmt: skip
    entry = frontier(ladder)
    assert (entry["value"], entry["first_unsolved"], entry["status"]) == (50, 100, "broke")


def test_a_miss_below_the_frontier_does_not_move_it() -> None:
    ladder = climb("unlucky")
    assert seeds_run(ladder)[20] == [0] and frontier(ladder)["value"] == 50
    assert [point["solved"] for point in curve(ladder)][:4] == [True, True, False, True]


def test_a_first_unsolved_size_that_most_seeds_solve_restarts_the_climb() -> None:
    ladder = climb("bloomer")
    assert seeds_run(ladder) == {5: [0], 10: [0], 20: [0, 1, 2], 50: [0, 1, 2], 100: [0, 1, 2],
                                 200: [0]}  # fmt: skip
    entry = frontier(ladder)
    assert (entry["value"], entry["first_unsolved"], entry["seeds_solved"]) == (50, 100, 2)


def test_a_ladder_that_never_breaks_ends_at_its_ceiling() -> None:
    ladder = climb("strong", seeds=3)
    assert ladder.status == "ceiling" and seeds_run(ladder)[1000] == [0, 1, 2]
    entry = frontier(ladder)
    assert entry["value"] == ECHO.ceiling and entry["first_unsolved"] is None
    assert report.frontier_cell(entry) == "**1,000** (ceiling): 10,001 steps (10,000-10,002)"
    assert climb("plain", seeds=1).status == "broke"  # one seed: the climb alone decides


def test_the_learning_rate_is_the_best_of_three_at_the_first_size() -> None:
    ladder = climb("picky")
    assert ladder.lr == 0.01 and sorted(ladder.tuning) == sorted(LRS)
    later = [call for call in CALLS if call[1] != 5]
    assert later and all(call[3] == 0.01 for call in later)  # every later run at the chosen rate
    assert CALLS.count(("picky", 5, 0, 0.01)) == 1  # the tuning run is the ladder's first run
    assert frontier(ladder)["lr"] == 0.01 and frontier(ladder)["value"] == 10
    untuned = climb("plain", lrs=())
    assert untuned.lr is None and all(call[3] is None for call in CALLS)
    assert not any(o.startswith("model.lr=") for o in untuned._job(5, 0).overrides)

    def row(met: int | None, score: float, metric: str = "accuracy") -> dict:
        return {
            "summary": {"metric": metric, "solved_at_step": met, "val": {f"val/{metric}": score}}
        }

    assert best_lr({0.001: row(300, 1.0), 0.003: row(200, 1.0), 0.01: row(None, 0.9)}) == 0.003
    assert best_lr({0.001: row(None, 0.7), 0.01: row(None, 0.9)}) == 0.01
    assert best_lr({0.001: row(None, 0.2, "mse"), 0.01: row(None, 0.1, "mse")}) == 0.01
    assert best_lr({0.001: {"summary": None}}) is None


def test_resume_replays_the_ladder_from_saved_rows_and_runs_only_what_is_missing() -> None:
    saved: dict[str, dict] = {}
    CALLS.clear()
    first = Ladder("lucky", ["model=lucky"], ECHO)
    run_plan(LeaderboardPlan([], [first]), job_fn=stub, progress=lambda line: None,
             on_row=lambda row: saved.setdefault(row["job_id"], row))  # fmt: skip
    total = len(CALLS)
    again = climb("lucky", known=saved)
    assert CALLS == [] and frontier(again) == frontier(first)  # nothing runs twice
    half = dict(list(saved.items())[: total // 2])
    again = climb("lucky", known=half)
    assert len(CALLS) == total - len(half) and frontier(again) == frontier(first)


def test_errors_are_kept_with_their_message_and_refusals_are_not_applicable() -> None:
    ladder = climb("broken")
    assert ladder.status == "error" and ladder.next_jobs() == []
    cell = report.frontier_cell(frontier(ladder))
    assert cell == "error: RuntimeError: boom second line / with a pipe"
    (row,) = ladder.all_rows()  # the failed tuning run is the first size's row: in the tables too
    assert report.size_cell([row]) == cell and row["value"] == ECHO.values[0]
    refused = Ladder("mlp", [], ECHO, lrs=())
    job = refused.next_jobs()[0]
    message = "ConfigError: model=mlp cannot serve"
    refused.record(job, {**job.label, "seed": 0, "solved": False, "steps": 0, "sequences": 0,
                         "stopped": "error", "error": message})  # fmt: skip
    assert refused.status == "n/a" and report.frontier_cell(frontier(refused)) == "n/a"
    with pytest.raises(ValueError, match="seeds=0"):
        Ladder("lstm", [], ECHO, seeds=0)


def test_a_model_that_refuses_other_lengths_climbs_without_them() -> None:
    scored = replace(ECHO, scored_at=(2, 10))  # the first size is also scored at 2x and 10x
    plain, saved = climb("plain", scored), {}
    CALLS.clear()
    fixed = Ladder("fixed", ["model=fixed"], scored)
    run_plan(LeaderboardPlan([], [fixed]), job_fn=stub, progress=lambda line: None,
             on_row=lambda row: saved.setdefault(row["job_id"], row))  # fmt: skip
    # the three rates were refused, then ran again without the lengths; nothing else changed
    assert CALLS[:6] == [("fixed", 5, 0, lr) for lr in (*LRS, *LRS)]
    assert fixed.status == plain.status == "broke" and fixed.frontier() == plain.frontier()
    assert seeds_run(fixed) == seeds_run(plain) and fixed.error is None
    assert sorted(fixed.tuning) == sorted(LRS) and not any(map(failed, fixed.tuning.values()))
    entry = frontier(fixed)
    assert entry["lengths_refused"].startswith("report.eval_lengths: the model cannot take")
    assert (
        frontier(plain)["lengths_refused"] is None
        and frontier(climb("fixed"))["lengths_refused"] is None
    )
    note = claims.lengths_table([], [entry])
    assert "- fixed on echo: report.eval_lengths: the model cannot take length=10" in note
    again = climb("fixed", scored, known=saved)  # --resume replays the refusals and the reruns
    assert CALLS == [] and frontier(again) == entry
    # lengths the user asked for (in the ladder's own overrides) are not dropped: an error
    CALLS.clear()
    asked = Ladder("fixed", ["model=fixed", "report.eval_lengths=[20]"], ECHO)
    run_plan(LeaderboardPlan([], [asked]), job_fn=stub, progress=lambda line: None)
    assert asked.status == "error" and MODEL_REFUSAL in asked.error and len(CALLS) == len(LRS)


def test_a_diverged_run_is_unsolved_and_its_learning_rate_is_not_chosen() -> None:
    hot = climb("hot")  # lr 0.01 diverges at the first size; 0.001 and 0.003 solve it
    assert hot.status == "broke" and hot.lr == 0.001 and hot.frontier() == (20, 50)
    unstable = climb("unstable")  # diverges from size 50 on: that is where it breaks
    assert unstable.status == "broke" and unstable.frontier() == (20, 50)
    cell = report.frontier_cell(frontier(unstable))
    assert cell == report.frontier_cell(frontier(climb("plain")))
    ladder = Ladder("hot", [], ECHO, lrs=(0.01,))  # every rate diverged: nothing to climb with
    job = ladder.next_jobs()[0]
    ladder.record(job, stub(job))
    assert ladder.status == "error" and "training diverged" in ladder.error
    assert [row["stopped"] for row in ladder.all_rows()] == ["error"]  # shown: 0/1, unsolved


def test_plan_hands_out_fixed_jobs_then_ladders_first_model_first() -> None:
    fixed = [Job({"model": "lstm", "case": "echo/lag=1"}, ("task=echo",))]
    other = replace(ECHO, key="echo2")
    plan = LeaderboardPlan(fixed, [Ladder("gru", [], ECHO), Ladder("lstm", [], ECHO),
                                   Ladder("gru", [], other)])  # fmt: skip
    waiting = sorted(reversed(plan.next_jobs()), key=plan.priority)  # as run_plan orders them
    assert waiting[0] is fixed[0]
    assert [job.label["model"] for job in waiting[1:]] == ["gru"] * 6 + ["lstm"] * 3
    assert plan.next_jobs() == []  # nothing new until rows come back
