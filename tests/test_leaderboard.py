"""The frontier search without training: ladders fed made-up rows; frontiers and claims."""

from __future__ import annotations

from dataclasses import replace

import pytest
from seqtasks.benchmarks import claims, report
from seqtasks.benchmarks.leaderboard import Ladder, LeaderboardPlan, Problem, curve, frontier
from seqtasks.benchmarks.runner import Job

ECHO = Problem("echo", "echo", "lag", (1, 2, 5, 10, 20), {"framing": "many_to_one"})


def feed(ladder: Ladder, outcomes: dict[int, list[bool]]) -> list[tuple[int, int]]:
    """Run the ladder to the end: seed s at size v is solved when ``outcomes[v][s]``.

    Returns the (value, seed) pairs in the order they were handed out."""
    handed, queue = [], ladder.next_jobs()
    while queue:
        job = queue.pop(0)
        value, seed = job.label["value"], job.seed
        handed.append((value, seed))
        solved = outcomes[value][seed]
        stopped = "solved" if solved else "max_steps"
        row = {**job.label, "seed": seed, "solved": solved, "steps": 100 * value + seed,
               "sequences": 6400 * value, "stopped": stopped}  # fmt: skip
        queue += ladder.record(job, row)
        queue += ladder.next_jobs()
    return handed


def test_problem_overrides_echo_length_follows_lag() -> None:
    assert ECHO.options(20) == {"framing": "many_to_one", "lag": 20, "length": 21}
    memorize = Problem("memorize", "memorize", "length", (5,), {}, ("data.batch_size=32",))
    assert memorize.overrides(5) == ["task=memorize", "task.length=5", "data.batch_size=32"]


def test_ladder_stops_after_two_unsolved_sizes_in_a_row() -> None:
    ladder = Ladder("lstm", ["model=lstm"], ECHO, seeds=3)
    outcomes = {1: [True] * 3, 2: [True] * 3, 5: [False] * 3, 10: [False] * 3, 20: [True] * 3}
    handed = feed(ladder, outcomes)
    # solved sizes run all three seeds; unsolved ones stop after two: a third cannot make a majority
    assert handed.count((5, 2)) == 0 and handed.count((10, 2)) == 0
    assert {(1, 2), (2, 2)} <= set(handed)
    assert not any(value == 20 for value, _ in handed)  # never reached: 5 and 10 broke it
    assert ladder.status == "broke"
    result = frontier(ladder)
    assert result["value"] == 2 and result["first_unsolved"] == 5
    assert result["seeds_solved"] == 3 and result["steps"] == 201  # median of 200, 201, 202


def test_split_seeds_run_the_third_and_one_miss_does_not_stop() -> None:
    ladder = Ladder("gru", [], ECHO, seeds=3)
    outcomes = {1: [True, False, True], 2: [False, True, False], 5: [True, True, False],
                10: [False, False, True], 20: [False, False, False]}  # fmt: skip
    handed = feed(ladder, outcomes)
    assert (1, 2) in handed and (2, 2) in handed  # split after two seeds: the third decides
    assert (5, 2) in handed  # solved: the third seed still runs for the steps median
    assert (10, 2) not in handed and (20, 2) not in handed
    assert ladder.status == "broke"
    points = {point["value"]: point for point in curve(ladder)}
    assert [points[v]["solved"] for v in (1, 2, 5, 10, 20)] == [True, False, True, False, False]
    assert points[1]["seeds_solved"] == 2 and points[1]["steps"] == 101  # median of 100, 102
    assert frontier(ladder)["value"] == 5  # a size beyond an unsolved one still counts


def test_largest_size_and_single_seed() -> None:
    ladder = Ladder("mlp_window", [], ECHO, seeds=1)
    feed(ladder, {value: [True] for value in ECHO.values})
    assert ladder.status == "largest size"
    assert frontier(ladder)["value"] == 20
    assert report.frontier_cell(frontier(ladder)).startswith("**>= 20**")


