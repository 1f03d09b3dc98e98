"""Mamba's selective scan two ways, side by side: the CPU's fused loop and the materialized form.

    python -m seqtasks.benchmarks.scan [--lengths 256 1000] [--batch 32] [--rounds 5]
        [--threads 1] [--out results]

Times forward and backward of :func:`~seqtasks.models.mamba_scan.scan_materialized` and of
:func:`~seqtasks.models.mamba_scan.selective_scan` (on the CPU: the fused loop) at the default
Mamba's sizes (``E = 128`` channels, ``N = 16`` states a channel), in turn for ``--rounds``
rounds after one warm-up each, so both meet the same machine load; a cell is the median.
Writes ``results/scan.{json,md}``. Also times, the same way, the two kernels that can make one
step's decay ``exp(delta A)`` ``(B, E, N)`` (``torch.exp``, and ``torch.exp2`` of ``delta A log2
e``, which the fused loop uses) and writes ``results/scan_decay.{json,md}``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from seqtasks.benchmarks.runner import machine
from seqtasks.benchmarks.tables import write_side_by_side
from seqtasks.models.mamba_scan import LOG2_E, scan_materialized, selective_scan

INNER, STATES = 128, 16  # the default Mamba's E = expand x d_model and N = d_state


def seconds(scan: object, inputs: list[torch.Tensor]) -> float:
    """Wall seconds of one forward and backward of ``scan``."""
    started = time.perf_counter()
    scan(*inputs).sum().backward()  # type: ignore[operator]
    return time.perf_counter() - started


def measure(length: int, batch: int, rounds: int) -> dict[str, float]:
    generator = torch.Generator().manual_seed(0)
    u = torch.randn(batch, length, INNER, generator=generator)
    delta = torch.nn.functional.softplus(torch.randn(batch, length, INNER, generator=generator))
    A = -torch.arange(1, STATES + 1.0).repeat(INNER, 1)  # (E, N), as Mamba starts
    B, C = (torch.randn(batch, length, STATES, generator=generator) for _ in range(2))
    inputs = [x.requires_grad_() for x in (u, delta, A, B, C)]
    scans = {"materialized": scan_materialized, "fused": selective_scan}
    times: dict[str, list[float]] = {name: [] for name in scans}
    for round_ in range(rounds + 1):  # round 0 warms up
        for name, scan in scans.items():
            took = seconds(scan, inputs)
            if round_:
                times[name].append(took)
    median = {name: statistics.median(values) for name, values in times.items()}
    return {"length": length, **median, "speed-up": median["materialized"] / median["fused"]}


def measure_decay(batch: int, rounds: int, calls: int = 200) -> dict[str, float]:
    """Microseconds a call of ``exp(delta A)`` on one step's ``(B, E, N)``, both ways."""
    generator = torch.Generator().manual_seed(0)
    delta = torch.nn.functional.softplus(torch.randn(batch, INNER, 1, generator=generator))
    A = -torch.arange(1, STATES + 1.0).repeat(INNER, 1)  # (E, N)
    A_log2 = A * LOG2_E
    decay = torch.empty(batch, INNER, STATES)
    kernels = {"exp": lambda: torch.mul(delta, A, out=decay).exp_(),
               "exp2": lambda: torch.mul(delta, A_log2, out=decay).exp2_()}  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in kernels}
    for round_ in range(rounds + 1):  # round 0 warms up
        for name, kernel in kernels.items():
            started = time.perf_counter()
            for _ in range(calls):
                kernel()
            if round_:
                times[name].append((time.perf_counter() - started) / calls * 1e6)
    median = {name: statistics.median(values) for name, values in times.items()}
    return {"batch": batch, **median, "speed-up": median["exp"] / median["exp2"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.scan")
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 1000])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    for name in ("batch", "rounds", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}={getattr(args, name)}: must be >= 1")
    if min(args.lengths) < 1:
        parser.error(f"--lengths={args.lengths}: every length must be >= 1")
    torch.set_num_threads(args.threads)
    rows = [measure(length, args.batch, args.rounds) for length in args.lengths]
    m = machine()
    cells = [[f"{r['length']:,}", f"{r['materialized']:.3f}", f"{r['fused']:.3f}",
              f"{r['speed-up']:.1f}x"] for r in rows]  # fmt: skip
    header = ["length", "materialized (s)", "fused (s)", "speed-up"]
    command = (f"python -m seqtasks.benchmarks.scan --lengths {' '.join(map(str, args.lengths))} "
               f"--batch {args.batch} --rounds {args.rounds} --threads {args.threads}")  # fmt: skip
    what = f"Mamba's selective scan, forward and backward, B={args.batch}, E={INNER}, N={STATES}"
    write_side_by_side(args.out, "scan", command, what, header, cells, m, args, rows)
    decay = measure_decay(args.batch, args.rounds)
    cells = [[f"({args.batch}, {INNER}, {STATES})", f"{decay['exp']:.1f}", f"{decay['exp2']:.1f}",
              f"{decay['speed-up']:.1f}x"]]  # fmt: skip
    header = ["(B, E, N)", "exp (us a call)", "exp2 (us a call)", "speed-up"]
    what = "one step's decay exp(delta A) of the fused scan, as torch.exp and as torch.exp2"
    write_side_by_side(args.out, "scan_decay", command, what, header, cells, m, args, [decay])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
