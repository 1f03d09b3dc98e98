"""Samples per second of the three ways to feed a problem to a model, side by side.

- batch: the dataset makes whole batches (``batch_size=256``), ``DataLoader(batch_size=None)``;
- per-sample: the dataset yields single samples, ``DataLoader(batch_size=256)`` collates them;
- naive: a pure-Python generator in the style of the specification's listings (``random`` calls in
  list comprehensions, a list turned into a tensor per sample), collated the same way.

All run in the main process (``num_workers=0``) at each problem's default options. Usage::

    python -m benchmarks.throughput [--seconds 1.5] [--threads N] [--out results/throughput.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset

import seqtasks

BATCH = 256
EPOCH = 10_000_000  # far more samples than a measurement reads
Sample = tuple[torch.Tensor, torch.Tensor]


# ------------------------------------------------------------------------------ naive generators
def naive_ramp(length: int = 10) -> Sample:
    sequence = [i / float(length) for i in range(length)]
    start = random.randint(0, length - 2)
    return torch.tensor([[sequence[start]]], dtype=torch.float32), torch.tensor(sequence[start + 1])


def naive_memorize(length: int = 5) -> Sample:
    marker = random.randint(length - 2, length - 1)
    sequence = [marker, *range(length - 2), marker]
    x = F.one_hot(torch.tensor(sequence[:-1]), length).to(torch.float32)
    return x, torch.tensor(sequence[1:])


def naive_echo(length: int = 10, vocab: int = 100, position: int = 4) -> Sample:
    sequence = [random.randint(0, vocab - 1) for _ in range(length)]
    x = F.one_hot(torch.tensor(sequence), vocab).to(torch.float32)
    return x, torch.tensor(sequence[position])


def naive_subsequence(length: int = 5, vocab: int = 10) -> Sample:
    sequence = [random.randint(0, vocab - 1) for _ in range(length)]
    return F.one_hot(torch.tensor(sequence), vocab).to(torch.float32), torch.tensor(sequence)


def naive_classify(length: int = 10) -> Sample:
    values = np.array([random.random() for _ in range(length)])
    limit = length / 4.0
    labels = np.array([0 if total < limit else 1 for total in np.cumsum(values)])
    x = torch.tensor(values, dtype=torch.float32).unsqueeze(-1)
    return x, torch.tensor(labels)


NAIVE: dict[str, Callable[[], Sample]] = {
    "ramp": naive_ramp,
    "memorize": naive_memorize,
    "echo": naive_echo,
    "subsequence": naive_subsequence,
    "classify": naive_classify,
}


class NaiveDataset(IterableDataset):
    """Endless samples of a naive generator."""

    def __init__(self, generate: Callable[[], Sample]) -> None:
        super().__init__()
        self.generate = generate

    def __iter__(self) -> Iterator[Sample]:
        while True:
            yield self.generate()


# ------------------------------------------------------------------------------ measurement
def samples_per_second(loader: DataLoader, seconds: float, windows: int = 4) -> float:
    """Best rate over ``windows`` reads of ``seconds / windows`` each, after a warm-up batch.

    The best window rather than the mean: other processes on the machine only ever slow a window
    down (with 2 cores, a busy neighbour can stall every intra-op parallel call for milliseconds).
    """
    batches = iter(loader)
    next(batches)
    best = 0.0
    for _ in range(windows):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / windows:
            _, targets = next(batches)
            count += len(targets)
        best = max(best, count / elapsed)
    return best


def measure(name: str, seconds: float) -> dict[str, float]:
    batched = seqtasks.make(name, batch_size=BATCH, num_samples=EPOCH)
    single = seqtasks.make(name, num_samples=EPOCH)
    # the naive generators reproduce the defaults: check that their shapes agree
    x, y = NAIVE[name]()
    assert x.shape == (single.spec.input_length, single.spec.input_size), (name, x.shape)
    assert y.shape == single.spec.target_shape, (name, y.shape)
    return {
        "batch": samples_per_second(DataLoader(batched, batch_size=None), seconds),
        "single": samples_per_second(DataLoader(single, batch_size=BATCH), seconds),
        "naive": samples_per_second(
            DataLoader(NaiveDataset(NAIVE[name]), batch_size=BATCH), seconds
        ),
    }


def table(results: dict[str, dict[str, float]]) -> str:
    lines = [
        "| problem | batch samples/s | per-sample samples/s | naive samples/s | batch / naive |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rates in results.items():
        lines.append(
            f"| {name} | {rates['batch']:,.0f} | {rates['single']:,.0f} | {rates['naive']:,.0f} "
            f"| {rates['batch'] / rates['naive']:,.0f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch intra-op threads (default: torch's); 1 resists other processes' load best",
    )
    parser.add_argument("--problems", nargs="*", default=list(NAIVE), choices=list(NAIVE))
    parser.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = parser.parse_args(argv)

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    random.seed(0)
    load_before = os.getloadavg()[0]
    results = {name: measure(name, args.seconds) for name in args.problems}
    note = (
        f"batch size {BATCH}, num_workers=0, default options, best of 4 windows in "
        f"{args.seconds:g} s per cell; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()} with {os.cpu_count()} CPUs, load average "
        f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after (other processes slow it)"
    )
    text = f"{table(results)}\n\n{note}\n"
    print(text, end="")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(f"# Data throughput\n\n{text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
