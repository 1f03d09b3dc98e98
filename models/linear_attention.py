"""Causal linear attention (Katharopoulos, Vyas, Pappas & Fleuret 2020, "Transformers are RNNs:
Fast Autoregressive Transformers with Linear Attention", ICML, arXiv:2006.16236).

Softmax attention is replaced by a kernel ``phi(q)^T phi(k)`` with ``phi(x) = elu(x) + 1`` (the
paper's feature map, eq. 7). Step t of a causal layer (eqs. 8-9, per head) is

    V'_t = phi(Q_t)^T S_t / (phi(Q_t)^T z_t + eps),  S_t = sum_{j<=t} phi(K_j) V_j^T,
                                                       z_t = sum_{j<=t} phi(K_j),

computed two ways that give the same numbers (tests/test_linear_attention_xlstm.py, to 1e-5):

- parallel (training, :meth:`LinearAttention.forward`): within a chunk of ``chunk_size`` steps the
  masked form ``tril(phi(Q) phi(K)^T) V``, row-normalised by ``tril(phi(Q) phi(K)^T) 1``; the
  sums ``S`` and ``z`` of earlier chunks are added through ``phi(Q) S``. A chunk as long as the
  input is the paper's fully masked form; shorter chunks bound memory at ``chunk_size^2`` a head;
- recurrent (inference, :meth:`LinearAttention.step`): the RNN of section 3.4, carrying ``S``
  ``(d_k, d_v)`` and ``z`` ``(d_k,)`` per head, one step at a time
  (:meth:`LinearTransformer.forward_recurrent` runs the whole model that way).

Blocks are the Transformer's pre-LayerNorm ones (attention, then a GELU feed-forward block, each
added back) with a final LayerNorm; positions as ``model=transformer`` (sinusoidal by default).
``eps = 1e-6`` as in the paper's code. Our own code, written from the paper.

Example: ``task=echo`` (onehot, vocab 100, length 10, many_to_one), ``d_model=64``,
``num_heads=4``: inputs ``(B, 10, 100)`` -> embed ``(B, 10, 64)`` -> per layer q, k, v
``(B, 4, 10, 16)``, scores ``(B, 4, 10, 10)``, output ``(B, 10, 64)`` -> head on the last step
``(B, 100)``. State size: per layer and head ``16 * 16 + 16 = 272`` floats, 2 layers x 4 heads =
2,176 floats per sequence.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seqtasks import TaskSpec
from seqtasks._validate import check_choice, check_float
from seqtasks.models.base import check_sizes
from seqtasks.models.stack import CausalStack
from seqtasks.models.transformer import MAX_POSITIONS, POSITIONS, PositionEncoding

EPS = 1e-6
State = tuple[torch.Tensor, torch.Tensor]  # S (B, H, d_k, d_v), z (B, H, d_k)


def feature_map(x: torch.Tensor) -> torch.Tensor:
    """``phi(x) = elu(x) + 1``: positive, so every normaliser is positive."""
    return F.elu(x) + 1.0


class LinearAttention(nn.Module):
    """Multi-head causal linear attention, ``(B, T, D) -> (B, T, D)``."""

    def __init__(self, d_model: int, num_heads: int, chunk_size: int) -> None:
        super().__init__()
        self.num_heads, self.head_size = num_heads, d_model // num_heads
        self.chunk_size = chunk_size
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(B, T, D)`` -> ``phi(q)``, ``phi(k)``, ``v``, each ``(B, H, T, d)``."""
        batch, length, _ = x.shape
        qkv = self.qkv(x).view(batch, length, 3, self.num_heads, self.head_size)  # (B, T, 3, H, d)
        # heads first in one copy: phi and the chunks' products then run on contiguous tensors
        # (elementwise kernels, their backward and products on a permuted view are slow on CPU)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).contiguous()  # 3 x (B, H, T, d)
        return feature_map(q), feature_map(k), v

    def merge(self, y: torch.Tensor) -> torch.Tensor:
        """Heads ``(B, H, T, d)`` -> ``(B, T, D)`` through the output projection."""
        batch, _, length, _ = y.shape
        return self.out(y.transpose(1, 2).reshape(batch, length, -1))  # (B, T, D)

    def initial_state(self, batch: int, like: torch.Tensor) -> State:
        """Zero sums: ``S`` ``(B, H, d_k, d_v)`` and ``z`` ``(B, H, d_k)``."""
        d = self.head_size
        return like.new_zeros(batch, self.num_heads, d, d), like.new_zeros(batch, self.num_heads, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The parallel (chunked masked) form."""
        q, k, v = self.project(x)  # (B, H, T, d) each
        state, norm = self.initial_state(q.shape[0], q)  # (B, H, d, d), (B, H, d)
        mask = torch.ones(self.chunk_size, self.chunk_size, device=x.device).tril().bool()
        outputs = []
        chunks = [t.split(self.chunk_size, dim=2) for t in (q, k, v)]  # split: one backward
        for qc, kc, vc in zip(*chunks, strict=True):  # (B, H, c, d) each
            size = qc.shape[2]
            scores = (qc @ kc.transpose(-1, -2)).masked_fill(~mask[:size, :size], 0.0)  # (B,H,c,c)
            numerator = scores @ vc + qc @ state  # (B, H, c, d)
            denominator = scores.sum(-1) + (qc * norm[:, :, None]).sum(-1)  # (B, H, c)
            outputs.append(numerator / (denominator[..., None] + EPS))  # (B, H, c, d)
            state = state + kc.transpose(-1, -2) @ vc  # (B, H, d, d)
            norm = norm + kc.sum(2)  # (B, H, d)
        return self.merge(torch.cat(outputs, dim=2))  # (B, T, D)

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """The recurrent form: one step ``(B, D)`` and the sums so far -> ``(B, D)``, new sums."""
        q, k, v = (t[:, :, 0] for t in self.project(x[:, None]))  # (B, H, d) each
        s, z = state  # (B, H, d, d), (B, H, d)
        s = s + k[..., :, None] * v[..., None, :]  # (B, H, d, d): S += phi(k) v^T
        z = z + k  # (B, H, d)
        numerator = (q[..., None] * s).sum(-2)  # (B, H, d): phi(q)^T S
        denominator = (q * z).sum(-1, keepdim=True)  # (B, H, 1): phi(q)^T z
        y = numerator / (denominator + EPS)  # (B, H, d)
        return self.merge(y[:, :, None])[:, 0], (s, z)  # (B, D)


class LinearTransformerBlock(nn.Module):
    """Pre-LayerNorm block: ``x + attention(LN(x))``, then ``x + FFN(LN(x))``."""

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int, dropout: float,
                 chunk_size: int) -> None:  # fmt: skip
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attention = LinearAttention(d_model, num_heads, chunk_size)
        self.feedforward = nn.Sequential(
            nn.Linear(d_model, dim_feedforward), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(dim_feedforward, d_model),
        )  # fmt: skip
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.attention(self.norm1(x)))  # (B, T, D)
        return x + self.dropout(self.feedforward(self.norm2(x)))  # (B, T, D)

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        mixed, state = self.attention.step(self.norm1(x), state)  # (B, D)
        x = x + self.dropout(mixed)  # (B, D)
        return x + self.dropout(self.feedforward(self.norm2(x))), state  # (B, D)


class LinearTransformer(CausalStack):
    """Causal linear-attention Transformer for ``one_to_one`` and ``many_to_one``; see the module
    docstring."""

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 256,
        dropout: float = 0.0,
        position: str = "sinusoidal",
        max_positions: int = MAX_POSITIONS,
        chunk_size: int = 32,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        check_sizes(
            d_model=d_model, num_heads=num_heads, num_layers=num_layers,
            dim_feedforward=dim_feedforward, max_positions=max_positions, chunk_size=chunk_size,
        )  # fmt: skip
        if d_model % num_heads:
            raise ValueError(
                f"d_model={d_model} is not divisible by num_heads={num_heads}: each head gets "
                f"d_model / num_heads features; choose num_heads among the divisors of {d_model}"
            )
        check_float("dropout", dropout, 0.0, 1.0, from_low=True)
        check_choice("position", position, POSITIONS, "model=linear_attention")
        self.save_hyperparameters()
        self.build_input(d_model)
        self.positions = PositionEncoding(position, d_model, max_positions, self.spec.input_length)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            LinearTransformerBlock(d_model, num_heads, dim_feedforward, dropout, chunk_size)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.build_head(d_model)

    @property
    def state_size(self) -> int:
        """Per layer and head: ``S`` (d_k x d_v) and the normaliser ``z`` (d_k)."""
        heads, d = self.hparams.num_heads, self.hparams.d_model // self.hparams.num_heads
        return self.hparams.num_layers * heads * (d * d + d)

    def backbone(self, features: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.positions(features))  # (B, T, D)
        for block in self.blocks:
            x = block(x)  # (B, T, D)
        return self.norm(x)  # (B, T, D)

    def backbone_recurrent(self, features: torch.Tensor) -> torch.Tensor:
        """:meth:`backbone` in the recurrent form: one step at a time, carrying ``(S, z)``."""
        x = self.dropout(self.positions(features))  # (B, T, D): the table of step t at step t
        states = [block.attention.initial_state(len(x), x) for block in self.blocks]
        steps = []
        for h in x.unbind(1):  # (B, D) each
            for index, block in enumerate(self.blocks):
                h, states[index] = block.step(h, states[index])  # (B, D)
            steps.append(self.norm(h))  # (B, D)
        return torch.stack(steps, dim=1)  # (B, T, D)

    def forward_recurrent(self, inputs: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` computed by the recurrent form (the same outputs, to rounding)."""
        return self.read_out(self.backbone_recurrent(self.embed(inputs)))  # features (B, T, D)
