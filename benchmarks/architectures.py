"""Steps and seconds to solve for every recurrent initialisation and architecture.

    python -m seqtasks.benchmarks.architectures [--seeds 3] [--workers 2] [--seconds 900]
        [--out results]

Two tables from one set of runs, each through ``python train.py``'s config (the runner composes it):

- **models**: ``model=lstm`` with ``init=pytorch``, ``forget_bias`` (1.0) and ``chrono``,
  ``model=gru`` (its default init), ``model=rnn`` and ``model=transformer``, on echo at lag 1, 5
  and 19 (length lag + 1) and the adding problem at T=100;
- **init**: the LSTM's three initialisations on those problems and on the defaults of the five
  problems of the specification, which is the table that chose the default initialisation.

Every run uses the ``train.py`` defaults (batch 256, the model's lr: 0.01 for the recurrent models,
0.003 for the Transformer; validation every 100 steps) with a budget of 1,000 steps, except the
adding problem: batch 32, hidden 64, lr 0.003, validation every 100 steps, 3,000 steps (a step on
100-110 time steps costs 8x less at batch 32, and it learns in fewer sequences). A run stops at the
first validation that meets the problem's criterion, or when its step budget is spent; the
wall-clock limit (``--seconds``) is only a safety net, so the outcome does not depend on how loaded
the machine is. Writes ``results/architectures.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from seqtasks.benchmarks import engines
from seqtasks.benchmarks.runner import Job, machine, run_jobs
from seqtasks.benchmarks.tables import (
    command_line,
    grid,
    out_folder,
    require_positive,
    write_results,
)

STEPS = "trainer.max_steps=1000"  # the budget of every run but adding's: 256,000 sequences
HARDER = {
    "echo lag 1": ("task=echo", "task.lag=1", "task.length=2", STEPS),
    "echo lag 5": ("task=echo", "task.lag=5", "task.length=6", STEPS),
    "echo lag 19": ("task=echo", "task.lag=19", "task.length=20", STEPS),
    "adding T=100": ("task=adding", "task.length=100", "data.batch_size=32",
                     "data.train_samples=3200", "model.lr=0.003",
                     "trainer.max_steps=3000"),  # 96,000 sequences
}  # fmt: skip
SMALL = {"adding T=100": ("model.hidden_size=64",)}  # recurrent models (transformer: d_model 64)
DEFAULTS = {f"{name} (default)": (f"task={name}", STEPS) for name in
            ("ramp", "memorize", "echo", "subsequence", "classify")}  # fmt: skip
INITS = ("pytorch", "forget_bias", "chrono")
OTHER_MODELS = {"gru": ("model=gru",), "rnn": ("model=rnn",), "transformer": ("model=transformer",)}
FAMILIES = ["lstm", *OTHER_MODELS]
PROBLEMS = [*HARDER, *DEFAULTS]


def jobs(seeds: int, families: list[str], problems: list[str]) -> list[Job]:
    """LSTM x inits on every problem; the other models on the harder sizes."""
    planned = []
    chosen = {name: overrides for name, overrides in {**HARDER, **DEFAULTS}.items()
              if name in problems}  # fmt: skip
    for seed in range(seeds):
        for init in INITS if "lstm" in families else ():
            for problem, overrides in chosen.items():
                label = {"model": f"lstm init={init}", "problem": problem}
                model = ("model=lstm", f"model.init={init}", *SMALL.get(problem, ()))
                planned.append(Job(label, (*overrides, *model), seed))
        for model, model_overrides in OTHER_MODELS.items():
            if model not in families:
                continue
            for problem, overrides in HARDER.items():
                if problem not in chosen:
                    continue
                label = {"model": model, "problem": problem}
                small = SMALL.get(problem, ()) if model != "transformer" else ()
                planned.append(Job(label, (*model_overrides, *overrides, *small), seed))
    return planned


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.architectures")
    parser.add_argument("--seeds", type=int, default=3)
    engines.add_arguments(parser)  # --engine, --address, --workers
    parser.add_argument("--seconds", type=float, default=900, help="safety time limit of a run")
    parser.add_argument("--out", type=out_folder, default=Path("results"))
    parser.add_argument(
        "--models", nargs="+", default=FAMILIES, choices=FAMILIES,
        help="run only these; the other models' rows are kept from --out/architectures.json",
    )  # fmt: skip
    parser.add_argument(
        "--problems", nargs="+", default=PROBLEMS, choices=PROBLEMS, metavar="PROBLEM",
        help=f"run only these, of {PROBLEMS}; other rows are kept from --out/architectures.json",
    )  # fmt: skip
    parser.add_argument("--steps", type=int, default=None, help="trainer.max_steps of every run")
    parser.add_argument("--resume", action="store_true", help="skip the runs already in "
                        "--out/architectures.partial.jsonl (written as runs end)")  # fmt: skip
    args = parser.parse_args(argv)
    command = command_line("seqtasks.benchmarks.architectures", argv)
    require_positive(parser, args, "seeds", "seconds", "steps")
    # bad engine options end here, before any file is touched
    engine = engines.from_args(args, parser)
    planned = jobs(args.seeds, args.models, args.problems)
    if not planned:  # the other models run the harder problems only
        parser.error(f"--models {' '.join(args.models)} --problems {args.problems}: no run: "
                     f"only lstm runs the default sizes {list(DEFAULTS)}")  # fmt: skip
    if args.steps is not None:
        planned = [replace(job, overrides=(*job.overrides, f"trainer.max_steps={args.steps}"))
                   for job in planned]  # fmt: skip
    partial = args.out / "architectures.partial.jsonl"  # each row as it ends, for --resume
    finished = []
    if args.resume and partial.is_file():
        finished = [json.loads(line) for line in partial.read_text().splitlines()]
        ran = {(row["model"], row["problem"], row["seed"]) for row in finished}
        planned = [job for job in planned
                   if (job.label["model"], job.label["problem"], job.seed) not in ran]  # fmt: skip
    else:
        partial.unlink(missing_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)

    def save(row: dict) -> None:
        with partial.open("a") as file:
            file.write(json.dumps({k: v for k, v in row.items() if k != "summary"}) + "\n")

    started = time.perf_counter()
    rows = finished + run_jobs(planned, seconds=args.seconds, on_row=save, **engine)
    wall = time.perf_counter() - started
    previous = args.out / "architectures.json"
    if previous.is_file():  # keep the rows of what was not rerun
        rerun = {(row["model"], row["problem"]) for row in rows}
        kept = json.loads(previous.read_text())["runs"]
        rows = [row for row in kept if (row["model"], row["problem"]) not in rerun] + rows
    order = [*(f"lstm init={init}" for init in INITS), *OTHER_MODELS]
    rows.sort(key=lambda row: (order.index(row["model"]), PROBLEMS.index(row["problem"])))
    models_table = grid(
        [row for row in rows if row["problem"] in HARDER],
        lambda row: row["model"], lambda row: row["problem"], "model",
    )  # fmt: skip
    init_table = grid(
        [row for row in rows if row["model"].startswith("lstm")],
        lambda row: row["problem"], lambda row: row["model"], "problem",
    )  # fmt: skip
    header = (
        f"`{command}`: {len(rows)} runs, {wall / 60:.0f} min for those run by "
        "this call, on "
        f"{machine()['cpu_count']} shared CPU cores, {args.workers} runs at once, 1 torch thread "
        "each. A cell: seeds solved, then the median steps and wall seconds of the solved seeds "
        "(steps are machine-independent; seconds include validation and the final test)."
    )
    text = (f"# Architectures and initialisations\n\n{header}\n\n## Models\n\n{models_table}\n\n"
            f"## LSTM initialisations\n\n{init_table}\n")  # fmt: skip
    write_results(args.out, "architectures", text, {"machine": machine(), "seeds": args.seeds,
                  "seconds": args.seconds, "wall_seconds": round(wall), "runs": rows})  # fmt: skip


if __name__ == "__main__":
    main()
