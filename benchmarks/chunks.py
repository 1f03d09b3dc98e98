"""Chunk sizes of the chunked parallel forms, side by side: the table that chose the default.

    python -m seqtasks.benchmarks.chunks [--lengths 64 256 1000] [--sizes 16 32 64]
        [--batch 32] [--rounds 15] [--threads 1] [--out results]

``linear_attention`` and ``xlstm`` (its mLSTM) train in a parallel form computed ``chunk_size``
steps at a time; the size changes no parameter and no output beyond rounding, only the time and
the memory (``chunk_size^2`` a head). For each of the two families and each length, the family's
config (``model=NAME model.chunk_size=S``, everything else the defaults a user gets) is built
once per size from the same seed, for ``task=subsequence task.framing=one_to_one`` at that
length (one-hot inputs, a target at every step), and its training steps (forward, loss,
backward, the model's own optimiser step, as ``benchmarks.families``) are timed with the sizes
in turn, ``--rounds`` rounds after a warm-up round; a cell is the median seconds a step.
Writes ``results/chunks.{json,md}``.
"""

from __future__ import annotations

import argparse
from itertools import repeat
from pathlib import Path
from typing import Any

import torch

import seqtasks
from seqtasks.benchmarks.device_timing import optimizer_of, training_step
from seqtasks.benchmarks.runner import compose_config, machine
from seqtasks.benchmarks.tables import (
    in_turn,
    markdown_table,
    measure_and_write,
    out_folder,
    require_positive,
)
from seqtasks.training.run import build_model

FAMILIES = ("linear_attention", "xlstm")  # the families with a chunk_size


def measure(family: str, length: int, sizes: list[int], batch: int,
            rounds: int) -> dict[str, Any]:  # fmt: skip
    """Median seconds a training step of ``family`` at ``length``, per chunk size."""
    problem = seqtasks.make("subsequence", framing="one_to_one", length=length)
    data = problem.generate(0, batch)  # (B, T, 10), (B, T): the same batch every step
    steps = {}
    for size in sizes:
        torch.manual_seed(0)  # the same weights for every size
        model = build_model(compose_config([f"model={family}", f"model.chunk_size={size}"]).model,
                            problem.spec)  # fmt: skip
        model.train()
        steps[size] = training_step(model, optimizer_of(model), repeat(data), clip=None)
    median = in_turn(steps, rounds)
    return {"family": family, "length": length,
            "seconds": {str(size): median[size] for size in sizes},
            "fastest": min(sizes, key=median.__getitem__)}  # fmt: skip


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace, wall: float) -> str:
    sizes = [str(size) for size in args.sizes]
    header = ["Family", "length", *(f"chunk {size} (s a step)" for size in sizes), "fastest"]
    cells = [[f"`{row['family']}`", f"{row['length']:,}",
              *(f"{row['seconds'][size]:.4f}" for size in sizes), str(row["fastest"])]
             for row in rows]  # fmt: skip
    m = machine()
    return (
        f"`python -m seqtasks.benchmarks.chunks --lengths {' '.join(map(str, args.lengths))} "
        f"--sizes {' '.join(sizes)} --batch {args.batch} --rounds {args.rounds} --threads "
        f"{args.threads}`: training steps of each family's default config with "
        f"`model.chunk_size` set, `task=subsequence task.framing=one_to_one`, batch "
        f"{args.batch}; median of {args.rounds} rounds, the sizes in turn; {args.threads} torch "
        f"thread(s) on {m['cpu_count']} shared CPU cores, torch {m['torch']}; {wall:.0f} s in "
        f"all.\n\n{markdown_table(header, cells)}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.chunks")
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 256, 1000])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=out_folder, default=Path("results"))
    args = parser.parse_args(argv)
    require_positive(parser, args, "lengths", "sizes", "batch", "rounds", "threads")
    torch.set_num_threads(args.threads)
    measure_and_write(
        args.out, "chunks", args, machine(),
        lambda: [measure(family, length, args.sizes, args.batch, args.rounds)
                 for family in FAMILIES for length in args.lengths],
        lambda rows, wall: markdown(rows, args, wall),
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
