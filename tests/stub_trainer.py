"""A stub trainer for the leaderboard's tests: which (size, seed) a model solves is a known
function (``RULES``), so ladders climb in milliseconds."""

from __future__ import annotations

from typing import Any

from seqtasks.benchmarks.leaderboard import (
    LRS,
    Ladder,
    LeaderboardPlan,
    Problem,
)
from seqtasks.benchmarks.runner import Job, run_plan
from seqtasks.training.lengths import MODEL_REFUSAL

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
    solved; model ``picky`` meets the criterion only at lr 0.01; model ``broken`` fails; ``hot``
    diverges at lr 0.01, ``unstable`` from size 50 on (else as ``plain``); ``fixed`` refuses
    ``report.eval_lengths`` as a net of a fixed width does (else as ``plain``); model
    ``slow``'s and ``slow_bloomer``'s unsolved runs are stopped by the wall-clock guard."""
    label = job.label
    model, value, lr = label["model"], label.get("value", 5), label.get("lr")
    CALLS.append((model, value, job.seed, lr))
    diverged = (model == "hot" and lr == 0.01) or (model == "unstable" and value >= 50)
    lengths = any(o.startswith("report.eval_lengths=") for o in job.overrides)
    if model == "fixed" and lengths:  # a net of a fixed width: refuses other lengths
        return {**label, "seed": job.seed, "solved": False, "steps": 0, "sequences": 0,
                "test_metric": None, "seconds": 0.0, "stopped": "error", "summary": None,
                "error": f"{MODEL_REFUSAL} length=10: Net RuntimeError: shapes",
                **job.extra}  # fmt: skip
    if model == "broken" or diverged:
        message = ("FloatingPointError: training diverged: loss is nan at step 7" if diverged
                   else "RuntimeError: boom\nsecond line | with a pipe")  # fmt: skip
        return {**label, "seed": job.seed, "solved": False, "steps": 0, "sequences": 0,
                "test_metric": None, "seconds": 0.0, "stopped": "error", "summary": None,
                "error": message, **job.extra}  # fmt: skip
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
