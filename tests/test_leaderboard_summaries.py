"""The leaderboard's summaries on stub rows: the ranking, frontier cells, goals, wall-clock
breaks, claims, the length-generalisation medians."""

from __future__ import annotations

from seqtasks.benchmarks import claims, report, summaries
from seqtasks.benchmarks.summaries import frontier
from tests.stub_trainer import CALLS, climb, seeds_run


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
    # some decided follows, its score provisional, even above a ranked score; none decided: last
    waiting = [entry("w", "a", None, "time limit"), entry("w", "b", None, "time limit")]
    partial = [entry("v", "a", 1, "time limit"), entry("v", "b", None)]  # 1/4 so far, 0
    ahead = [entry("u", "a", 10, "ceiling"), entry("u", "b", 1, "time limit")]  # 100 and 50 so far
    ranked = summaries.ranking([*waiting, *ahead, *frontiers, *partial], problems)
    assert [(e["model"], e["rank"]) for e in ranked] == [
        ("x", 1), ("y", 2), ("z", 2), ("u", None), ("v", None), ("w", None)]  # fmt: skip
    assert [e["not_finished"] for e in ranked] == [0, 0, 0, 1, 1, 2]
    table = summaries.ranking_table(ranked)
    assert "| - | w | no ladder decided yet | - | - | - | - | - | - | - | 4 (0.5 h) |" in table
    assert ("| - | u | 75.0, provisional (1 of 2 ladders decided) | 1 | 0 | 0 | 0 | 0 | 1 | 100 "
            "| 4 (0.5 h) |" in table)  # fmt: skip
    assert "| - | v | 12.5, provisional (1 of 2 ladders decided) |" in table
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
    assert (slow["value"], slow["first_unsolved"], slow["broke_by_time"]) == (20, 50, 3)
    assert slow["status"] == "time-limited" and plain["status"] == "broke"
    assert report.frontier_cell(slow) == (
        "**20**: 201 steps (200-202), 50 unsolved within the wall-clock limit (3 of 3 runs there "
        "stopped by the wall-clock limit before their step budget)"
    )
    assert plain["broke_by_time"] == 0 and "wall-clock" not in report.frontier_cell(plain)
    ranked = summaries.ranking([slow, plain], [{"key": slow["problem"], "values": [5, 10, 20, 50]}])
    assert [(e["broke"], e["time_limited"]) for e in ranked] == [(0, 1), (1, 0)]
    # seed 0 cut at 50, seeds 1 and 2 solve it: 50 is solved and the climb goes on, to its
    # next cut size (100), where it ends
    bloomer = climb("slow_bloomer")
    assert seeds_run(bloomer) == {5: [0], 10: [0], 20: [0, 1, 2], 50: [0, 1, 2],
                                  100: [0, 1, 2]}  # fmt: skip
    assert (frontier(bloomer)["value"], frontier(bloomer)["first_unsolved"]) == (50, 100)
    nothing = {"status": "broke", "value": None, "steps": None, "first_unsolved": 5,
               "broke_by_time": 1, "runs_at_break": 3}  # fmt: skip
    assert report.frontier_cell(nothing) == (
        "none (5 unsolved (1 of 3 runs there stopped by the wall-clock limit before their step "
        "budget))"
    )


def test_a_break_is_the_models_only_where_the_budget_stopped_most_runs_there() -> None:
    def run(solved: bool, stopped: str) -> dict:
        return {"solved": solved, "stopped": stopped}

    budget, cut, solved = run(False, "max_steps"), run(False, "time"), run(True, "solved")
    assert summaries.break_status("broke", [budget, budget, cut]) == "broke"  # 2 of 3: a break
    assert summaries.break_status("broke", [budget, cut, solved]) == "time-limited"  # 1 of 3
    assert summaries.break_status("broke", [cut, cut, budget]) == "time-limited"
    assert summaries.break_status("broke", [cut]) == "time-limited"
    assert summaries.break_status("broke", [budget]) == "broke"
    assert summaries.break_status("ceiling", []) == "ceiling"
    assert summaries.break_status("time limit", [cut]) == "time limit"  # not decided yet


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
    assert "chance 0.01)" in verdicts["echo/lag=1", "mlp"]["measured"]
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
    assert claims.lengths_table([entry], []).splitlines()[0].endswith("| 2x | 10x |")


def test_a_set_learning_rate_is_shown_as_the_claims_where_the_ladders_tune_it() -> None:
    ramp = {"settings": ["data.batch_size=512", "model.lr=0.004"]}
    tuned = report.settings_text({"learning_rates": [0.001, 0.003, 0.01]}, ramp)
    assert tuned == "data.batch_size=512 model.lr=0.004 (the claims' runs; the ladders tune it)"
    assert (
        report.settings_text({"learning_rates": []}, ramp) == "data.batch_size=512 model.lr=0.004"
    )


