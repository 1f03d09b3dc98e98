"""The sLSTM's CPU loop with a hand-written backward against the same loop under autograd."""

from __future__ import annotations

import pytest
import torch

from seqtasks.models.slstm_scan import SLSTMScan
from seqtasks.models.xlstm_cells import SLSTMCell


def _inputs(length: int, dtype: torch.dtype, scale: float) -> tuple[SLSTMCell, torch.Tensor]:
    torch.manual_seed(length)
    cell = SLSTMCell(width=12, num_heads=3).to(dtype)
    with torch.no_grad():  # larger weights than at the start: the stabiliser m moves
        cell.recurrent.mul_(scale)
    pre_x = (scale * torch.randn(length, 3, 5, 16, dtype=dtype)).requires_grad_()  # (T, H, B, 4d)
    return cell, pre_x


@pytest.mark.parametrize("length", [1, 2, 9])
@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_the_hand_written_backward_equals_autograd_through_the_loop(length, scale):
    cell, pre_x = _inputs(length, torch.float64, scale)
    weights = torch.randn(length, 3, 5, 4, dtype=torch.float64)  # a loss that weighs every h
    expected = cell.loop(pre_x)  # (T, H, B, d): the recurrence under autograd
    got = SLSTMScan.apply(pre_x, cell.recurrent)
    assert got.shape == expected.shape == (length, 3, 5, 4)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    wanted = torch.autograd.grad((expected * weights).sum(), [pre_x, cell.recurrent])
    found = torch.autograd.grad((got * weights).sum(), [pre_x, cell.recurrent])
    for a, b in zip(found, wanted, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_gradcheck_in_double_precision():
    torch.manual_seed(0)
    pre_x = (2 * torch.randn(3, 2, 2, 8, dtype=torch.float64)).requires_grad_()  # d = 2
    recurrent = torch.randn(2, 2, 8, dtype=torch.float64, requires_grad=True)  # (H, d, 4d)
    assert torch.autograd.gradcheck(SLSTMScan.apply, (pre_x, recurrent), fast_mode=True)


def test_the_cell_takes_the_loop_on_cpu_and_agrees_with_its_steps():
    cell, _ = _inputs(1, torch.float32, 1.0)
    x = torch.randn(2, 6, 12)
    state = cell.initial_state(2, x)
    steps = []
    for x_t in x.unbind(1):
        h, state = cell.step(x_t, state)
        steps.append(h)
    torch.testing.assert_close(cell(x), torch.stack(steps, 1), rtol=1e-5, atol=1e-5)
    with torch.no_grad():  # no graph: the forward alone
        torch.testing.assert_close(cell(x), torch.stack(steps, 1), rtol=1e-5, atol=1e-5)


def test_a_second_derivative_is_refused():
    cell, pre_x = _inputs(3, torch.float64, 1.0)
    out = SLSTMScan.apply(pre_x, cell.recurrent).sum()
    with pytest.raises(RuntimeError, match="no second derivative"):
        torch.autograd.grad(out, pre_x, create_graph=True)
