"""A selective state-space model: Mamba blocks (Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling
with Selective State Spaces", arXiv:2312.00752, Section 3 and Algorithm 2), in plain PyTorch.

Each of ``num_layers`` residual blocks computes ``x + out_proj(y * silu(z))`` from
``RMSNorm(x)``: a projection to ``2 E`` features (``E = expand * d_model``) split into ``u`` and
the gate ``z``; a causal depthwise convolution of ``u`` (kernel ``d_conv``) and SiLU; then the
selective scan, where the step size, B and C depend on the input (the selection mechanism)::

    delta_t = softplus(W_dt (W_r u_t) + b_dt)       (B, T, E)  input-dependent step size
    B_t, C_t = W_B u_t, W_C u_t                     (B, T, N)  input-dependent
    h_t = exp(delta_t A) * h_{t-1} + delta_t B_t u_t   (B, E, N)  A = -exp(A_log) diagonal (E, N)
    y_t = C_t . h_t + D * u_t                       (B, T, E)

``A`` starts at ``-(1, 2, ..., N)`` for every channel (S4D-real), ``delta`` at ``softplus(b_dt)``
drawn log-uniformly in ``[dt_min, dt_max]``, ``D`` at 1. ``W_r`` maps to ``dt_rank`` features
(``None``: ``ceil(d_model / 16)``, the paper's).

The scan is sequential over time, in plain PyTorch (no CUDA kernel; ``models/mamba_scan.py``):
on the CPU one fused loop with a hand-written backward, elsewhere the definition over whole
``(B, T, E, N)`` tensors. A doubling (Hillis-Steele) parallel scan was slower still on this
machine's CPU, measured once and not kept as a benchmark (17-32 s against 2.2-2.7 s for the
materialized loop as it then was, 2 shared cores, 1 thread, B=32, T=256, E=128, N=16, forward
and backward; ``results/scan.md`` has today's materialized loop at 0.50 s): its log2(T)
passes over the whole ``(B, T, E, N)`` tensor cost more than T small steps. No package is
used: ``mamba-ssm`` needs CUDA.

Example: ``task=echo`` (onehot, 10 symbols, length 6), ``d_model=64``, ``expand=2``, ``d_state=16``:
inputs ``(B, 6, 10)`` -> embed ``(B, 6, 64)`` -> in_proj ``(B, 6, 256)`` = u, z ``(B, 6, 128)``
each -> scan states ``(B, 6, 128, 16)`` -> y ``(B, 6, 128)`` -> out_proj ``(B, 6, 64)`` -> head
on the last step ``(B, 10)``. State size per sequence: per layer ``E * N`` (the scan)
``+ E * (d_conv - 1)`` (the convolution's last inputs): ``2 * (128 * 16 + 128 * 3) = 4,864``
floats for 2 layers.
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
from seqtasks.models.mamba_scan import selective_scan
from seqtasks.models.stack import CausalStack


class RMSNorm(nn.RMSNorm):
    """``nn.RMSNorm`` in its weight's precision: under autocast the residual stream may come in
    as bfloat16, which the fused kernel refuses beside a float32 weight (a warning, then a slower
    path); the paper's code keeps its norms in float32 too."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.to(self.weight.dtype))  # (..., D)


class MambaBlock(nn.Module):
    """One residual Mamba block (pre-RMSNorm); see the module docstring."""

    no_weight_decay = ("A_log",)  # the poles: weight decay leaves them (models/optim.py)

    def __init__(self, d_model: int, d_state: int, d_conv: int, expand: int, dt_rank: int,
                 dt_min: float, dt_max: float) -> None:  # fmt: skip
        super().__init__()
        inner = expand * d_model
        self.d_state, self.dt_rank = d_state, dt_rank
        self.norm = RMSNorm(d_model)
        self.in_proj = nn.Linear(d_model, 2 * inner, bias=False)
        self.conv = nn.Conv1d(inner, inner, d_conv, groups=inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(inner, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, inner)
        nn.init.uniform_(self.dt_proj.weight, -(dt_rank**-0.5), dt_rank**-0.5)
        dt = torch.exp(torch.empty(inner).uniform_(math.log(dt_min), math.log(dt_max)))  # (E,)
        with torch.no_grad():  # softplus(bias) = dt: bias = dt + log(1 - exp(-dt))
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1.0)).repeat(inner, 1))
        self.D = nn.Parameter(torch.ones(inner))
        self.out_proj = nn.Linear(inner, d_model, bias=False)

    @property
    def state_size(self) -> int:
        inner = self.D.numel()
        return inner * self.d_state + inner * (self.conv.kernel_size[0] - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[1]
        u, z = self.in_proj(self.norm(x)).chunk(2, dim=-1)  # (B, T, E) each
        u = self.conv(u.transpose(1, 2))[..., :length]  # (B, E, T): causal, right pad cut
        u = F.silu(u.transpose(1, 2))  # (B, T, E)
        dt_in, B, C = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], -1)
        delta = F.softplus(self.dt_proj(dt_in))  # (B, T, E)
        A = -torch.exp(self.A_log)  # (E, N)
        y = selective_scan(u, delta, A, B, C) + self.D * u  # (B, T, E)
        return x + self.out_proj(y * F.silu(z))  # (B, T, D)


class Mamba(CausalStack):
    """A stack of Mamba blocks for ``one_to_one`` and ``many_to_one``; see the module docstring."""

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        d_model: int = 64,
        num_layers: int = 2,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | None = None,
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        check_sizes(d_model=d_model, num_layers=num_layers, d_state=d_state, d_conv=d_conv,
                    expand=expand)  # fmt: skip
        if dt_rank is not None:
            check_sizes(dt_rank=dt_rank)
        check_float("dt_min", dt_min, 0.0, math.inf)
        check_float("dt_max", dt_max, dt_min, math.inf)  # also refuses dt_max <= dt_min
        self.save_hyperparameters()
        rank = dt_rank or math.ceil(d_model / 16)
        self.build_input(d_model)
        self.blocks = nn.ModuleList(
            MambaBlock(d_model, d_state, d_conv, expand, rank, dt_min, dt_max)
            for _ in range(num_layers)
        )
        self.norm = RMSNorm(d_model)
        self.build_head(d_model)

    @property
    def state_size(self) -> int:
        return sum(block.state_size for block in self.blocks)

    def backbone(self, features: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            features = block(features)  # (B, T, D)
        return self.norm(features)  # (B, T, D)
