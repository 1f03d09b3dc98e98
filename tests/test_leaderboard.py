"""The frontier search without training: ladders run on a stub trainer; frontiers and claims."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from seqtasks.benchmarks import claims, report, summaries
from seqtasks.benchmarks.leaderboard import (
    LRS,
    Ladder,
    LeaderboardPlan,
    Problem,
    best_lr,
    curve,
    frontier,
)
from seqtasks.benchmarks.runner import Job, run_plan

ECHO = Problem("echo", "echo", "lag", (5, 10, 20, 50, 100, 200, 500, 1000),
               {"framing": "many_to_one"}, tied={"length": (1, 1)})  # fmt: skip
# model -> whether (size, seed) is solved: a known function, the stub trainer's answer
RULES = {
    "plain": lambda value, seed: value <= 20,
    "lucky": lambda value, seed: value <= 50 or (value == 100 and seed == 0),
    "unlucky": lambda value, seed: value <= 50 and (value, seed) != (20, 0),
    "bloomer": lambda value, seed: value <= 20 or (value == 50 and seed != 0),
    "strong": lambda value, seed: True,
    "picky": lambda value, seed: value <= 10,
}
RULES["slow_bloomer"] = RULES["bloomer"]  # and its unsolved runs meet the wall-clock guard
CALLS: list[tuple[str, int, int, Any]] = []  # (model, value, seed, lr) of every stub run


def stub(job: Job, seconds: float | None = None, errors: str = "row", threads: int = 1) -> dict:
    """A fake trainer: solved by ``RULES``; steps 10 x size + seed; validation accuracy 1 when
    solved; model ``picky`` meets the criterion only at lr 0.01; model ``broken`` fails; model
    ``slow``'s and ``slow_bloomer``'s unsolved runs are stopped by the wall-clock guard."""
    label = job.label
    model, value, lr = label["model"], label.get("value", 5), label.get("lr")
    CALLS.append((model, value, job.seed, lr))
    if model == "broken":
        return {**label, "seed": job.seed, "solved": False, "steps": 0, "sequences": 0,
                "test_metric": None, "seconds": 0.0, "stopped": "error", "summary": None,
                "error": "RuntimeError: boom\nsecond line | with a pipe", **job.extra}  # fmt: skip
    solved = RULES.get(model, RULES["plain"])(value, job.seed)
    if model == "picky" and lr is not None and lr != 0.01:
        solved = False
    steps = 10 * value + job.seed
    stopped = "time" if model.startswith("slow") else "max_steps"  # slow*: the guard stops them
    summary = {"metric": "accuracy", "criterion": ">= 0.99", "chance": 0.01,
               "solved_at_step": steps if solved else None, "steps": steps,
               "val": {"val/accuracy": 1.0 if solved else 0.5}, "num_parameters": 1000,
               "state_size": 64}  # fmt: skip
    return {**label, "seed": job.seed, "solved": solved, "steps": steps,
            "sequences": 32 * steps, "test_metric": summary["val"]["val/accuracy"],
            "seconds": steps / 10, "stopped": "solved" if solved else stopped, "threads": threads,
            "num_parameters": 1000, "state_size": 64, **job.extra,
            "summary": summary}  # fmt: skip


def climb(model: str, problem: Problem = ECHO, seeds: int = 3, lrs=LRS, known=None) -> Ladder:
    """Run one ladder to its end on the stub trainer."""
    CALLS.clear()
    ladder = Ladder(model, [f"model={model}"], problem, seeds, lrs)
    run_plan(LeaderboardPlan([], [ladder]), job_fn=stub, progress=lambda line: None, known=known)
    return ladder


def seeds_run(ladder: Ladder) -> dict[int, list[int]]:
    return {value: sorted(rows) for value, rows in ladder.rows.items()}


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
    refused = Ladder("mlp", [], ECHO, lrs=())
    job = refused.next_jobs()[0]
    message = "ConfigError: model=mlp cannot serve"
    refused.record(job, {**job.label, "seed": 0, "solved": False, "steps": 0, "sequences": 0,
                         "stopped": "error", "error": message})  # fmt: skip
    assert refused.status == "n/a" and report.frontier_cell(frontier(refused)) == "n/a"
    with pytest.raises(ValueError, match="seeds=0"):
        Ladder("lstm", [], ECHO, seeds=0)


def test_plan_hands_out_fixed_jobs_then_ladders_first_model_first() -> None:
    fixed = [Job({"model": "lstm", "case": "echo/lag=1"}, ("task=echo",))]
    other = replace(ECHO, key="echo2")
    plan = LeaderboardPlan(fixed, [Ladder("gru", [], ECHO), Ladder("lstm", [], ECHO),
                                   Ladder("gru", [], other)])  # fmt: skip
    waiting = sorted(reversed(plan.next_jobs()), key=plan.priority)  # as run_plan orders them
    assert waiting[0] is fixed[0]
    assert [job.label["model"] for job in waiting[1:]] == ["gru"] * 6 + ["lstm"] * 3
    assert plan.next_jobs() == []  # nothing new until rows come back


def test_ranking_formula() -> None:
    problems = [{"key": "a", "values": [1, 2, 5, 10]}, {"key": "b", "values": [1, 2]}]

    def entry(model: str, problem: str, value: int | None, status: str = "broke") -> dict:
        return {"model": model, "problem": problem, "value": value, "status": status,
                "steps": 100 if value else None, "runs": 2, "seconds": 900.0}  # fmt: skip

    frontiers = [entry("x", "a", 10, "ceiling"), entry("x", "b", 1), entry("y", "a", 2),
                 entry("y", "b", None, "n/a"), entry("z", "a", 2),
                 entry("z", "b", None)]  # fmt: skip
    ranked = summaries.ranking(frontiers, problems)
    assert [(e["model"], e["score"], e["rank"]) for e in ranked] == [
        ("x", 75.0, 1),
        ("y", 25.0, 2),
        ("z", 25.0, 2),
    ]  # (4/4 + 1/2) / 2; (2/4 + 0) / 2
    assert ranked[0]["at_ceiling"] == 1 and ranked[1]["not_applicable"] == 1
    assert "mean over problems" in summaries.ranking_table(ranked)
    assert "Not finished yet" not in summaries.ranking_table(ranked)
    # a board still being built: only a model whose every ladder is decided is ranked; one with
    # some decided follows, its score a lower bound, even above a ranked score; none decided: last
    waiting = [entry("w", "a", None, "time limit"), entry("w", "b", None, "time limit")]
    partial = [entry("v", "a", 1, "time limit"), entry("v", "b", None)]  # 1/4 so far, 0
    ahead = [entry("u", "a", 10, "ceiling"), entry("u", "b", 1, "time limit")]  # 100 and 50 so far
    ranked = summaries.ranking([*waiting, *ahead, *frontiers, *partial], problems)
    assert [(e["model"], e["rank"]) for e in ranked] == [
        ("x", 1), ("y", 2), ("z", 2), ("u", None), ("v", None), ("w", None)]  # fmt: skip
    assert [e["not_finished"] for e in ranked] == [0, 0, 0, 1, 1, 2]
    table = summaries.ranking_table(ranked)
    assert "| - | w | no ladder decided yet | - | - | - | - | - | - | 4 (0.5 h) |" in table
    assert ("| - | u | >= 75.0 (1 of 2 ladders decided) | 1 | 0 | 0 | 0 | 1 | 100 | 4 (0.5 h) |"
            in table)  # fmt: skip
    assert "| - | v | >= 12.5 (1 of 2 ladders decided) |" in table
    assert "Not finished yet: a model is ranked once every one of its ladders is decided" in table


def test_frontier_cells() -> None:
    entry = {"status": "broke", "value": 50, "steps": 1700.0, "first_unsolved": 100}
    assert report.frontier_cell(entry) == "**50**: 1,700 steps, breaks at 100"
    entry = {**entry, "steps_range": [1500, 2000]}
    assert report.frontier_cell(entry) == "**50**: 1,700 steps (1,500-2,000), breaks at 100"
    entry = {"status": "broke", "value": None, "steps": None, "first_unsolved": 5}
    assert report.frontier_cell(entry) == "none (5 unsolved)"
    entry = {"status": "time limit", "value": 10, "steps": 300, "first_unsolved": None}
    assert report.frontier_cell(entry) == "**10**: 300 steps (not finished)"
    entry = {"status": "time limit", "value": None, "steps": None, "first_unsolved": None}
    assert report.frontier_cell(entry) == "no size decided yet"
    assert report.frontier_cell({**entry, "runs": 0}) == "not run yet"
    entry = {**entry, "first_unsolved": 5, "runs": 3}
    assert report.frontier_cell(entry) == "none yet (5 unsolved; not finished)"


def test_goals_read_not_yet_while_the_ladder_is_unfinished() -> None:
    entry = {"model": "lstm", "problem": "echo", "knob": "lag", "value": 20, "steps": 300,
             "first_unsolved": None, "status": "time limit"}  # fmt: skip
    results = {"frontier": [entry, {**entry, "problem": "memorize", "status": "broke"}]}
    table = report.goals_table(results, {"echo": 50, "memorize": 50, "classify": 100})
    assert "| echo | lag >= 50 | **20**: 300 steps (not finished) | not yet |" in table
    assert "| memorize | lag >= 50 | **20**: 300 steps | **no** |" in table
    assert "classify" not in table  # no entry: no line


def test_a_break_where_runs_hit_the_wall_clock_limit_says_so() -> None:
    ladder = climb("slow")
    slow = frontier(ladder)
    # the climb ends at the first unsolved size whose run met the guard (50), not a size later;
    # the three seeds still decide the frontier (20) and that size
    assert seeds_run(ladder) == {5: [0], 10: [0], 20: [0, 1, 2], 50: [0, 1, 2]}
    assert slow["runs"] == len(CALLS) == 3 + 3 + 2 + 2  # 3 rates, 10 to 50, 2 + 2 seeds
    plain = frontier(climb("plain"))
    assert (slow["value"], slow["first_unsolved"], slow["broke_by_time"]) == (20, 50, True)
    assert report.frontier_cell(slow) == (
        "**20**: 201 steps (200-202), breaks at 50 (a run there hit the wall-clock limit before "
        "its step budget)"
    )
    assert plain["broke_by_time"] is False and "wall-clock" not in report.frontier_cell(plain)
    # seed 0 cut at 50, seeds 1 and 2 solve it: 50 is solved and the climb goes on, to its
    # next cut size (100), where it ends
    bloomer = climb("slow_bloomer")
    assert seeds_run(bloomer) == {5: [0], 10: [0], 20: [0, 1, 2], 50: [0, 1, 2],
                                  100: [0, 1, 2]}  # fmt: skip
    assert (frontier(bloomer)["value"], frontier(bloomer)["first_unsolved"]) == (50, 100)
    nothing = {"status": "broke", "value": None, "steps": None, "first_unsolved": 5,
               "broke_by_time": True}  # fmt: skip
    assert report.frontier_cell(nothing) == (
        "none (5 unsolved (a run there hit the wall-clock limit before its step budget))"
    )


def test_claims_are_judged_on_their_runs() -> None:
    summary = {"metric": "accuracy", "criterion": ">= 0.99", "chance": 0.01, "solved_at_step": 50}
    rows = [
        {"case": "echo/lag=1", "model": "lstm", "solved": True, "steps": 50,
         "test_metric": 0.995, "summary": summary},
        {"case": "echo/lag=1", "model": "mlp", "solved": True, "steps": 50,
         "test_metric": 0.999, "summary": summary},
        {"case": "echo/lag=0", "model": "mlp", "stopped": "error", "error": "boom"},
    ]  # fmt: skip
    verdicts = {(v["case"], v["model"]): v for v in claims.judge(claims.CLAIMS, rows)}
    assert verdicts["echo/lag=1", "lstm"]["verdict"] == "agree"
    assert verdicts["echo/lag=1", "mlp"]["verdict"] == "disagree"  # the claim says it cannot
    assert "solved at step 50" in verdicts["echo/lag=1", "mlp"]["measured"]
    assert verdicts["echo/lag=0", "mlp"]["verdict"] == "not measured"
    assert verdicts["echo/lag=5", "lstm"]["measured"] == "not run"
    assert len(verdicts) == len(claims.CLAIMS)


def test_case_jobs_skip_cases_a_ladder_runs() -> None:
    jobs = claims.case_jobs(claims.CASES, {"echo": ("data.batch_size=32",)}, ["x=1"])
    by_key = {(j.label["case"], j.label["model"]): j for j in jobs}
    echo = by_key["echo/lag=5", "mlp"].overrides
    assert echo[:2] == ("task=echo", "task.lag=5") and "data.batch_size=32" in echo
    assert echo[-1] == "x=1" and "model=mlp" in echo
    assert "report.eval_lengths=[20,50,100]" in echo  # echo at lag 5 of 10 is scored at 2x..10x
    assert not any("eval_lengths" in o for o in by_key["echo/lag=5", "mlp_window"].overrides)
    user = claims.case_jobs(claims.CASES, {}, ["model=custom"], user_model="custom")
    assert [(j.label["case"], j.label["model"]) for j in user] == [("echo/lag=5", "custom")]
    assert "model.bidirectional=true" in by_key["classify/bilstm", "bilstm"].overrides
    assert not any(case == "memorize/many_to_one" for case, _ in by_key)  # a ladder's first size
    ladder_run = {"problem": "memorize", "value": 5, "seed": 0, "model": "lstm", "solved": True}
    rows = claims.ladder_cases(claims.CASES, [ladder_run, {**ladder_run, "seed": 1}])
    assert rows == [
        {**ladder_run, "case": "memorize/many_to_one", "label": "memorize, many_to_one"}
    ]


def test_lengths_are_medians_over_seeds_per_problem_and_model() -> None:
    def run(seed: int, score: float) -> dict:
        summary = {
            "metric": "accuracy",
            "options": {"length": 5},
            "lengths": {"10": {"test/accuracy": score}, "50": {"test/accuracy": score / 2}},
        }
        return {"problem": "subsequence/one_to_one", "model": "gru", "seed": seed,
                "solved": seed != 2, "test_metric": 1.0, "summary": summary}  # fmt: skip

    unscored = {"problem": "echo", "model": "gru", "summary": {"metric": "accuracy"}}
    (entry,) = claims.lengths([run(0, 0.9), run(1, 0.5), run(2, 0.7), unscored])
    assert entry["problem"] == "subsequence/one_to_one" and entry["trained_length"] == 5
    assert entry["seeds"] == 3 and entry["solved"] == 2
    assert entry["by_length"] == {10: 0.7, 50: 0.35}
    assert report.lengths_table([entry]).splitlines()[0].endswith("| 2x | 10x |")
