"""The same bits on any device: what CUDA computes differently from the CPU is kept out of data
generation, checked on the CPU by the operations each problem dispatches.

Seen on an H200 (torch 2.11, CUDA 13): ramp's values differed from the CPU's in the last bit,
because CUDA divides a float tensor by a host scalar as a product with the scalar's rounded
reciprocal. Dividing by a power of two is exact either way.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import seqtasks

DIVISIONS = {torch.ops.aten.div, torch.ops.aten.div_}


def _host_scalar(value: Any) -> float | None:
    """The value of a Python number or a 0-dim CPU tensor (what CUDA takes as a host scalar)."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, torch.Tensor) and value.dim() == 0 and value.device.type == "cpu":
        return float(value)
    return None


class ScalarDivisions(TorchDispatchMode):
    """Records every float division by a host scalar that is not a power of two."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket in DIVISIONS and args[0].is_floating_point() and len(args) > 1:
            divisor = _host_scalar(args[1])
            if divisor is not None and math.frexp(divisor)[0] not in (0.5, -0.5):
                self.found.append(f"{func} by {divisor:g}")
        return func(*args, **(kwargs or {}))


def test_the_check_sees_a_division_by_a_host_scalar() -> None:
    with ScalarDivisions() as check:
        torch.arange(4.0) / 10
        torch.arange(4.0) / 4  # a power of two: exact on every device
        torch.arange(4.0) / torch.full((4,), 10.0)
    assert check.found == ["aten.div.Tensor by 10"]


@pytest.mark.parametrize("name", seqtasks.available())
def test_generation_divides_by_no_host_scalar(name: str) -> None:
    for framing in seqtasks.make(name).framings:
        dataset = seqtasks.make(name, framing=framing, batch_size=16, num_samples=64)
        with ScalarDivisions() as check:
            dataset.generate(0, 16)
        assert check.found == [], f"{name} framing={framing}"


def test_the_bits_command_compares_every_problem(capsys) -> None:
    from seqtasks.benchmarks import device_bits

    assert device_bits.main(["--device", "cpu"]) == 0
    problems = len(seqtasks.available())
    assert f"cpu bits: {problems * 36} batches compared over {problems} problems; 0 differ" in (
        capsys.readouterr().out
    )
