"""The linear recurrent unit (Orvieto, Smith, Gu, Fernando, Gulcehre, Pascanu & De 2023,
"Resurrecting Recurrent Neural Networks for Long Sequences", arXiv:2303.06349), deep LRU blocks.

One LRU is a diagonal complex linear recurrence of ``d_state`` units over ``d_model`` features::

    lambda = exp(-exp(nu_log) + i exp(theta_log))      (N,)  exponential parametrisation
    h_t = lambda * h_{t-1} + gamma * (B x_t)            (B, N) complex, h_0 = 0
    y_t = Re(C h_t) + D * x_t                           (B, H)

with ``gamma = sqrt(1 - |lambda|^2)`` (the normalisation, trained from there as ``gamma_log``).
Ring initialisation: ``|lambda|`` uniform on the ring ``r_min <= |lambda| <= r_max`` (drawn as the
paper does, uniform in area) and phase uniform in ``[0, max_phase]``; B and C complex Gaussian
(variance 1/(2H) and 1/N per real part), D standard normal. Each of ``num_layers`` residual blocks
is ``x + GLU-MLP(GELU(LRU(LayerNorm(x))))`` (the paper's block; LayerNorm instead of BatchNorm,
which would mix statistics over time steps and break causality), with dropout after the MLP.

The scan: lambda does not depend on the input, so within a chunk of ``CHUNK`` steps the states are
one product with the lower-triangular matrix ``lambda^(t - s)`` (exact zeros above the diagonal:
no leak from the future), and the chunks are chained sequentially. No package is used.

Example: ``task=echo`` (onehot, 10 symbols, length 6), ``d_model=64``, ``d_state=128``: inputs
``(B, 6, 10)`` -> embed ``(B, 6, 64)`` -> B x ``(B, 6, 128)`` complex -> states ``(B, 6, 128)``
complex -> y ``(B, 6, 64)`` -> MLP ``(B, 6, 64)`` -> head ``(B, 6, 10)``. State size per sequence:
``2 * d_state`` floats per layer (real and imaginary parts): 512 for 2 layers.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seqtasks import TaskSpec
from seqtasks._validate import check_float
from seqtasks.models.base import check_sizes
from seqtasks.models.stack import CausalStack

CHUNK = 32  # steps per chunk of the scan


def linear_scan(log_lambda: torch.Tensor, drive: torch.Tensor) -> torch.Tensor:
    """States ``h_t = lambda h_{t-1} + drive_t`` (``h_0 = 0``), ``lambda = exp(log_lambda)``.

    ``log_lambda``: ``(N,)`` complex; ``drive``: ``(B, T, N)`` complex. Returns ``(B, T, N)``.
    """
    batch, length, units = drive.shape
    size = min(CHUNK, length)
    chunks = math.ceil(length / size)
    padding = drive.new_zeros(batch, chunks * size - length, units)  # (B, P, N)
    drive = torch.cat([drive, padding], dim=1).reshape(batch, chunks, size, units)  # (B, K, L, N)
    steps = torch.arange(size, device=drive.device)  # (L,)
    lag = steps[:, None] - steps[None, :]  # (L, L): t - s
    powers = torch.exp(lag.clamp(min=0)[..., None] * log_lambda)  # (L, L, N): lambda^(t-s)
    powers = powers * (lag >= 0)[..., None]  # (L, L, N): zero where s > t
    within = torch.einsum(
        "tsn,bksn->bktn", powers, drive
    )  # (B, K, L, N): from h = 0 at chunk start
    carry_in = torch.exp((steps[:, None] + 1) * log_lambda)  # (L, N): lambda^(t+1)
    state = drive.new_zeros(batch, 1, units)  # (B, 1, N): the state before the chunk
    states = []
    for chunk_within in within.unbind(1):  # unbound once: cheap backward
        chunk = chunk_within + carry_in * state  # (B, L, N)
        states.append(chunk)
        state = chunk[:, -1:]  # (B, 1, N)
    return torch.cat(states, dim=1)[:, :length]  # (B, T, N)


class LRULayer(nn.Module):
    """One linear recurrent unit, ``(B, T, H) -> (B, T, H)``; see the module docstring."""

    def __init__(self, d_model: int, d_state: int, r_min: float, r_max: float,
                 max_phase: float) -> None:  # fmt: skip
        super().__init__()
        radius_draw = torch.rand(d_state)  # (N,): |lambda|^2 uniform in [r_min^2, r_max^2]
        nu = -0.5 * torch.log(radius_draw * (r_max**2 - r_min**2) + r_min**2)  # (N,)
        theta = max_phase * torch.rand(d_state).clamp(min=1e-6)  # (N,): log needs > 0
        self.nu_log = nn.Parameter(torch.log(nu))
        self.theta_log = nn.Parameter(torch.log(theta))
        modulus = torch.exp(-nu)  # (N,)
        self.gamma_log = nn.Parameter(torch.log(torch.sqrt(1 - modulus**2)))
        self.B_re = nn.Parameter(torch.randn(d_state, d_model) / math.sqrt(2 * d_model))
        self.B_im = nn.Parameter(torch.randn(d_state, d_model) / math.sqrt(2 * d_model))
        self.C_re = nn.Parameter(torch.randn(d_model, d_state) / math.sqrt(d_state))
        self.C_im = nn.Parameter(torch.randn(d_model, d_state) / math.sqrt(d_state))
        self.D = nn.Parameter(torch.randn(d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, H)`` -> ``(B, T, H)``. The projections in and out run as real products (x is
        real and only ``Re(C h)`` is read): half the multiplications of complex ones. The scan
        runs in the parameters' precision, under autocast too (its products may be bfloat16)."""
        log_lambda = torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log))  # (N,)
        B = torch.cat([self.B_re, self.B_im]) * torch.exp(self.gamma_log).repeat(2)[:, None]
        drive = (x @ B.T).to(self.nu_log.dtype)  # (B, T, 2N): Re and Im of B x
        states = linear_scan(log_lambda, torch.complex(*drive.chunk(2, dim=-1)))  # (B, T, N)
        C = torch.stack([self.C_re, -self.C_im], dim=-1).flatten(1)  # (H, 2N): Re(C h) weights
        return torch.view_as_real(states).flatten(-2) @ C.T + self.D * x  # (B, T, H)


