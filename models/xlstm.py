"""xLSTM (Beck et al. 2024, "xLSTM: Extended Long Short-Term Memory", NeurIPS, arXiv:2405.04517):
a residual stack of mLSTM and sLSTM blocks, in the order ``blocks`` gives (``model.blocks=[m,s]``:
an mLSTM block, then an sLSTM block). The cells are in :mod:`seqtasks.models.xlstm_cells`.

Blocks (section 2.4, figures 9-10), each pre-LayerNorm and added back to its input:

- mLSTM block (pre up-projection): ``LN(x)`` is projected up by ``up_factor`` into two branches;
  branch 1 goes through a causal depthwise convolution (``conv_kernel`` taps) and SiLU and gives
  ``q`` and ``k`` through block-diagonal projections (blocks of 4), ``v`` comes from branch 1
  before the convolution; the mLSTM output (parallel form, in chunks of ``chunk_size`` steps),
  head-wise normed, plus a learnable skip of the convolution's output, is gated by
  ``SiLU(branch 2)`` and projected down.
- sLSTM block (post up-projection): ``x + GN(sLSTM(LN(x)))``, then a gated GELU feed-forward
  block of width ``ffn_factor * d_model`` (the paper's 4/3): ``x + W_down(GELU(W_g LN(x)) *
  W_u LN(x))``.

A final LayerNorm and the stack's head follow. Simplified from the paper, where its details serve
GPU kernels or large models: the sLSTM block has no causal convolution before its i and f gates
and takes its input weights as one dense matrix (the paper: per-head blocks); the mLSTM forget
gate is sigmoid (the paper's choice too); weights start from PyTorch's defaults except the gates
(input-gate bias N(0, 0.1), forget-gate biases spread over [3, 6], as the paper's code). No
position encoding: the recurrence orders the steps.

Example: ``task=echo`` (onehot, vocab 100, length 10, many_to_one), the defaults ``d_model=80``,
``num_heads=4``, ``blocks=[m, s]``: inputs ``(B, 10, 100)`` -> embed ``(B, 10, 80)`` -> mLSTM
block (inner width 160, heads of 40) ``(B, 10, 80)`` -> sLSTM block (heads of 20, feed-forward
107) ``(B, 10, 80)`` -> head on the last step ``(B, 100)``; 121,602 parameters.

State size (floats per sequence at inference): per mLSTM block and head ``C`` (d x d),
``n`` (d) and ``m`` (1), plus the convolution's last ``conv_kernel - 1`` inputs of the inner
width (counted as the TCN counts its buffers); per sLSTM block ``h, c, n, m`` per unit. The
example: ``4 * (40 * 40 + 40 + 1) + 3 * 160 + 4 * 80 = 7,364`` floats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seqtasks import TaskSpec
from seqtasks._validate import check_float
from seqtasks.models.base import check_sizes
from seqtasks.models.stack import CausalStack
from seqtasks.models.xlstm_cells import HeadwiseLinear, MLSTMCell, SLSTMCell

KINDS = ("m", "s")
# options that size one kind of block only: (the kind, its name, the default)
BLOCK_OPTIONS = {"up_factor": ("m", "mLSTM", 2), "conv_kernel": ("m", "mLSTM", 4),
                 "chunk_size": ("m", "mLSTM", 32), "ffn_factor": ("s", "sLSTM", 4 / 3)}  # fmt: skip
QKV_BLOCK = 4  # the paper's block size of the mLSTM's q, k, v projections


class MLSTMBlock(nn.Module):
    """Pre up-projection block around an :class:`MLSTMCell`, ``(B, T, D) -> (B, T, D)``."""

    def __init__(self, d_model: int, num_heads: int, up_factor: int, conv_kernel: int,
                 chunk_size: int, dropout: float) -> None:  # fmt: skip
        super().__init__()
        inner = up_factor * d_model
        self.norm = nn.LayerNorm(d_model)
        self.up = nn.Linear(d_model, 2 * inner)
        self.conv = nn.Conv1d(inner, inner, conv_kernel, groups=inner)  # depthwise, causal by pad
        self.q, self.k, self.v = (HeadwiseLinear(inner, QKV_BLOCK) for _ in range(3))
        self.cell = MLSTMCell(inner, num_heads, chunk_size)
        self.skip = nn.Parameter(torch.ones(inner))
        self.down = nn.Linear(inner, d_model)
        self.dropout = nn.Dropout(dropout)
        self.past = conv_kernel - 1  # inputs the convolution keeps

    def convolve(self, a: torch.Tensor) -> torch.Tensor:
        """Causal depthwise convolution and SiLU: ``(B, T + past, I)`` -> ``(B, T, I)``.

        ``self.conv``'s weights as shifted sums (``b + sum_j w_j a_{t+j}``, Conv1d's arithmetic),
        accumulated in place: on CPU, a grouped Conv1d's backward took most of a training step.
        """
        length = a.shape[1] - self.past
        weight = self.conv.weight[:, 0]  # (I, K)
        out = torch.addcmul(self.conv.bias, a[:, :length], weight[:, 0])  # (B, T, I)
        for j in range(1, self.past + 1):
            out = out.addcmul_(a[:, j : j + length], weight[:, j])  # (B, T, I)
        return F.silu(out)  # (B, T, I)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, gate = self.up(self.norm(x)).chunk(2, dim=-1)  # (B, T, I) each
        conv = self.convolve(F.pad(a, (0, 0, self.past, 0)))  # (B, T, I): zeros before step 0
        h = self.cell(self.q(conv), self.k(conv), self.v(a))  # (B, T, I)
        h = torch.addcmul(h, self.skip, conv) * F.silu(gate)  # (B, T, I)
        return x + self.dropout(self.down(h))  # (B, T, D)

    def initial_state(self, batch: int, like: torch.Tensor) -> tuple[Any, ...]:
        """The convolution's past inputs ``(B, past, I)`` (zeros) and the cell's state."""
        return like.new_zeros(batch, self.past, self.skip.numel()), self.cell.initial_state(
            batch, like
        )

    def step(self, x: torch.Tensor, state: tuple[Any, ...]) -> tuple[torch.Tensor, tuple]:
        """One step ``(B, D)`` of :meth:`forward`, carrying the convolution's inputs and memory."""
        past, memory = state  # (B, past, I), the cell's
        a, gate = self.up(self.norm(x)).chunk(2, dim=-1)  # (B, I) each
        window = torch.cat([past, a[:, None]], dim=1)  # (B, past + 1, I)
        conv = self.convolve(window)[:, 0]  # (B, I)
        h, memory = self.cell.step(self.q(conv), self.k(conv), self.v(a), memory)  # (B, I)
        h = torch.addcmul(h, self.skip, conv) * F.silu(gate)  # (B, I)
        return x + self.dropout(self.down(h)), (window[:, 1:], memory)  # (B, D)


