"""What :func:`seqtasks.benchmarks.engines.keep_freed_memory` buys the local engine's workers:
each family's training steps/s in a process with glibc's default malloc and in one that keeps
freed memory, side by side.

    python -m seqtasks.benchmarks.keep_memory [--length 256] [--batch 32] [--rounds 5]
        [--steps 2] [--families mamba,xlstm,...] [--out results]

Two spawned processes of one torch thread each, one started as the local engine starts its
workers (:func:`keep_freed_memory`) and one as Python starts any process, build the same
models (each family's config defaults, as ``families`` builds them, for ``task=subsequence
task.framing=one_to_one``). They are asked in turn, never at once, for ``--steps`` timed
training steps of a family, after one untimed step, ``--rounds`` times; a cell is the median.
Each also reports the fewest page faults of 8 rounds of taking and freeing a 64 MiB
block (:func:`refaults`): what the setting removes. Writes ``results/keep_memory.{json,md}``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import statistics
import time
from itertools import repeat
from pathlib import Path
from typing import Any

import torch

import seqtasks
from seqtasks.benchmarks.device_timing import optimizer_of, training_step
from seqtasks.benchmarks.engines import keep_freed_memory, keep_memory_available
from seqtasks.benchmarks.runner import compose_config, machine
from seqtasks.benchmarks.tables import (
    measure_and_write,
    out_folder,
    require_models,
    require_positive,
)
from seqtasks.training.run import build_model

_steps: dict[tuple[str, int, int], Any] = {}  # a worker's training steps, built once


def refaults(megabytes: int = 64, times: int = 8) -> int:
    """The fewest minor page faults of ``times`` rounds of taking, writing and freeing a block of
    ``megabytes`` MiB (a training step's pattern once it has settled): about one per 4 KiB page
    every round when freed memory goes back to the system, none once it is kept."""
    import resource  # Unix only: imported where it is used

    faults = []
    for _ in range(times):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = torch.ones(megabytes * 2**18)  # 4-byte floats
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        del block
    return min(faults)


def steps_per_second(family: str, length: int, batch: int, steps: int) -> float:
    """``steps`` timed training steps of ``family`` in this worker (built on first use)."""
    torch.set_num_threads(1)
    if (family, length, batch) not in _steps:
        torch.manual_seed(0)
        problem = seqtasks.make("subsequence", framing="one_to_one", length=length)
        model = build_model(compose_config([f"model={family}"]).model, problem.spec).train()
        data = problem.generate(0, batch)  # (B, T, 10), (B, T)
        optimizer = optimizer_of(model)
        _steps[family, length, batch] = training_step(model, optimizer, repeat(data), clip=None)
    step = _steps[family, length, batch]
    step()  # untimed: this setting's allocations settle
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - started)


def measure(families: list[str], length: int, batch: int, rounds: int,
            steps: int) -> list[dict[str, Any]]:  # fmt: skip
    """Per family: the median steps/s with each setting, and each process's page faults."""
    context = multiprocessing.get_context("spawn")
    pools = {
        "default": cf.ProcessPoolExecutor(1, mp_context=context),
        "kept": cf.ProcessPoolExecutor(1, mp_context=context, initializer=keep_freed_memory),
    }
    try:
        faults = {name: pool.submit(refaults).result() for name, pool in pools.items()}
        rates: dict[tuple[str, str], list[float]] = {}
        for _ in range(rounds):
            for family in families:
                for name, pool in pools.items():  # in turn: one process runs at a time
                    rate = pool.submit(steps_per_second, family, length, batch, steps).result()
                    rates.setdefault((family, name), []).append(rate)
    finally:
        for pool in pools.values():
            pool.shutdown()
    rows = []
    for family in families:
        default, kept = (statistics.median(rates[family, name]) for name in pools)
        rows.append({"family": family, "default": default, "kept": kept, "speedup": kept / default,
                     "rates": {name: [round(r, 3) for r in rates[family, name]] for name in pools},
                     "refaults": faults})  # fmt: skip
    return rows


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace, wall: float) -> str:
    m, faults = machine(), rows[0]["refaults"]
    lines = [
        "| Family (`model=`) | Default malloc (steps/s) | Freed memory kept (steps/s) | Ratio |",
        "|---|---|---|---|",
        *(f"| `{r['family']}` | {r['default']:.2f} | {r['kept']:.2f} | {r['speedup']:.2f} |"
          for r in rows),
    ]  # fmt: skip
    return (
        f"`python -m seqtasks.benchmarks.keep_memory --length {args.length} --batch {args.batch} "
        f"--rounds {args.rounds} --steps {args.steps} --families {','.join(args.families)}`: "
        f"`task=subsequence task.framing=one_to_one task.length={args.length}`, batch "
        f"{args.batch}, each family's default config; median of {args.rounds} rounds of "
        f"{args.steps} steps, the two processes in turn; 1 torch thread each on "
        f"{m['cpu_count']} shared CPU cores, torch {m['torch']}; {wall:.0f} s in all. Page "
        f"faults of taking a 64 MiB block (the fewest of 8 rounds): {faults['default']:,} with "
        f"the default, {faults['kept']:,} kept.\n\n" + "\n".join(lines) + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.keep_memory")
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2, help="timed steps per family and round")
    parser.add_argument("--families", type=lambda text: text.split(","),
                        default=["lstm", "mamba", "lru", "linear_attention", "xlstm"])  # fmt: skip
    parser.add_argument("--out", type=out_folder, default=Path("results"))
    args = parser.parse_args(argv)
    require_positive(parser, args, "length", "batch", "rounds", "steps")
    require_models(parser, "--families", args.families)
    if not keep_memory_available():
        parser.error("needs Linux with glibc: elsewhere the setting does not apply")
    measure_and_write(
        args.out, "keep_memory", args, machine(),
        lambda: measure(args.families, args.length, args.batch, args.rounds, args.steps),
        lambda rows, wall: markdown(rows, args, wall),
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
