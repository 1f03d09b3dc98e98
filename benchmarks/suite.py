"""The leaderboard: every architecture on every problem, pushed until it breaks.

    python -m seqtasks.benchmarks.suite [--quick | --full] [--out DIR] [--workers 2]
        [train.py overrides...]

For ``lstm``, ``gru``, ``rnn``, ``transformer``, the memoryless ``mlp`` and the whole-window
``mlp_window`` (a reference: it sees the whole input at once), under one budget in steps:

- the specification's claims, judged on runs at the default sizes (``seqtasks.benchmarks.claims``);
- each problem's difficulty knob pushed up a geometric ladder of sizes until two sizes in a row
  are unsolved (or the profile's largest size), 3 seeds a size
  (``seqtasks.benchmarks.leaderboard``):
  the frontier is the largest size solved in most seeds;
- length generalisation: on problems whose rule is the same at every length, the first size's
  runs are also scored at 2x, 5x and 10x their training length.

Any ``train.py`` override passes through to every run; ``model=NAME`` (e.g. ``model=custom
model.net._target_=pkg.Class +model.net.width=64``) runs the same protocol on that model alone.
Writes ``leaderboard.json`` (budget, machine, every run), ``leaderboard.md`` and
``leaderboard.png`` into ``--out`` (default ``results``).

Profiles: the default fits 30 minutes on 2 CPU cores (2 runs at once, 1 thread each), with sizes
up to those the default LSTM is asked to reach; ``--quick`` is a first look in under 5 minutes;
``--full`` pushes every ladder 10 to 100 times further with a budget of 20,000 steps, for a GPU
(``python -m seqtasks.benchmarks.suite --full --workers 4 trainer=gpu``).

Per-problem settings, the same for every model (measured here with the default LSTM, seed 0):
batch 32 on the memory problems, which learned per sequence as fast as 64 or 128 and costs the
least per step (echo at lag 49: solved after 1,800 steps at batch 32, 1,700 at 64; subsequence at
length 20: 2,650 at 32, 2,050 at 64, 1,650 at 128); on the ramp, batch 512 and lr 0.004: its
criterion is a root mean squared error of a quarter of the ramp's step, and at the default lr
0.01 Adam's noise stays above it at length 1000 (mse 1.5e-7 after 3,000 steps, 6.25e-8 needed);
at lr 0.004 the LSTM met it after 2,000-3,800 steps (3 seeds).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from seqtasks.benchmarks import claims, plots, report
from seqtasks.benchmarks.leaderboard import Ladder, LeaderboardPlan, Problem, curve, frontier
from seqtasks.benchmarks.runner import machine, run_plan

MODELS = ("lstm", "gru", "rnn", "transformer", "mlp", "mlp_window")
# the order ladders start in (a time limit cuts the last): the default LSTM, then the memoryless
# references (a few seconds a run), then the other architectures
PRIORITY = ("lstm", "mlp", "mlp_window", "gru", "rnn", "transformer")
SETTINGS = {  # per problem, the same for every model (the module docstring says why)
    "ramp": ("data.batch_size=512", "model.lr=0.004"),
    "memorize": ("data.batch_size=32",),
    "echo": ("data.batch_size=32",),
    "subsequence": ("data.batch_size=32",),
    "classify": ("data.batch_size=32",),
}
# the sizes the default LSTM is asked to reach; the default profile's ladders end there (or one
# size beyond, where it is cheap), --full goes further
GOALS = {"ramp": 1000, "memorize": 50, "echo": 50, "subsequence/many_to_one": 20,
         "subsequence/one_to_one": 20, "subsequence/seq2seq": 20, "classify": 100}  # fmt: skip
SIZES = {  # problem -> (task, knob, fixed task options, what stays fixed in words)
    "ramp": ("ramp", "length", {"framing": "many_to_one"},
             "window 1; solved at mse <= (0.25/length)^2"),
    "memorize": ("memorize", "length", {"framing": "many_to_one"}, "many_to_one, 2 sequences"),
    "echo": ("echo", "lag", {"framing": "many_to_one"}, "length lag + 1, vocab 100"),
    "subsequence/many_to_one": ("subsequence", "length", {"framing": "many_to_one"},
                                "whole sequence after the last input, vocab 10"),
    "subsequence/one_to_one": ("subsequence", "length", {"framing": "one_to_one"},
                               "one output per step (the identity), vocab 10"),
    "subsequence/seq2seq": ("subsequence", "length", {"framing": "seq2seq"},
                            "the first 3 symbols, encoder-decoder, vocab 10"),
    "classify": ("classify", "length", {"framing": "one_to_one"}, "threshold length/4"),
}  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """One budget for every run of a leaderboard, and the sizes each problem is pushed through."""

    name: str
    max_steps: int  # the budget of one run, in optimizer steps (sequences: steps x batch)
    val_every: int  # steps between validations: the stop-when-solved check
    eval_samples: int  # fixed validation and test sets
    seeds: int
    run_seconds: float  # wall-clock guard of one run: a run stopped by it counts as unsolved
    time_limit: float  # seconds: no run starts after this
    values: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def overrides(self) -> list[str]:
        return [f"trainer.max_steps={self.max_steps}", f"solved_in_a_row={SOLVED_IN_A_ROW}",
                f"data.val_samples={self.eval_samples}",
                f"data.test_samples={self.eval_samples}",
                f"data.eval_batch_size={self.eval_samples}", "checkpoint.every_n_steps=0",
                "+trainer.enable_model_summary=false", "trainer.log_every_n_steps=100"]  # fmt: skip


# a run stops after two validations in a row meet the criterion: stopped at the first, a model
# that only just touched the threshold on the validation set fails the test set about half the
# time (the LSTM on classify at length 10: validation 0.990, test 0.989), which says nothing of it
SOLVED_IN_A_ROW = 2
LADDER = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)


def _ladder(start: int, stop: int) -> tuple[int, ...]:
    return tuple(value for value in LADDER if start <= value <= stop)


RAMP = (10, 30, 100, 300, 1000, 3000, 10000, 30000, 100000)  # a step of sqrt(10): ramps are cheap
DEFAULT_SIZES = {  # up to the sizes the default LSTM is asked to reach (a CPU, 30 minutes)
    "ramp": RAMP[:5:2],  # 10, 100, 1000: each ramp step costs little, but they add up
    "memorize": _ladder(5, 50),
    "echo": _ladder(5, 50),
    "subsequence/many_to_one": _ladder(5, 50),
    "subsequence/one_to_one": _ladder(5, 100),
    "subsequence/seq2seq": _ladder(5, 50),
    "classify": _ladder(10, 100),
}
FULL_SIZES = {
    "ramp": RAMP,
    "memorize": _ladder(5, 2000),
    "echo": _ladder(5, 2000),
    "subsequence/many_to_one": _ladder(5, 500),
    "subsequence/one_to_one": _ladder(5, 5000),
    "subsequence/seq2seq": _ladder(5, 2000),
    "classify": _ladder(10, 5000),
}
DEFAULT = Profile("default", 3000, 100, 1000, 3, 120, 1740, DEFAULT_SIZES)
QUICK = Profile("quick", 200, 25, 500, 1, 20, 240, {k: v[:2] for k, v in DEFAULT_SIZES.items()})
FULL = Profile("full", 20000, 100, 2000, 3, 1800, 12 * 3600, FULL_SIZES)
PROFILES = {profile.name: profile for profile in (DEFAULT, QUICK, FULL)}


# one rule at any length: the first size is scored at other lengths (echo: the lag-5 case, since
# at the ladder's length lag + 1 "the first value" is the same rule as "lag steps back")
SAME_RULE = ("subsequence/one_to_one", "subsequence/seq2seq")
LENGTH_FACTORS = (2, 5, 10)  # their first size is also scored at these multiples of its length


def problems(profile: Profile) -> list[Problem]:
    """Every problem's ladder at this profile's sizes, with its per-problem settings."""
    return [Problem(key, task, knob, profile.values[key], fixed, settings(task, profile), note,
                    LENGTH_FACTORS if key in SAME_RULE else ())
            for key, (task, knob, fixed, note) in SIZES.items()]  # fmt: skip


def settings(task: str, profile: Profile) -> tuple[str, ...]:
    """A task's training overrides: its ``SETTINGS``, and a training epoch (the validation
    interval) of ``profile.val_every`` steps."""
    batch = next(item for item in SETTINGS[task] if item.startswith("data.batch_size="))
    return (*SETTINGS[task], f"data.train_samples={int(batch.split('=')[1]) * profile.val_every}")


def user_model(overrides: Sequence[str]) -> str | None:
    """The ``model=NAME`` among the overrides, if any."""
    names = [item.split("=", 1)[1] for item in overrides if item.startswith("model=")]
    return names[-1] if names else None


def run(profile: Profile, overrides: list[str], workers: int = 2,
        progress: Any = None) -> dict[str, Any]:  # fmt: skip
    """The whole leaderboard: the plan's runs, then everything the report needs."""
    only = user_model(overrides)
    models = (only,) if only else MODELS
    extra = [*profile.overrides(), *overrides]
    per_task = {task: settings(task, profile) for task in SETTINGS}
    fixed = claims.case_jobs(claims.CASES, per_task, extra, only)
    ladders = [
        Ladder(model, [*([] if only else [f"model={model}"]), *extra], problem, profile.seeds)
        for model in [m for m in PRIORITY if m in models] or models
        for problem in problems(profile)
    ]
    plan = LeaderboardPlan(fixed, ladders)
    started = time.perf_counter()
    run_plan(plan, seconds=profile.run_seconds, workers=workers, progress=progress,
             time_limit=profile.time_limit)  # fmt: skip
    wall = time.perf_counter() - started
    names = {row["model"]: row["summary"]["model"] for _, row in plan.rows
             if only == "custom" and row.get("summary")}  # fmt: skip
    rename = (lambda name: names.get(name, name)) if names else (lambda name: name)
    order = {key: index for index, key in enumerate(SIZES)}
    rank = {rename(model): index for index, model in enumerate(models)}
    ladder_rows = [row for job, row in plan.rows if "problem" in job.extra]
    own_cases = [row for job, row in plan.rows if "case" in job.label]
    for row in (*own_cases, *ladder_rows):
        row["model"] = rename(row["model"])
    lengths = claims.lengths([*own_cases, *ladder_rows])
    case_rows = own_cases + ([] if only else claims.ladder_cases(claims.CASES, ladder_rows))
    case_rows.sort(key=lambda row: [case.key for case in claims.CASES].index(row["case"]))
    frontiers = [{**frontier(ladder), "model": rename(ladder.model)} for ladder in ladders]
    curves = [{"model": rename(ladder.model), "problem": ladder.problem.key,
               "points": curve(ladder)} for ladder in ladders]  # fmt: skip
    return {
        "wall_seconds": round(wall, 1),
        "models": [rename(model) for model in models],
        "problems": [asdict(problem) for problem in problems(profile)],
        "goals": GOALS,
        "claims": [] if only else claims.judge(claims.CLAIMS, case_rows),
        "lengths": sorted(lengths, key=lambda e: (order.get(e["problem"], -1), rank[e["model"]])),
        "frontier": frontiers,
        "curves": curves,
        "cases": case_rows,
        "runs": sorted(
            ladder_rows,
            key=lambda row: (order[row["problem"]], row["value"], rank[row["model"]], row["seed"]),
        ),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.suite",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--quick", action="store_true", help="a first look: < 5 min on 2 cores")
    chosen.add_argument("--full", action="store_true", help="larger sizes and budget, for a GPU")
    parser.add_argument("--out", type=Path, default=Path("results"), help="output folder")
    parser.add_argument("--workers", type=int, default=2, help="runs at once, 1 thread each")
    parser.add_argument("--max-steps", type=int, help="replace the profile's budget (tests)")
    parser.add_argument("--time-limit", type=float, help="seconds; no run starts after it")
    parser.add_argument("overrides", nargs="*", help="train.py overrides for every run")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL if args.full else DEFAULT
    if args.max_steps is not None:
        profile = replace(profile, max_steps=args.max_steps)
    if args.time_limit is not None:
        profile = replace(profile, time_limit=args.time_limit)
    given = sys.argv[1:] if argv is None else list(argv)
    results = run(profile, list(args.overrides), args.workers)
    results.update(
        command=" ".join(["python -m seqtasks.benchmarks.suite", *given]),
        budget=report.budget(profile, results["problems"], args.workers),
        machine={**machine(), "threads": 1, "workers": args.workers},
        overrides=list(args.overrides),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    report.write(args.out, results)
    plots.leaderboard(results, args.out / "leaderboard.png")
    print(f"wrote {args.out}/leaderboard.json, leaderboard.md, leaderboard.png in "
          f"{results['wall_seconds'] / 60:.1f} min", file=sys.stderr)  # fmt: skip
    return results


if __name__ == "__main__":
    main()