class SLSTMBlock(nn.Module):
    """Post up-projection block around an :class:`SLSTMCell`, ``(B, T, D) -> (B, T, D)``."""

    def __init__(self, d_model: int, num_heads: int, ffn_size: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.cell = SLSTMCell(d_model, num_heads)
        self.up = nn.Linear(d_model, 2 * ffn_size)  # the GELU gate and the value
        self.down = nn.Linear(ffn_size, d_model)
        self.dropout = nn.Dropout(dropout)

    def feedforward(self, x: torch.Tensor) -> torch.Tensor:
        gate, value = self.up(self.norm2(x)).chunk(2, dim=-1)  # (..., F) each
        return x + self.dropout(self.down(F.gelu(gate) * value))  # (..., D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.cell(self.norm1(x)))  # (B, T, D)
        return self.feedforward(x)  # (B, T, D)

    def initial_state(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.cell.initial_state(batch, like)

    def step(self, x: torch.Tensor, state: tuple) -> tuple[torch.Tensor, tuple]:
        h, state = self.cell.step(self.norm1(x), state)  # (B, D)
        return self.feedforward(x + self.dropout(h)), state  # (B, D)


def check_blocks(blocks: Any) -> tuple[str, ...]:
    """``blocks`` must be a non-empty list of ``'m'`` and ``'s'``."""
    if isinstance(blocks, str) or not isinstance(blocks, Sequence):
        raise TypeError(
            f"blocks must be a list of block kinds such as [m, s], got {blocks!r} "
            f"({type(blocks).__name__})"
        )
    if not blocks or any(kind not in KINDS for kind in blocks):
        raise ValueError(
            f"blocks={list(blocks)!r} is not available: a non-empty list of {list(KINDS)} "
            "(m: mLSTM block, s: sLSTM block), e.g. [m, s]"
        )
    return tuple(blocks)


class XLSTM(CausalStack):
    """An xLSTM stack for ``one_to_one`` and ``many_to_one``; see the module docstring."""

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        d_model: int = 80,
        num_heads: int = 4,
        blocks: Sequence[str] = ("m", "s"),
        up_factor: int = 2,
        ffn_factor: float = 4 / 3,
        conv_kernel: int = 4,
        chunk_size: int = 32,
        dropout: float = 0.0,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        check_sizes(d_model=d_model, num_heads=num_heads, up_factor=up_factor,
                    conv_kernel=conv_kernel, chunk_size=chunk_size)  # fmt: skip
        blocks = list(check_blocks(blocks))  # a plain list in hparams, whatever came in
        check_float("ffn_factor", ffn_factor, 0.0, math.inf)
        given = {"up_factor": up_factor, "conv_kernel": conv_kernel, "chunk_size": chunk_size,
                 "ffn_factor": ffn_factor}  # fmt: skip
        for name, (kind, block, default) in BLOCK_OPTIONS.items():
            if kind not in blocks and not math.isclose(given[name], default, rel_tol=1e-6):
                raise ValueError(
                    f"{name}={given[name]} sizes the {block} blocks, but blocks={blocks} has none:"
                    f" leave {name} at {default!r} or add an {kind} block"
                )
        check_float("dropout", dropout, 0.0, 1.0, from_low=True)
        inner = up_factor * d_model
        if d_model % num_heads or ("m" in blocks and inner % (num_heads * QKV_BLOCK)):
            raise ValueError(
                f"d_model={d_model} with num_heads={num_heads}: d_model must be divisible by "
                f"num_heads, and, with mLSTM blocks, up_factor * d_model = {inner} by "
                f"num_heads * {QKV_BLOCK} (heads of q, k, v blocks of 4)"
            )
        self.save_hyperparameters()
        self.ffn_size = max(1, round(ffn_factor * d_model))
        self.build_input(d_model)
        self.blocks = nn.ModuleList(
            MLSTMBlock(d_model, num_heads, up_factor, conv_kernel, chunk_size, dropout)
            if kind == "m"
            else SLSTMBlock(d_model, num_heads, self.ffn_size, dropout)
            for kind in blocks
        )
        self.norm = nn.LayerNorm(d_model)
        self.build_head(d_model)

    @property
    def state_size(self) -> int:
        """mLSTM blocks: ``C``, ``n``, ``m`` per head and the convolution's inputs; sLSTM blocks:
        ``h, c, n, m`` per unit."""
        total = 0
        for block in self.blocks:
            if isinstance(block, MLSTMBlock):
                heads, d = block.cell.heads, block.cell.head_size
                total += heads * (d * d + d + 1) + block.past * block.skip.numel()
            else:
                total += 4 * self.hparams.d_model
        return total

    def backbone(self, features: torch.Tensor) -> torch.Tensor:
        x = features  # (B, T, D)
        for block in self.blocks:
            x = block(x)  # (B, T, D)
        return self.norm(x)  # (B, T, D)

    def backbone_recurrent(self, features: torch.Tensor) -> torch.Tensor:
        """:meth:`backbone` one step at a time, every block carrying its state."""
        states = [block.initial_state(len(features), features) for block in self.blocks]
        steps = []
        for h in features.unbind(1):  # (B, D) each
            for index, block in enumerate(self.blocks):
                h, states[index] = block.step(h, states[index])  # (B, D)
            steps.append(self.norm(h))  # (B, D)
        return torch.stack(steps, dim=1)  # (B, T, D)

    def forward_recurrent(self, inputs: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` computed by the recurrent form (the same outputs, to rounding)."""
        return self.read_out(self.backbone_recurrent(self.embed(inputs)))  # features (B, T, D)