class LRUBlock(nn.Module):
    """``x + dropout(GLU(Linear(GELU(LRU(LayerNorm(x))))))``."""

    def __init__(self, d_model: int, d_state: int, r_min: float, r_max: float, max_phase: float,
                 dropout: float) -> None:  # fmt: skip
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.lru = LRULayer(d_model, d_state, r_min, r_max, max_phase)
        self.mlp = nn.Linear(d_model, 2 * d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.gelu(self.lru(self.norm(x)))  # (B, T, H)
        y = F.glu(self.mlp(y), dim=-1)  # (B, T, 2H) -> (B, T, H)
        return x + self.dropout(y)  # (B, T, H)


class LRU(CausalStack):
    """A stack of LRU blocks for ``one_to_one`` and ``many_to_one``; see the module docstring."""

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        d_model: int = 64,
        d_state: int = 128,
        num_layers: int = 2,
        r_min: float = 0.9,
        r_max: float = 0.999,
        max_phase: float = 6.283,
        dropout: float = 0.0,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        check_sizes(d_model=d_model, d_state=d_state, num_layers=num_layers)
        check_float("r_min", r_min, -1e-300, 1.0)
        check_float("r_max", r_max, r_min, 1.0)  # r_min < r_max < 1
        check_float("max_phase", max_phase, 0.0, math.inf)
        check_float("dropout", dropout, -1e-300, 1.0)
        self.save_hyperparameters()
        self.build_input(d_model)
        self.blocks = nn.ModuleList(
            LRUBlock(d_model, d_state, r_min, r_max, max_phase, dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.build_head(d_model)

    @property
    def state_size(self) -> int:
        return sum(2 * block.lru.nu_log.numel() for block in self.blocks)

    def backbone(self, features: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            features = block(features)  # (B, T, H)
        return self.norm(features)  # (B, T, H)
