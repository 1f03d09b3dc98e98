"""Are a device's batches the CPU's bits? Every problem, at its default options, for the train,
validation and test splits, two seeds, two epochs, batches of 1, 64 and 1000 at three starts.

    python -m seqtasks.benchmarks.device_bits [--device cuda]

Prints how many batches were compared and which differ (exit status 1 if any). Run on an H200
(torch 2.11, CUDA 13) it found 25 of 504 batches differing, all ramp's, before ramp divided by a
tensor (CUDA divides a float tensor by a host scalar as a product with its rounded reciprocal);
0 after. ``tests/test_device_bits.py`` checks for that cause on the CPU.
"""

from __future__ import annotations

import argparse

import torch

import seqtasks
from seqtasks._validate import check_device

CASES = [("train", 0, 0), ("train", 7, 3), ("val", 0, 0), ("test", 1, 0)]  # split, seed, epoch
COUNTS = (1, 64, 1000)


def _same(on_cpu: torch.Tensor, on_device: torch.Tensor, device: str) -> bool:
    return (on_device.device.type == torch.device(device).type
            and on_cpu.dtype == on_device.dtype and on_cpu.shape == on_device.shape
            and torch.equal(on_cpu, on_device.cpu()))  # fmt: skip


def differing(device: str) -> tuple[int, list[str]]:
    """How many batches were compared on ``device``, and those that are not the CPU's bits."""
    checked, differ = 0, []
    for name in seqtasks.available():
        for split, seed, epoch in CASES:
            for asked in COUNTS:
                cpu = seqtasks.make(name, split=split, seed=seed)
                other = seqtasks.make(name, split=split, seed=seed, device=device)
                cpu.set_epoch(epoch)
                other.set_epoch(epoch)
                count = min(asked, cpu.max_batch, cpu.num_samples)
                for start in (0, (cpu.num_samples - count) // 2, cpu.num_samples - count):
                    a, b = cpu.generate(start, count), other.generate(start, count)
                    checked += 1
                    if not all(_same(x, y, device) for x, y in zip(a, b, strict=True)):
                        differ.append(f"{name} {split} seed={seed} epoch={epoch} {start}+{count}")
    return checked, differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="the device to compare with the CPU")
    args = parser.parse_args(argv)
    try:
        check_device("--device", args.device)
    except ValueError as error:
        parser.error(str(error))
    checked, differ = differing(args.device)
    print(f"{args.device} bits: {checked} batches compared over {len(seqtasks.available())} "
          f"problems; {len(differ)} differ")  # fmt: skip
    print("\n".join(differ))
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
