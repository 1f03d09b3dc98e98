"""torch's default AdamW against the models' own (fused) AdamW, side by side: the table that
chose the fused kernel.

    python -m seqtasks.benchmarks.optimizers [--lengths 10 256] [--batch 32] [--rounds 9]
        [--steps 3] [--threads 1] [--out results]

Every model's ``configure_optimizers`` returns torch's fused AdamW where it runs (float
parameters on the CPU or a CUDA device, outside Lightning's mixed precision); before, it returned
``torch.optim.AdamW(parameters, lr, weight_decay)``, whose default on the CPU is a loop over the
parameters. Both do the same arithmetic, to float rounding. Each family of ``models.FAMILIES``
is built from its config (``model=NAME``, the defaults a user gets) for ``task=subsequence
task.framing=one_to_one`` at each of ``--lengths`` (as ``benchmarks.families``), and the window
MLP also for the leaderboard's first associative-recall size (length 256, 4 pairs, vocab 512:
35.9 million parameters, its largest). Two copies of each model, from the same weights, take
training steps (forward, loss, backward, clipping to norm 1 as the leaderboard's runs, the
optimiser step: ``device_timing.training_step``) with the two optimisers in turn, ``--steps``
steps each, for ``--rounds`` rounds after a warm-up round; a cell is the median seconds a step.
The process keeps the memory it frees, as the leaderboard's workers (``engines.keep_freed_memory``).
Writes ``results/optimizers.{json,md}``.
"""

from __future__ import annotations

import argparse
import copy
from itertools import repeat
from pathlib import Path
from typing import Any

import torch

import seqtasks
from seqtasks.benchmarks.device_timing import optimizer_of, training_step
from seqtasks.benchmarks.engines import keep_freed_memory
from seqtasks.benchmarks.families import build_all
from seqtasks.benchmarks.runner import compose_config, machine
from seqtasks.benchmarks.tables import (
    in_turn,
    markdown_table,
    measure_and_write,
    out_folder,
    require_positive,
)
from seqtasks.models.size import num_parameters
from seqtasks.training.run import build_model

# the window MLP's largest leaderboard problem: associative recall's first num_pairs size
WINDOW_CASE = ("associative_recall", {"length": 256, "num_pairs": 4, "vocab": 512})


def measure_case(family: str, problem_name: str, options: dict[str, Any], model: Any,
                 args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    """Median seconds a training step of ``model`` with torch's default AdamW and its own."""
    problem = seqtasks.make(problem_name, **options)
    data = problem.generate(0, args.batch)  # the same batch every step
    before, ours = copy.deepcopy(model).train(), copy.deepcopy(model).train()
    default = torch.optim.AdamW(before.parameters(), lr=before.lr, weight_decay=before.weight_decay)
    own = optimizer_of(ours)
    steps = {
        "default": training_step(before, default, repeat(data), clip=1.0),
        "own": training_step(ours, own, repeat(data), clip=1.0),
    }
    median = in_turn(steps, args.rounds, calls=args.steps)
    return {
        "family": family, "problem": problem_name, "options": options,
        "num_parameters": num_parameters(model), "fused": bool(own.defaults["fused"]),
        "default_seconds": median["default"], "own_seconds": median["own"],
        "speedup": median["default"] / median["own"],
    }  # fmt: skip


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for length in args.lengths:
        options = {"framing": "one_to_one", "length": length}
        for family, model in build_all(length).items():
            rows.append(measure_case(family, "subsequence", options, model, args))
    name, options = WINDOW_CASE
    window = build_model(compose_config(["model=mlp_window"]).model,
                         seqtasks.make(name, **options).spec)  # fmt: skip
    rows.append(measure_case("mlp_window", name, options, window, args))
    return rows


def described(row: dict[str, Any]) -> str:
    """``subsequence (framing one_to_one, length 10)``."""
    return f"{row['problem']} (" + ", ".join(f"{k} {v}" for k, v in row["options"].items()) + ")"


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace, wall: float) -> str:
    header = ["Family (`model=`)", "Problem", "Parameters", "torch's default AdamW (s a step)",
              "own AdamW (s a step)", "fused", "speed-up"]  # fmt: skip
    cells = [[f"`{row['family']}`",
              described(row),
              f"{row['num_parameters']:,}", f"{row['default_seconds']:.4f}",
              f"{row['own_seconds']:.4f}", "yes" if row["fused"] else "no",
              f"{row['speedup']:.2f}x"] for row in rows]  # fmt: skip
    m = machine()
    return (
        f"`python -m seqtasks.benchmarks.optimizers --lengths "
        f"{' '.join(map(str, args.lengths))} --batch {args.batch} --rounds {args.rounds} --steps "
        f"{args.steps} --threads {args.threads}`: training steps (clipped to norm 1) of each "
        f"family's default config with torch's default AdamW and with the model's own "
        f"(`configure_optimizers`), in turn, from the same weights; batch {args.batch}; median "
        f"of {args.rounds} rounds of {args.steps} steps; freed memory kept, as the board's "
        f"workers; {args.threads} torch thread(s) on "
        f"{m['cpu_count']} shared CPU cores, torch {m['torch']}; {wall:.0f} s in all.\n\n"
        f"{markdown_table(header, cells)}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.optimizers")
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 256])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=out_folder, default=Path("results"))
    args = parser.parse_args(argv)
    require_positive(parser, args, "lengths", "batch", "rounds", "steps", "threads")
    torch.set_num_threads(args.threads)
    keep_freed_memory()  # as the leaderboard's workers
    measure_and_write(args.out, "optimizers", args, machine(), lambda: measure(args),
                      lambda rows, wall: markdown(rows, args, wall))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
