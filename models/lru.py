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
no leak from the future), and the chunks are chained sequentially. It runs in real arithmetic on
a unit-major layout ``(N, B, T)`` for the real and imaginary parts, which the projections in write
and the projection out reads as plain matrix products: each unit's chunks are then one matrix,
and a chunk's states are two batched products accumulated in place per part (``Re`` and ``Im``
of ``lambda^(t - s)``), with no complex tensor permuted. No package is used.

Example: ``task=echo`` (onehot, 10 symbols, length 6), ``d_model=64``, ``d_state=128``: inputs
``(B, 6, 10)`` -> embed ``(B, 6, 64)`` -> B x ``(B, 6, 128)`` complex -> states ``(B, 6, 128)``
complex -> y ``(B, 6, 64)`` -> MLP ``(B, 6, 64)`` -> head on the last step ``(B, 10)``. State
size per sequence: ``2 * d_state`` floats per layer (real and imaginary parts): 512 for 2
layers.
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

CHUNK = 16  # steps per chunk of the scan


def linear_scan(
    log_modulus: torch.Tensor, phase: torch.Tensor, drive_re: torch.Tensor, drive_im: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """States ``h_t = lambda h_{t-1} + drive_t`` (``h_0 = 0``), ``lambda = exp(log_modulus + i
    phase)``, in real arithmetic.

    ``log_modulus``, ``phase``: ``(N,)``; ``drive_re``, ``drive_im``: ``(N, B, T)``, the real and
    imaginary parts (unit-major, so that each unit's chunks are one matrix). Returns the states'
    real and imaginary parts, ``(N, B, T)`` each.
    """
    units, batch, length = drive_re.shape
    size = min(CHUNK, length)
    chunks = math.ceil(length / size)
    if chunks * size > length:  # pad the time axis to whole chunks
        drive_re, drive_im = (F.pad(d, (0, chunks * size - length)) for d in (drive_re, drive_im))
    re = drive_re.reshape(units, batch * chunks, size)  # (N, B K, L)
    im = drive_im.reshape(units, batch * chunks, size)  # (N, B K, L)
    steps = torch.arange(size, device=re.device, dtype=re.dtype)  # (L,)
    lag = steps[:, None] - steps[None, :]  # (L, L): t - s
    power = lag.clamp(min=0)[None] * log_modulus[:, None, None]  # (N, L, L): log |lambda^(t-s)|
    power = power.exp() * (lag >= 0)  # (N, L, L): |lambda|^(t-s), exact zeros where s > t
    angle = lag[None] * phase[:, None, None]  # (N, L, L)
    p_cos = (power * angle.cos()).transpose(1, 2)  # (N, L_s, L_t): Re lambda^(t-s)
    p_sin = (power * angle.sin()).transpose(1, 2)  # (N, L_s, L_t): Im lambda^(t-s)
    # the states from h = 0 at each chunk's start; the products accumulate in place (baddbmm_),
    # in the first product's precision (bfloat16 under autocast, which leaves in-place ops alone)
    within_re, within_im = re @ p_cos, re @ p_sin  # (N, B K, L) each
    im, p_cos, p_sin = (t.to(within_re.dtype) for t in (im, p_cos, p_sin))
    within_re = within_re.baddbmm_(im, p_sin, alpha=-1.0).view(units, batch, chunks, size)
    within_im = within_im.baddbmm_(im, p_cos).view(units, batch, chunks, size)  # (N, B, K, L)
    # the state before each chunk, chained over the K chunks: s_k = lambda^L s_(k-1) + end_(k-1)
    modulus_l, angle_l = (size * log_modulus).exp()[:, None], size * phase[:, None]  # (N, 1)
    step_re, step_im = modulus_l * angle_l.cos(), modulus_l * angle_l.sin()  # (N, 1): lambda^L
    state_re = state_im = re.new_zeros(units, batch)  # (N, B)
    before_re, before_im = [state_re], [state_im]
    ends_re = within_re[..., -1].unbind(-1)[:-1]  # K - 1 x (N, B): the last chunk's is unused
    ends_im = within_im[..., -1].unbind(-1)[:-1]
    for end_re, end_im in zip(ends_re, ends_im, strict=True):
        state_re, state_im = (step_re * state_re - step_im * state_im + end_re,
                              step_re * state_im + step_im * state_re + end_im)  # fmt: skip
        before_re.append(state_re)
        before_im.append(state_im)
    s_re = torch.stack(before_re, dim=-1)[..., None]  # (N, B, K, 1)
    s_im = torch.stack(before_im, dim=-1)[..., None]  # (N, B, K, 1)
    carry = ((steps + 1) * log_modulus[:, None]).exp()  # (N, L): |lambda^(t+1)|
    carry_angle = (steps + 1) * phase[:, None]  # (N, L)
    c_re = (carry * carry_angle.cos())[:, None, None]  # (N, 1, 1, L)
    c_im = (carry * carry_angle.sin())[:, None, None]  # (N, 1, 1, L)
    h_re = torch.addcmul(within_re, c_re, s_re).addcmul_(c_im, s_im, value=-1.0)  # (N,B,K,L)
    h_im = torch.addcmul(within_im, c_re, s_im).addcmul_(c_im, s_re)  # (N, B, K, L)
    h_re, h_im = (h.view(units, batch, chunks * size)[..., :length] for h in (h_re, h_im))
    return h_re, h_im  # (N, B, T) each


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
        """``(B, T, H)`` -> ``(B, T, H)``, in real arithmetic (x is real and only ``Re(C h)`` is
        read): the projections in write the scan's unit-major layout ``(N, B, T)`` directly and
        the projection out reads it, so no tensor is permuted. The scan runs in the parameters'
        precision, under autocast too (its products may be bfloat16)."""
        batch, length, width = x.shape
        gamma = torch.exp(self.gamma_log)[:, None]  # (N, 1)
        x_t = x.reshape(batch * length, width).T  # (H, B T)
        drive_re, drive_im = (
            ((weight * gamma) @ x_t).to(self.nu_log.dtype).view(-1, batch, length)
            for weight in (self.B_re, self.B_im)
        )  # (N, B, T) each
        log_modulus, phase = -torch.exp(self.nu_log), torch.exp(self.theta_log)  # (N,) each
        h_re, h_im = linear_scan(log_modulus, phase, drive_re, drive_im)  # (N, B, T) each
        rows_re, rows_im = (h.reshape(-1, batch * length).T for h in (h_re, h_im))  # (B T, N)
        y = torch.addmm(rows_re @ self.C_re.T, rows_im, self.C_im.T, alpha=-1.0)  # Re(C h)
        return y.view(batch, length, width) + self.D * x  # (B, T, H)


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
        check_float("r_min", r_min, 0.0, 1.0, from_low=True)
        check_float("r_max", r_max, r_min, 1.0)  # r_min < r_max < 1
        check_float("max_phase", max_phase, 0.0, math.inf)
        check_float("dropout", dropout, 0.0, 1.0, from_low=True)
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
