"""Mamba's selective scan, ``y_t = C_t . h_t`` with ``h_t = exp(delta_t A) h_{t-1} + delta_t B_t
u_t`` and ``h_0 = 0``, two ways that give the same values (tests/test_tcn_mamba_lru.py):

- :func:`scan_materialized`: the definition as written, over whole ``(B, T, E, N)`` tensors
  (``exp(delta A)`` and ``delta B u`` for every step at once, then a loop of two operations a
  step); few, large operations, what suits a GPU, and the reference the other is tested against.
- :class:`FusedScan`: one loop over time that builds each step's ``(B, E, N)`` decay and drive
  inside it, while they are in cache, and a hand-written backward loop that recomputes the decay
  instead of keeping it. Only the states are kept for the backward pass.

:func:`selective_scan` takes the fused loop on the CPU and the materialized form elsewhere.
Measured side by side on this machine's CPU (``python -m seqtasks.benchmarks.scan``,
``results/scan.md``: 2 shared cores, 1 torch thread, B=32, E=128, N=16, forward and backward,
median of 5): 0.104 s against 0.498 s at T=256, 0.389 s against 2.561 s at T=1,000. Each
step's decay is ``exp2(delta A log2 e)``: on this CPU ``torch.exp2`` took 25.8 us a call where
``torch.exp`` took 82.5 (the same command, ``results/scan_decay.md``). On a GPU the
fused loop would launch about three times as many kernels a step, which is what a GPU's scan
time is made of, so the materialized form is kept there (not measured: no GPU here).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch

LOG2_E = 1.0 / math.log(2.0)  # exp(x) = exp2(x log2 e); faster on CPU (module docstring)


def selective_scan(
    u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor
) -> torch.Tensor:
    """``y_t = C_t . h_t`` with ``h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t``, ``h_0 = 0``.

    ``u``, ``delta``: ``(B, T, E)``; ``A``: ``(E, N)``; ``B``, ``C``: ``(B, T, N)``. Returns
    ``(B, T, E)``, in the dtype the inputs promote to.
    """
    if u.device.type != "cpu":
        return scan_materialized(u, delta, A, B, C)
    dtype = functools.reduce(torch.promote_types, (x.dtype for x in (u, delta, A, B, C)))
    u, delta, A, B, C = (x.to(dtype) for x in (u, delta, A, B, C))
    return FusedScan.apply(delta, delta * u, A, B, C)


def scan_materialized(
    u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor
) -> torch.Tensor:
    """:func:`selective_scan` over whole ``(B, T, E, N)`` tensors (see the module docstring)."""
    decay = torch.exp(delta.unsqueeze(-1) * A)  # (B, T, E, N)
    drive = (delta * u).unsqueeze(-1) * B.unsqueeze(2)  # (B, T, E, N)
    state = u.new_zeros(decay.shape[0], *decay.shape[2:])  # (B, E, N)
    states = []
    # unbind once: indexing decay[:, t] in the loop would make backward write a full-size
    # gradient tensor for every step (T times the memory traffic)
    for decay_t, drive_t in zip(decay.unbind(1), drive.unbind(1), strict=True):
        state = decay_t * state + drive_t  # (B, E, N)
        states.append(state)
    return torch.einsum("bten,btn->bte", torch.stack(states, dim=1), C)  # (B, T, E)


class FusedScan(torch.autograd.Function):
    """The scan from ``delta`` and ``drive = delta * u`` (both ``(B, T, E)``), ``A`` ``(E, N)``,
    ``B`` and ``C`` ``(B, T, N)``, one time step at a time; the backward pass runs the recurrence
    of the state's gradient, ``g_t = C_t dy_t + exp(delta_{t+1} A) g_{t+1}``, from the end."""

    @staticmethod
    def forward(ctx: Any, delta: torch.Tensor, drive: torch.Tensor, A: torch.Tensor,
                B: torch.Tensor, C: torch.Tensor) -> torch.Tensor:  # fmt: skip
        steps = [x.transpose(0, 1).contiguous() for x in (delta, drive, B, C)]  # time first
        delta_t, drive_t, B_t, C_t = steps  # (T, B, E), (T, B, E), (T, B, N), (T, B, N)
        length, batch, inner = delta_t.shape
        keep = any(ctx.needs_input_grad)
        A_log2 = A * LOG2_E  # (E, N): decay = exp2(delta A log2 e) = exp(delta A)
        states = delta_t.new_empty(length if keep else 2, batch, inner, A.shape[1])  # (T, B, E, N)
        ys = delta_t.new_empty(length, batch, inner, 1)  # (T, B, E, 1)
        state = delta_t.new_zeros(batch, inner, A.shape[1])  # (B, E, N)
        for t in range(length):
            decay = torch.mul(delta_t[t].unsqueeze(-1), A_log2).exp2_()  # (B, E, N)
            state = torch.mul(decay, state, out=states[t if keep else t % 2])
            state.addcmul_(drive_t[t].unsqueeze(-1), B_t[t].unsqueeze(1))  # + drive ⊗ B
            torch.matmul(state, C_t[t].unsqueeze(-1), out=ys[t])  # (B, E, 1)
        if keep:
            ctx.save_for_backward(delta_t, drive_t, A, B_t, C_t, states)
        return ys.squeeze(-1).transpose(0, 1)  # (B, T, E)

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if torch.is_grad_enabled():  # create_graph=True: it would come out wrong, so refuse
            raise RuntimeError(
                "the fused selective scan has no second derivative (create_graph=True); "
                "seqtasks.models.mamba_scan.scan_materialized has one"
            )
        delta_t, drive_t, A, B_t, C_t, states = ctx.saved_tensors
        dy_t = dy.transpose(0, 1).contiguous()  # (T, B, E)
        length, batch, inner = delta_t.shape
        A_log2 = A * LOG2_E  # (E, N), as in forward
        grad = delta_t.new_zeros(batch, inner, A.shape[1])  # dL/dh_t, (B, E, N)
        d_A = torch.zeros_like(grad)  # summed over the batch at the end
        d_delta = torch.zeros_like(delta_t)  # (T, B, E): through the decay
        d_drive = delta_t.new_empty(length, batch, inner, 1)
        d_B = delta_t.new_empty(length, batch, 1, A.shape[1])
        d_C = torch.empty_like(d_B)
        through_decay = torch.empty_like(grad)  # dL/d(delta_t A), elementwise
        for t in range(length - 1, -1, -1):
            grad.addcmul_(dy_t[t].unsqueeze(-1), C_t[t].unsqueeze(1))
            torch.matmul(dy_t[t].unsqueeze(1), states[t], out=d_C[t])  # (B, 1, N)
            torch.matmul(grad, B_t[t].unsqueeze(-1), out=d_drive[t])  # (B, E, 1)
            torch.matmul(drive_t[t].unsqueeze(1), grad, out=d_B[t])  # (B, 1, N)
            if t == 0:  # h_0 = 0: the first decay multiplies nothing
                break
            decay = torch.mul(delta_t[t].unsqueeze(-1), A_log2).exp2_()  # (B, E, N)
            torch.mul(grad, states[t - 1], out=through_decay).mul_(decay)
            d_A.addcmul_(through_decay, delta_t[t].unsqueeze(-1))
            torch.sum(through_decay.mul_(A), -1, out=d_delta[t])
            grad.mul_(decay)  # carried to step t - 1
        return (d_delta.transpose(0, 1), d_drive.squeeze(-1).transpose(0, 1), d_A.sum(0),
                d_B.squeeze(2).transpose(0, 1), d_C.squeeze(2).transpose(0, 1))  # fmt: skip