def test_a_refused_model_is_not_applicable() -> None:
    ladder = Ladder("mlp", [], ECHO)
    job = ladder.next_jobs()[0]
    row = {**job.label, "seed": 0, "solved": False, "steps": 0, "sequences": 0,
           "stopped": "error", "error": "ConfigError: model=mlp cannot serve"}  # fmt: skip
    assert ladder.record(job, row) == [] and ladder.status == "n/a"
    assert ladder.next_jobs() == []
    assert report.frontier_cell(frontier(ladder)) == "n/a"
    with pytest.raises(ValueError, match="seeds=0"):
        Ladder("lstm", [], ECHO, seeds=0)


def test_plan_hands_out_fixed_jobs_then_ladders() -> None:
    fixed = [Job({"model": "lstm", "case": "echo/lag=1"}, ("task=echo",))]
    plan = LeaderboardPlan(fixed, [Ladder("lstm", [], ECHO), Ladder("gru", [], ECHO)])
    first = plan.next_jobs()
    assert first[0] is fixed[0] and len(first) == 1 + 2 + 2  # two seeds of each ladder
    assert plan.next_jobs() == []  # nothing new until rows come back
    for job in first[1:3]:
        plan.record(job, {**job.label, "seed": job.seed, "solved": True, "steps": 10,
                          "sequences": 640, "stopped": "solved"})  # fmt: skip
    later = plan.next_jobs()  # lstm: its third seed at lag 1, and lag 2's first two
    assert sorted((j.label["value"], j.seed) for j in later) == [(1, 2), (2, 0), (2, 1)]
    assert all(j.label["model"] == "lstm" for j in later)


def test_frontier_cells() -> None:
    entry = {"status": "broke", "value": 50, "steps": 1700.0, "first_unsolved": 100}
    assert report.frontier_cell(entry) == "**50**: 1,700 steps, breaks at 100"
    entry = {"status": "broke", "value": None, "steps": None, "first_unsolved": 1}
    assert report.frontier_cell(entry) == "none (1 unsolved)"
    entry = {"status": "time limit", "value": 10, "steps": 300, "first_unsolved": None}
    assert report.frontier_cell(entry) == "**10**: 300 steps (stopped by the time limit)"
    entry = {"status": "time limit", "value": None, "steps": None, "first_unsolved": None}
    assert report.frontier_cell(entry) == "no size decided (stopped by the time limit)"
    entry = {"status": "time limit", "value": None, "steps": None, "first_unsolved": 5}
    assert report.frontier_cell(entry) == "none yet (5 unsolved; stopped by the time limit)"


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


def test_ladder_scores_its_first_size_at_other_lengths() -> None:
    echo = Problem("echo", "echo", "lag", (5, 10), {}, (), "", (2, 5, 10))
    first, *_ = Ladder("gru", ["model=gru"], echo).next_jobs()
    assert first.overrides[-1] == "report.eval_lengths=[12,30,60]"  # lag 5: length 6
    assert not any("eval_lengths" in o for o in Ladder("mlp_window", [], echo).next_jobs()[0]
                   .overrides)  # fmt: skip
    assert echo.lengths(10) == []


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


def test_the_first_models_ladders_start_first() -> None:
    fixed = [Job({"model": "lstm", "case": "echo/lag=1"}, ("task=echo",))]
    other = replace(ECHO, key="echo2")
    plan = LeaderboardPlan(fixed, [Ladder("gru", [], ECHO), Ladder("lstm", [], ECHO),
                                   Ladder("gru", [], other)])  # fmt: skip
    waiting = sorted(reversed(plan.next_jobs()), key=plan.priority)  # as run_plan orders them
    assert waiting[0] is fixed[0]
    assert [job.label["model"] for job in waiting[1:]] == ["gru"] * 4 + ["lstm"] * 2