def test_ranking_ties_go_to_fewer_median_steps_and_error_cells_give_no_steps() -> None:
    problems = [{"key": "a", "values": [1, 2]}, {"key": "b", "values": [1, 2]}]

    def entry(model: str, problem: str, steps: int, status: str = "broke") -> dict:
        return {"model": model, "problem": problem, "value": 1, "status": status, "steps": steps}

    frontiers = [entry("slow", "a", 900), entry("slow", "b", 900, "error"),
                 entry("fast", "a", 100), entry("fast", "b", 900, "n/a"),
                 entry("twin", "a", 100), entry("twin", "b", 5, "error")]  # fmt: skip
    ranked = summaries.ranking(frontiers, problems)
    assert [(e["model"], e["score"], e["median_steps"], e["rank"]) for e in ranked] == [
        ("fast", 25.0, 100, 1), ("twin", 25.0, 100, 1), ("slow", 25.0, 900, 3)]  # fmt: skip


def test_size_cells_count_a_diverged_run_unsolved_and_name_an_error() -> None:
    def run(solved: bool, steps: int = 200, error: str | None = None) -> dict:
        return {"solved": solved, "steps": steps, "stopped": "error" if error else "solved",
                **({"error": error} if error else {})}  # fmt: skip

    diverged = run(False, 0, "FloatingPointError: training diverged: loss is nan at step 7")
    assert report.size_cell([run(True), run(True, 300), diverged]) == "2/3: 250 steps"
    failed = run(False, 0, "RuntimeError: out of memory")
    assert (
        report.size_cell([run(True), failed])
        == "1/1: 200 steps + error: RuntimeError: out of memory"
    )
    assert report.size_cell([failed]) == "error: RuntimeError: out of memory"


def test_an_unfinished_ladder_does_not_say_breaks_and_an_error_does_not_reach_a_goal() -> None:
    cut = {"status": "time limit", "value": 20, "steps": 200, "first_unsolved": 50}
    assert report.frontier_cell(cut) == "**20**: 200 steps, 50 unsolved so far (not finished)"
    failed = {"model": "lstm", "problem": "echo", "knob": "lag", "status": "error", "value": 100,
              "steps": 300, "first_unsolved": None, "error": "RuntimeError: oom"}  # fmt: skip
    table = report.goals_table({"frontier": [failed]}, {"echo": 50})
    assert table.splitlines()[-1] == "| echo | lag >= 50 | error: RuntimeError: oom | error |"


def test_claims_count_a_diverged_run_unsolved_and_mark_a_run_cut_by_the_clock() -> None:
    summary = {"metric": "accuracy", "criterion": ">= 0.99", "chance": 0.01, "solved_at_step": None}
    rows = [
        {"case": "echo/lag=1", "model": "mlp", "solved": False, "steps": 0, "stopped": "error",
         "error": "FloatingPointError: training diverged: loss is nan at step 7"},
        {"case": "echo/lag=5", "model": "mlp", "solved": False, "steps": 450, "stopped": "time",
         "test_metric": 0.02, "summary": summary},
    ]  # fmt: skip
    verdicts = {(v["case"], v["model"]): v for v in claims.judge(claims.CLAIMS, rows)}
    diverged = verdicts["echo/lag=1", "mlp"]
    assert (
        diverged["verdict"] == "agree" and "not solved (FloatingPointError" in diverged["measured"]
    )
    cut = verdicts["echo/lag=5", "mlp"]["measured"]
    assert "not solved in 450 steps (stopped by the wall-clock limit)" in cut
    assert not any(claim.model == "bilstm" for claim in claims.CLAIMS)  # not in the specification


def test_problems_chosen_limit_the_claims_cases() -> None:
    from dataclasses import replace

    from seqtasks.benchmarks import board, suite

    cases = suite.board_cases(replace(board.BOARD, only=("echo",)))
    assert cases and {case.task for case in cases} == {"echo"}
    assert all(case.ladder is None or case.ladder[0] == "echo" for case in cases)
    assert suite.board_cases(board.BOARD) == list(claims.CASES)


def test_each_set_of_lengths_gets_its_own_table_and_headings() -> None:
    echo = {"problem": "echo", "model": "lstm", "trained_length": 10, "seeds": 3, "solved": 3,
            "trained": 1.0, "by_length": {20: 0.9, 50: 0.5}}  # fmt: skip
    parity = {"problem": "parity", "model": "lstm", "trained_length": 40, "seeds": 3,
              "solved": 3, "trained": 1.0, "by_length": {50: 0.8, 80: 0.7, 500: 0.5}}  # fmt: skip
    tables = claims.lengths_table([echo, parity, {**echo, "model": "gru"}], []).split("\n\n")
    assert [table.splitlines()[0] for table in tables] == [
        "| problem (trained length) | model | seeds solved | trained | 2x | 5x |",
        "| problem (trained length) | model | seeds solved | trained | 50 | 80 | 500 |",
    ]
    assert [len(table.splitlines()) for table in tables] == [4, 3]  # echo's two models together
    parity_row = "| parity (40) | lstm | 3/3 | 1.000 | 0.800 | 0.700 | 0.500 |"
    assert tables[1].splitlines()[2] == parity_row
