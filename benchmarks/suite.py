"""The leaderboard: every architecture on every problem, each knob pushed until the model breaks.

    seqtasks-leaderboard [--quick | --full] [--out DIR] [--resume [ROWS ...]]
        [--engine local|dask] [--address tcp://HOST:PORT] [--workers N] [train.py overrides...]
    (or python -m seqtasks.benchmarks.suite ...)

Every model family of ``seqtasks.benchmarks.board`` that is installed (``lstm``, ``gru``, ``rnn``,
``transformer``, ``tcn``, ``mamba``, ``lru``, ``linear_attention``, ``xlstm``, the memoryless
``mlp`` and the whole-window ``mlp_window``) on every problem there, under one budget in steps
and sequences per problem:

- the specification's claims, judged on runs at the default sizes (``seqtasks.benchmarks.claims``);
- each problem's knob pushed up an open ladder to its ceiling, with each model's learning rate
  the best of three at the first size, one seed climbing and three at the frontier and at the
  first unsolved size (``seqtasks.benchmarks.leaderboard`` says how and why);
- length generalisation: some problems' first size is also scored at other lengths.

Any ``train.py`` override passes through to every run; ``model=NAME`` (e.g. ``model=custom
model.net._target_=pkg.Class +model.net.width=64``) runs the same protocol on that model alone.
Every row is saved to ``DIR/rows.jsonl`` as its run ends; ``--resume`` continues the board in
``--out DIR`` (and merges the rows files of other machines given after it): no job whose row
exists runs again. Writes ``leaderboard.json`` (budget, machine, every run), ``leaderboard.md``
and ``leaderboard.png`` into ``--out``: by default a new folder ``./leaderboard-<date>-<time>``.

Profiles: the default (``board``) runs every ladder to its end (hours on a CPU: spread it with
``--engine dask``, cut it with ``--time-limit`` and carry on with ``--resume``); ``--quick`` is a
first look in under 5 minutes (the first two sizes, one seed, the models' own learning rates, no
claims; a time limit of 200 s, ladders in priority order);
``--full`` gives every run 20,000 steps, for a GPU (``--full --workers 4 trainer=gpu``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from seqtasks.benchmarks import board, claims, engines, plots, report, run_dirs, store, summaries
from seqtasks.benchmarks.board import BOARD, FULL, QUICK, Profile
from seqtasks.benchmarks.leaderboard import REFUSED, Ladder, LeaderboardPlan
from seqtasks.benchmarks.runner import Job, compose_config, machine, quiet, run_plan
from seqtasks.benchmarks.setups import StaleRows, check_rows
from seqtasks.benchmarks.tables import compose_message
from seqtasks.training.run import prepare


def user_model(overrides: Sequence[str]) -> str | None:
    """The ``model=NAME`` among the overrides, if any."""
    names = [item.split("=", 1)[1] for item in overrides if item.startswith("model=")]
    return names[-1] if names else None


def board_cases(profile: Profile) -> list[claims.Case]:
    """The claims' cases on the board's problems (``--problems``: a case of another is left out)."""
    if not profile.only:
        return list(claims.CASES)
    tasks = {board.PROBLEMS[key][0] for key in profile.only}
    return [case for case in claims.CASES
            if (case.ladder[0] in profile.only if case.ladder else case.task in tasks)]  # fmt: skip


def board_plan(profile: Profile, overrides: list[str]) -> tuple[list[Job], list[Ladder]]:
    """The specification's claims' runs and the ladders, every model on every problem."""
    only = user_model(overrides)
    models = (only,) if only else board.models()
    extra = [*profile.overrides(), *overrides]
    cases = board_cases(profile)
    per_task = {case.task: board.settings(case.task, profile) for case in cases}
    fixed = claims.case_jobs(cases, per_task, extra, only) if profile.claims else []
    own_lr = any(item.startswith("model.lr=") for item in overrides)  # the user's: not tuned
    lrs = () if own_lr else profile.lrs
    ordered = [m for m in board.PRIORITY if m in models] or models
    chosen = [([] if only else [f"model={model}"]) for model in ordered]
    ladders = [Ladder(model, [*first, *extra], problem, profile.seeds, lrs)
               for model, first in zip(ordered, chosen, strict=True)
               for problem in board.problems(profile)]  # fmt: skip
    return fixed, ladders


def check_overrides(profile: Profile, overrides: list[str]) -> None:
    """Compose the config of every claim's run and of each ladder's first run with ``overrides``
    and make its data and model (``train``'s own checks, :func:`prepare`), before anything is
    made: one that does not compose (an unknown model or key, a key of another model) or that
    ``train`` would refuse (``data.batch_size=0``) raises ``ValueError`` here instead of filling
    the board with error rows; a model that cannot serve a framing is the board's n/a."""
    if not overrides:
        return  # the board's own compose (tests/test_benchmark_options.py, slow)
    fixed, ladders = board_plan(profile, overrides)
    given = " ".join(overrides)
    if not user_model(overrides):
        given += " (they reach every model: give model=NAME to run one alone)"
    for job in [*fixed, *(ladder.next_jobs()[0] for ladder in ladders)]:
        where = ", ".join(f"{key}={job.label[key]}" for key in ("model", "task", "case")
                          if key in job.label)  # fmt: skip
        try:
            cfg = compose_config([*job.overrides, f"seed={job.seed}"])
        except (HydraException, OmegaConfBaseException) as error:
            raise ValueError(f"overrides {given}: {where}: {compose_message(error)}") from None
        try:
            with quiet():
                prepare(cfg)
        except (TypeError, ValueError) as error:
            if REFUSED not in str(error):
                raise ValueError(f"overrides {given}: {where}: {error}") from None


def run(profile: Profile, overrides: list[str], workers: int = 2, progress: Any = None, *,
        engine: str = "local", address: str | None = None, known: dict | None = None,
        on_row: Callable[[dict], None] | None = None, job_fn: Any = None,
        runs_dir: Path | None = None) -> dict:  # fmt: skip
    """The whole leaderboard: the plan's runs (``known`` rows are not run again; a run killed
    mid-way in ``runs_dir`` resumes there), then everything the report needs."""
    only = user_model(overrides)
    models = (only,) if only else board.models()
    problems = board.problems(profile)
    fixed, ladders = board_plan(profile, overrides)
    plan = LeaderboardPlan(fixed, ladders)
    started = time.perf_counter()
    run_plan(plan, profile.run_seconds, 1, workers, progress, profile.time_limit, engine=engine,
             address=address, known=known, on_row=on_row, job_fn=job_fn,
             runs_dir=runs_dir)  # fmt: skip
    wall = time.perf_counter() - started
    names = {row["model"]: row["summary"]["model"] for _, row in plan.rows
             if only == "custom" and row.get("summary")}  # fmt: skip
    rename = (lambda name: names.get(name, name)) if names else (lambda name: name)
    order = {problem.key: index for index, problem in enumerate(problems)}
    rank = {rename(model): index for index, model in enumerate(models)}
    ladder_rows = [row for ladder in ladders for row in ladder.all_rows()]
    tuning = [{**row, "model": rename(row["model"])} for ladder in ladders
              for lr, row in ladder.tuning.items() if lr != ladder.lr]  # fmt: skip
    own_cases = [row for job, row in plan.rows if "case" in job.label]
    for row in (*own_cases, *ladder_rows):
        row["model"] = rename(row["model"])
    lengths = claims.lengths([*own_cases, *ladder_rows])
    judged = profile.claims and not only  # the specification's claims are about our models
    cases = board_cases(profile)
    case_rows = own_cases + (claims.ladder_cases(cases, ladder_rows) if judged else [])
    case_rows.sort(key=lambda row: [case.key for case in cases].index(row["case"]))
    chosen = [claim for claim in claims.CLAIMS if claim.case in {case.key for case in cases}]
    frontiers = [{**summaries.frontier(ladder), "model": rename(ladder.model)}
                 for ladder in ladders]  # fmt: skip
    curves = [{"model": rename(ladder.model), "problem": ladder.problem.key,
               "points": summaries.curve(ladder)} for ladder in ladders]  # fmt: skip
    statuses = [entry["status"] for entry in frontiers]
    unique = {row["job_id"]: row for _, row in plan.rows}  # a job handed out twice ran once
    return {
        "wall_seconds": round(wall, 1),
        # every run's own seconds, over every invocation that added rows (--resume): the board's
        # cost, where wall_seconds is this invocation's alone
        "run_seconds": round(sum(row.get("seconds") or 0 for row in unique.values())),
        "run_count": len(unique),
        # of them, jobs refused before training (a model that cannot serve the framing: n/a)
        "refused_count": sum(REFUSED in (row.get("error") or "") for row in unique.values()),
        "new_runs": sum(key not in (known or {}) for key in unique),  # run by this invocation
        "ladders": {"all": len(statuses), "decided": len(statuses) - statuses.count("time limit")},
        "models": [rename(model) for model in models],
        "problems": [asdict(problem) for problem in problems],
        "goals": board.GOALS,
        "claims": claims.judge(chosen, case_rows) if judged else [],
        "lengths": sorted(lengths, key=lambda e: (order.get(e["problem"], -1), rank[e["model"]])),
        "frontier": frontiers,
        "ranking": summaries.ranking(frontiers, [asdict(problem) for problem in problems]),
        "curves": curves,
        "cases": case_rows,
        "tuning": tuning,
        "runs": sorted(
            ladder_rows,
            key=lambda row: (order[row["problem"]], row["value"], rank[row["model"]], row["seed"]),
        ),
    }


def main(argv: Sequence[str] | None = None, job_fn: Any = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="seqtasks-leaderboard",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--quick", action="store_true", help="a first look: < 5 min")
    chosen.add_argument("--full", action="store_true", help="20,000 steps a run, for a GPU")
    folder = "output folder (default: a new ./leaderboard-<date>-<time>)"
    parser.add_argument("--out", type=Path, default=None, help=folder)
    parser.add_argument("--resume", type=Path, nargs="*", default=None, metavar="ROWS",
                        help="continue the board in --out; rows files (or board folders) "
                        "given here are merged in (other machines' runs)")  # fmt: skip
    engines.add_arguments(parser)
    keys = list(board.PROBLEMS)
    parser.add_argument("--problems", default="", metavar="KEY,KEY",
                        help=f"only these (comma-separated), of {keys}")  # fmt: skip
    parser.add_argument("--max-steps", type=int, help="replace the profile's budget (tests)")
    parser.add_argument("--time-limit", type=float, help="seconds; no run starts after it")
    parser.add_argument("overrides", nargs="*", help="train.py overrides for every run")
    args = parser.parse_args(argv)
    engine = engines.from_args(args, parser)
    if args.max_steps is not None and args.max_steps < 1:
        parser.error(f"--max-steps={args.max_steps}: must be >= 1")
    if args.time_limit is not None and not args.time_limit >= 0:  # 0: no new run, tables only
        parser.error(f"--time-limit={args.time_limit}: must be >= 0 (seconds)")
    profile = QUICK if args.quick else FULL if args.full else BOARD
    if args.max_steps is not None:
        profile = replace(profile, max_steps=args.max_steps)
    if args.time_limit is not None:
        profile = replace(profile, time_limit=args.time_limit)
    only = [key for key in args.problems.split(",") if key]
    unknown = sorted(set(only) - set(keys))
    if unknown or (args.problems and not only):
        named = f"unknown {unknown}" if unknown else "no problem named"
        parser.error(f"--problems {args.problems}: {named}; allowed: {keys}")
    if only:
        profile = replace(profile, only=tuple(only))
    if args.resume is not None and args.out is None and not args.resume:
        parser.error("--resume: which board? give --out DIR (the board to continue)")
    out = args.out or Path(f"leaderboard-{time.strftime('%Y%m%d-%H%M%S')}")
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out}: is a file; give a folder (a new one, or a board's)")
    rows_path = out / store.ROWS
    if args.resume is None and rows_path.is_file():
        parser.error(f"--out {out} already holds a board ({rows_path}): add --resume to "
                     "continue it, or give another --out")  # fmt: skip
    if args.resume == [] and not (rows_path.is_file() or (out / run_dirs.IN_PROGRESS).is_dir()):
        parser.error(f"--resume: --out {out} holds no board to continue (no {store.ROWS}, no "
                     f"{run_dirs.IN_PROGRESS}/): drop --resume to start one there")  # fmt: skip
    try:
        check_overrides(profile, list(args.overrides))
    except ValueError as error:
        parser.error(str(error))
    try:
        # the board's own rows first: a job's first row is kept, in rows.jsonl and in the tables
        known = store.load([*([out] if rows_path.is_file() else []), *(args.resume or [])])
        check_rows(known)  # before any row is merged or any run starts
    except (FileNotFoundError, StaleRows) as error:
        parser.error(str(error))
    saved = store.Store(out)  # the folder is made only now, every check passed
    saved.merge(known)
    given = sys.argv[1:] if argv is None else list(argv)
    runs_dir = out.resolve() / run_dirs.IN_PROGRESS  # absolute: Dask workers elsewhere
    run_dirs.prune(runs_dir, set(known))
    results = run(profile, list(args.overrides), known=known, on_row=saved.add, job_fn=job_fn,
                  runs_dir=runs_dir, **engine)  # fmt: skip
    results.update(
        command=" ".join(["seqtasks-leaderboard", *given]),
        budget=report.budget(profile, results["problems"], args.workers),
        machine={**machine(), "threads": 1, "workers": args.workers, "engine": args.engine},
        overrides=list(args.overrides),
        resumed=len(known),
    )
    report.write(out, results)
    plots.leaderboard(results, out / "leaderboard.png")
    print(f"wrote {out}/leaderboard.json, leaderboard.md, leaderboard.png in "
          f"{results['wall_seconds'] / 60:.1f} min", file=sys.stderr)  # fmt: skip
    return results


def cli() -> int:
    """The ``seqtasks-leaderboard`` command."""
    main()
    return 0


if __name__ == "__main__":
    main()
