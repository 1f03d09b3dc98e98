"""Every family at its default width: parameters, state size and training steps/s, side by side.

    python -m seqtasks.benchmarks.families [--length 256] [--batch 32] [--rounds 9]
        [--steps 3] [--threads 1] [--out results]

Each family of ``models.FAMILIES`` is built from its config (``model=NAME``, the defaults a user
gets) for ``task=subsequence task.framing=one_to_one task.length=LENGTH`` (one-hot inputs,
10 classes, a target at every step: every family serves it). A training step is what Lightning
runs: forward (``forward_train``), the problem's loss, backward and the model's own optimiser
step (``device_timing.training_step``, the device benchmark's). The families are timed in
turn, ``--steps`` steps each, for ``--rounds`` rounds (after one warm-up step each), so every
family meets the same machine load; a cell is the median rate of its rounds. Names that are
only another name for a model already in the table (``lstm_one_to_one``) are skipped.
Writes ``results/families.{json,md}``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import Any

import torch

import seqtasks
from seqtasks import models
from seqtasks.benchmarks.device_timing import optimizer_of, training_step
from seqtasks.benchmarks.runner import compose_config, machine
from seqtasks.benchmarks.tables import measure_and_write, out_folder, require_positive
from seqtasks.models.size import num_parameters, state_size
from seqtasks.training.run import build_model


def build_all(length: int) -> dict[str, models.SequenceModel]:
    """One model per family (each class once) at its config's defaults for the problem."""
    problem = seqtasks.make("subsequence", framing="one_to_one", length=length)
    built: dict[str, models.SequenceModel] = {}
    seen: set[type] = set()
    for name, serves in models.FAMILIES.items():
        model_class = serves.get("one_to_one")
        if model_class is None or model_class in seen:
            continue
        seen.add(model_class)
        cfg = compose_config([f"model={name}"])
        built[name] = build_model(cfg.model, problem.spec)
    return built


def timed_steps(step: Callable[[], int], steps: int) -> float:
    """Training steps per second over ``steps`` calls of ``step``."""
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - started)


def measure(length: int, batch: int, rounds: int, steps: int) -> list[dict[str, Any]]:
    problem = seqtasks.make("subsequence", framing="one_to_one", length=length)
    data = problem.generate(0, batch)  # (B, T, 10), (B, T)
    built = build_all(length)
    train_steps = {}  # the same batch every step, no clipping
    for name, model in built.items():
        model.train()
        train_steps[name] = training_step(model, optimizer_of(model), repeat(data), clip=None)
        timed_steps(train_steps[name], 1)  # warm-up: allocations, first-call costs
    rates: dict[str, list[float]] = {name: [] for name in built}
    for _ in range(rounds):
        for name in built:
            rates[name].append(timed_steps(train_steps[name], steps))
    return [
        {"family": name, "model": model.display_name, "num_parameters": num_parameters(model),
         "state_size": state_size(model), "steps_per_second": statistics.median(rates[name]),
         "rates": [round(rate, 3) for rate in rates[name]]}
        for name, model in built.items()
    ]  # fmt: skip


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace, wall: float) -> str:
    lines = [
        "| Family (`model=`) | Class | Parameters | State size (floats) | Training steps/s |",
        "|---|---|---|---|---|",
        *(f"| `{r['family']}` | {r['model']} | {r['num_parameters']:,} | {r['state_size']:,} | "
          f"{r['steps_per_second']:.2f} |" for r in rows),
    ]  # fmt: skip
    m = machine()
    return (
        f"`python -m seqtasks.benchmarks.families --length {args.length} --batch {args.batch} "
        f"--rounds {args.rounds} --steps {args.steps} --threads {args.threads}`: "
        f"`task=subsequence task.framing=one_to_one task.length={args.length}`, batch "
        f"{args.batch}, each family's default config; median of {args.rounds} rounds of "
        f"{args.steps} steps, families in turn; {args.threads} torch thread(s) on "
        f"{m['cpu_count']} shared CPU cores, torch {m['torch']}; {wall:.0f} s in all.\n\n"
        + "\n".join(lines)
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.families")
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per family and round")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=out_folder, default=Path("results"))
    args = parser.parse_args(argv)
    require_positive(parser, args, "length", "batch", "rounds", "steps", "threads")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    measure_and_write(args.out, "families", args, machine(),
                      lambda: measure(args.length, args.batch, args.rounds, args.steps),
                      lambda rows, wall: markdown(rows, args, wall))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
