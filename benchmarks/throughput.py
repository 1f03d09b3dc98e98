"""Samples per second of the ways to feed a problem to a model, side by side in one run.

- batch B: the dataset makes whole batches (``batch_size=B``), ``DataLoader(batch_size=None)``,
  for B = 1024 and 256;
- per-sample: the dataset yields single samples, ``DataLoader(batch_size=256)`` collates them;
- naive: a per-sample pure-Python reference in the style of the specification's listings
  (``random`` calls in list comprehensions, a list turned into a tensor per sample, the same
  shapes and encoding as the dataset's defaults), collated the same way. For the content-based
  problems (associative_recall, selective_copy, induction_heads, parity) it is the reference in
  the style of the anchors' generators (per-example NumPy calls, :mod:`seqtasks.benchmarks.anchors`)
  and every column uses the ``index`` encoding.

Every problem at its default options, all in the main process (``num_workers=0``). Each cell is
the median rate of ``--repeats`` windows of ``--seconds / --repeats`` each, after a warm-up batch.
Usage::

    python -m seqtasks.benchmarks.throughput [--seconds 2] [--repeats 5] [--threads 1]
        [--out FILE.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset

import seqtasks
from seqtasks.benchmarks.anchors import ANCHORS
from seqtasks.benchmarks.tables import out_file, require_positive

BATCHES = (1024, 256)
COLLATE = 256  # the DataLoader batch size of the per-sample and naive columns
EPOCH = 10**12  # far more samples than a measurement reads
Sample = tuple[torch.Tensor, torch.Tensor]


# ------------------------------------------------------------------------------ naive generators
def onehot(symbols: list[int], vocab: int) -> torch.Tensor:
    return F.one_hot(torch.tensor(symbols), vocab).to(torch.float32)


def naive_ramp(length: int = 10) -> Sample:
    sequence = [i / float(length) for i in range(length)]
    start = random.randint(0, length - 2)
    return torch.tensor([[sequence[start]]], dtype=torch.float32), torch.tensor(sequence[start + 1])


def naive_memorize(length: int = 5) -> Sample:
    marker = random.randint(length - 2, length - 1)
    sequence = [marker, *range(length - 2), marker]
    return onehot(sequence[:-1], length), torch.tensor(sequence[1:])


def naive_echo(length: int = 10, vocab: int = 100, position: int = 4) -> Sample:
    sequence = [random.randint(0, vocab - 1) for _ in range(length)]
    return onehot(sequence, vocab), torch.tensor(sequence[position])


def naive_subsequence(length: int = 5, vocab: int = 10) -> Sample:
    sequence = [random.randint(0, vocab - 1) for _ in range(length)]
    return onehot(sequence, vocab), torch.tensor(sequence)


def naive_classify(length: int = 10) -> Sample:
    values = np.array([random.random() for _ in range(length)])
    limit = length / 4.0
    labels = np.array([0 if total < limit else 1 for total in np.cumsum(values)])
    x = torch.tensor(values, dtype=torch.float32).unsqueeze(-1)
    return x, torch.tensor(labels)


def naive_marked(adding: bool, length: int = 100) -> Sample:
    """The adding (or multiplication) problem: (value, marker) pairs, left-padded."""
    steps = random.randint(length, length + length // 10)
    values = [random.uniform(-1, 1) if adding else random.random() for _ in range(steps)]
    markers = [0.0] * steps
    markers[0] = markers[-1] = -1.0
    first = random.randint(0, 9)
    second = random.choice([i for i in range(length // 2) if i != first])
    if first == 0:
        values[0] = 0.0 if adding else 1.0
    markers[first] = markers[second] = 1.0
    x1, x2 = values[first], values[second]
    target = 0.5 + (x1 + x2) / 4 if adding else x1 * x2
    pad = [(0.0, 0.0)] * (length + length // 10 - steps)
    pairs = pad + list(zip(values, markers, strict=True))
    return torch.tensor(pairs, dtype=torch.float32), torch.tensor(target, dtype=torch.float32)


def naive_temporal_order(length: int = 100) -> Sample:
    steps = random.randint(length, length + length // 10)
    sequence = ["E"] + [random.choice("abcd") for _ in range(steps - 2)] + ["B"]
    which = [random.choice("XY") for _ in range(2)]
    sequence[random.randint(10, 20) - 1], sequence[random.randint(50, 60) - 1] = which
    padded = ["_"] * (length + length // 10 - steps) + sequence
    label = int("".join("0" if symbol == "X" else "1" for symbol in which), 2)
    return onehot(["abcdXYEB_".index(s) for s in padded], 9), torch.tensor(label)


def naive_memorize_long(p: int = 100) -> Sample:
    marker = random.randint(p - 1, p)  # x or y
    sequence = [marker, *range(p - 1), marker]
    return onehot(sequence[:-1], p + 1), torch.tensor(sequence[-1])


def naive_copy_memory(delay: int = 100, symbols: int = 10) -> Sample:
    memory = [random.randint(1, 8) for _ in range(symbols)]
    sequence = memory + [0] * (delay - 1) + [9] * (symbols + 1)  # blanks, then the marker
    return onehot(sequence, 10), torch.tensor([0] * (delay + symbols) + memory)


NAIVE: dict[str, Callable[[], Sample]] = {
    "ramp": naive_ramp,
    "memorize": naive_memorize,
    "echo": naive_echo,
    "subsequence": naive_subsequence,
    "classify": naive_classify,
    "adding": lambda: naive_marked(adding=True),
    "multiply": lambda: naive_marked(adding=False),
    "temporal_order": naive_temporal_order,
    "memorize_long": naive_memorize_long,
    "copy_memory": naive_copy_memory,
    **ANCHORS,
}
OPTIONS = {name: {"encoding": "index"} for name in ANCHORS}  # options other than the defaults


class NaiveDataset(IterableDataset):
    """Endless samples of a naive generator."""

    def __init__(self, generate: Callable[[], Sample]) -> None:
        super().__init__()
        self.generate = generate

    def __iter__(self) -> Iterator[Sample]:
        while True:
            yield self.generate()


# ------------------------------------------------------------------------------ measurement
def samples_per_second(loader: DataLoader, seconds: float, repeats: int) -> float:
    """Median rate over ``repeats`` reads of ``seconds / repeats`` each, after a warm-up batch."""
    batches = iter(loader)
    next(batches)
    rates = []
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / repeats:
            _, targets = next(batches)
            count += len(targets)
        rates.append(count / elapsed)
    return statistics.median(rates)


def measure(name: str, seconds: float, repeats: int) -> dict[str, float]:
    options = OPTIONS.get(name, {})
    single = seqtasks.make(name, num_samples=EPOCH, **options)
    x, y = NAIVE[name]()  # the naive generators reproduce the defaults: check their shapes
    spec = single.spec
    step = () if spec.encoding == "index" else (spec.input_size,)
    assert x.shape == (spec.input_length, *step), (name, x.shape)
    assert y.shape == spec.target_shape, (name, y.shape)
    rates = {}
    for batch in BATCHES:
        dataset = seqtasks.make(name, batch_size=batch, num_samples=EPOCH, **options)
        rates[f"batch {batch}"] = samples_per_second(
            DataLoader(dataset, batch_size=None), seconds, repeats
        )
    loaders = {
        "per-sample": DataLoader(single, batch_size=COLLATE),
        "naive": DataLoader(NaiveDataset(NAIVE[name]), batch_size=COLLATE),
    }
    for label, loader in loaders.items():
        rates[label] = samples_per_second(loader, seconds, repeats)
    return rates


def table(results: dict[str, dict[str, float]]) -> str:
    columns = [f"batch {b}" for b in BATCHES] + ["per-sample", "naive"]
    lines = [
        "| problem | " + " | ".join(f"{c} samples/s" for c in columns)
        + f" | batch {BATCHES[0]} / naive |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]  # fmt: skip
    for name, rates in results.items():
        cells = " | ".join(f"{rates[c]:,.0f}" for c in columns)
        ratio = rates[f"batch {BATCHES[0]}"] / rates["naive"]
        lines.append(f"| {name} | {cells} | {ratio:,.0f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.throughput")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per cell")
    parser.add_argument("--repeats", type=int, default=5, help="windows per cell (median)")
    parser.add_argument(
        "--threads", type=int, help="torch intra-op threads (default: torch's); 1 suits batches"
    )
    problems = [name for name in seqtasks.available() if name in NAIVE]
    parser.add_argument("--problems", nargs="+", default=problems, choices=problems)
    parser.add_argument("--out", type=out_file, help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    require_positive(parser, args, "seconds", "repeats", "threads")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    random.seed(0)
    np.random.seed(0)  # the anchor-style references draw from NumPy's global generator
    load_before = os.getloadavg()[0]
    results = {name: measure(name, args.seconds, args.repeats) for name in args.problems}
    command = (
        "python -m seqtasks.benchmarks.throughput"
        + (f" --threads {args.threads}" if args.threads else "")
        + (f" --problems {' '.join(args.problems)}" if args.problems != problems else "")
    )
    note = (
        f"`{command}`: default options, num_workers=0, per-sample and naive columns collated "
        f"by DataLoader(batch_size={COLLATE}); median of {args.repeats} windows in "
        f"{args.seconds:g} s per cell; torch {torch.__version__}, numpy {np.__version__}, "
        f"{torch.get_num_threads()} torch threads, {platform.processor() or platform.machine()} "
        f"with {os.cpu_count()} CPUs shared with other work, load average {load_before:.1f} "
        f"before and {os.getloadavg()[0]:.1f} after"
    )
    text = f"{table(results)}\n\n{note}\n"
    print(text, end="")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(f"# Data throughput\n\n{text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
