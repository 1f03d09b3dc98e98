"""The two memory cells of xLSTM (Beck, Pöppel, Spanring, Auer, Prudnikova, Kopp, Klambauer,
Brandstetter & Hochreiter 2024, "xLSTM: Extended Long Short-Term Memory", NeurIPS,
arXiv:2405.04517), with the stabilised exponential gating of its sections 2.2-2.3.

mLSTM (matrix memory, per head, eqs. 19-27): ``k`` scaled by ``1/sqrt(d)``,

    C_t = f_t C_{t-1} + i_t v_t k_t^T,   n_t = f_t n_{t-1} + i_t k_t,
    h_t = C_t q_t / max(|n_t^T q_t|, 1),

``i_t = exp(i~_t)``, ``f_t = sigmoid(f~_t)``, stabilised by ``m_t = max(log f_t + m_{t-1}, i~_t)``
(``i'_t = exp(i~_t - m_t)``, ``f'_t = exp(log f_t + m_{t-1} - m_t)``; the bound 1 becomes
``exp(-m_t)``). Two forms: parallel (:meth:`MLSTMCell.forward`, the paper's appendix form with
``log D_ts = sum_{j=s+1..t} log f_j + i~_s`` for ``s <= t``, computed in chunks of
``chunk_size`` steps that pass ``(C, n, m)`` on, so memory grows as ``chunk_size^2``, not
``T^2``; one chunk as long as the input is the paper's form) and recurrent
(:meth:`MLSTMCell.step`); both start from ``m_0 = -inf``, so they agree to rounding
(tests/test_linear_attention_xlstm.py). The gates are scalars per head, from ``[q, k, v]``.

sLSTM (scalar memory, eqs. 8-17): per unit ``c_t = f_t c_{t-1} + i_t z_t``,
``n_t = f_t n_{t-1} + i_t``, ``h_t = o_t c_t / n_t``, gates ``i`` exponential and ``f`` sigmoid,
stabilised as above; the recurrent weights ``R`` are block-diagonal, one block per head (head h's
``h_{t-1}`` feeds only head h's gates). Recurrent only (:meth:`SLSTMCell.step`), as in the paper.

Example (mLSTM, 4 heads of 32): q, k, v ``(B, T, 128)`` -> heads ``(B, 4, T, 32)``, gates
``(B, 4, T)``, ``log D`` ``(B, 4, T, T)`` -> h ``(B, T, 128)``; state per head: C ``32 x 32``,
n ``32``, m ``1``. Our own code, written from the paper; the official ``xlstm`` package (which pulls
CUDA kernels) was not used.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seqtasks.models.slstm_scan import SLSTMScan

EPS = 1e-6  # added to the mLSTM normaliser, as in the paper's code
MState = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # C (B,H,d,d), n (B,H,d), m (B,H)
GROUP_WIDTH = 16  # features per product of HeadwiseLinear: on CPU the fastest of 4, 8, 16, ..., 160
SState = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # h, c, n, m (B, H, d)


def head_norm(h: torch.Tensor, norm: nn.GroupNorm) -> torch.Tensor:
    """``norm`` (one group per head) applied to ``h`` ``(..., W)``, computed as a LayerNorm over
    each head's features and ``norm``'s affine map: the same values (a group is one head's
    features here), with a faster backward on CPU than GroupNorm's on ``(B * T, W)``."""
    heads, width = norm.num_groups, h.shape[-1]
    size = width // heads
    normed = F.layer_norm(h.unflatten(-1, (heads, size)), (size,), eps=norm.eps)  # (..., H, d)
    return normed.flatten(-2) * norm.weight + norm.bias  # (..., W)


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """``(B, T, H * d)`` -> ``(B, H, T, d)``."""
    batch, length, width = x.shape
    return x.view(batch, length, heads, width // heads).transpose(1, 2)  # (B, H, T, d)


class HeadwiseLinear(nn.Module):
    """Block-diagonal linear map ``(..., W) -> (..., W)``: blocks of ``block`` features (the
    paper's q, k, v projections use blocks of 4)."""

    def __init__(self, width: int, block: int) -> None:
        super().__init__()
        self.blocks, self.block = width // block, block
        self.weight = nn.Parameter(torch.randn(self.blocks, block, block) / math.sqrt(block))
        self.bias = nn.Parameter(torch.zeros(width))
        # blocks per product: groups of about GROUP_WIDTH features
        self.per_group = math.gcd(self.blocks, max(1, GROUP_WIDTH // block))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """As ``G`` products with ``(g, g)`` matrices, each holding ``per_group`` blocks on its
        diagonal (zeros elsewhere: the same sums). On CPU, forward and backward run 2.9x faster
        than as one dense ``(W, W)`` product (40 times the blocks' work at the default 160
        features; ``results/headwise.md``), and faster than as ``N`` products of 4 x 4."""
        per, block = self.per_group, self.block
        groups = self.blocks // per
        eye = torch.eye(per, dtype=self.weight.dtype, device=self.weight.device)  # (p, p)
        on_diagonal = eye.view(1, per, 1, per, 1)
        weight = self.weight.view(groups, per, block, 1, block) * on_diagonal  # (G,p,b,p,b)
        weight = weight.view(groups, per * block, per * block)  # (G, g, g): block-diagonal
        x = x.unflatten(-1, (groups, per * block))  # (..., G, g)
        return torch.einsum("...ni,nij->...nj", x, weight).flatten(-2) + self.bias  # (..., W)


class MLSTMCell(nn.Module):
    """Multi-head mLSTM memory ``(q, k, v) (B, T, W) -> (B, T, W)``, with a head-wise norm."""

    def __init__(self, width: int, num_heads: int, chunk_size: int = 32) -> None:
        super().__init__()
        self.heads, self.head_size, self.chunk_size = num_heads, width // num_heads, chunk_size
        self.input_gate = nn.Linear(3 * width, num_heads)
        self.forget_gate = nn.Linear(3 * width, num_heads)
        for gate in (self.input_gate, self.forget_gate):  # the paper's code's initialisation
            nn.init.zeros_(gate.weight)
        nn.init.normal_(self.input_gate.bias, 0.0, 0.1)
        with torch.no_grad():  # forget gates from sigmoid(3) to sigmoid(6): long memory at start
            self.forget_gate.bias.copy_(torch.linspace(3.0, 6.0, num_heads))
        self.norm = nn.GroupNorm(num_heads, width)  # per head, as the paper's block

    def gates(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Pre-activations ``i~`` and ``log f`` ``(..., H)`` from ``q, k, v`` ``(..., W)``: both
        gates' ``Linear(3W, H)`` at once, as a sum over q, k and v of their columns (on CPU the
        backward of a product with 4 columns into a concatenated ``(..., 3W)`` was slow), each
        column block built contiguous by one concatenation: with strided views the gates' forward
        and backward took 1.9x as long (0.064 s against 0.034 s, B=32, T=1,000, W=160, side by
        side)."""
        gate_weights = (self.input_gate.weight, self.forget_gate.weight)  # (H, 3W) each
        columns = zip(*(w.chunk(3, dim=1) for w in gate_weights), strict=True)  # q, k, v blocks
        w_q, w_k, w_v = (torch.cat(pair) for pair in columns)  # (2H, W) each, contiguous
        bias = torch.cat([self.input_gate.bias, self.forget_gate.bias])  # (2H,)
        pre = F.linear(q, w_q) + F.linear(k, w_k) + F.linear(v, w_v, bias)  # (..., 2H)
        i_pre, f_pre = pre.chunk(2, dim=-1)  # (..., H) each
        return i_pre, F.logsigmoid(f_pre)  # (..., H) each

    def normalise(self, h: torch.Tensor) -> torch.Tensor:
        """Head-wise GroupNorm of ``(..., W)``."""
        return head_norm(h, self.norm)  # (..., W)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """The parallel form over all ``T`` steps, ``chunk_size`` steps at a time."""
        return self.scan(q, k, v)[0]

    def scan(self, q: torch.Tensor, k: torch.Tensor,
             v: torch.Tensor) -> tuple[torch.Tensor, MState]:  # fmt: skip
        """The parallel form, chunked: ``h`` ``(B, T, W)`` and the state after the last step.

        Within a chunk, ``log D_ts = b_t - b_s + i~_s`` (``b``: the chunk's running sum of
        ``log f``); the state of earlier chunks enters with weight ``exp(b_t + m_prev)``, so
        ``m_t`` is the maximum over every earlier step, as in the recurrent form.
        """
        i_pre, log_f = (g.transpose(1, 2) for g in self.gates(q, k, v))  # (B, H, T) each
        q, k, v = (split_heads(t, self.heads) for t in (q, k, v))  # (B, H, T, d)
        k = k / math.sqrt(self.head_size)  # (B, H, T, d)
        c, n, m = self.initial_state(q.shape[0], q)  # (B, H, d, d), (B, H, d), (B, H)
        size = self.chunk_size
        future = torch.ones(size, size, dtype=torch.bool, device=q.device).triu(1)  # (L, L)
        outputs = []
        chunks = [t.split(size, dim=2) for t in (q, k, v, i_pre, log_f)]  # split: one backward
        for qc, kc, vc, ic, fc in zip(*chunks, strict=True):  # (B, H, L, d) x 3, (B, H, L) x 2
            steps = qc.shape[2]
            b = fc.cumsum(-1)  # (B, H, L)
            log_d = b[..., :, None] - b[..., None, :] + ic[..., None, :]  # (B, H, L, L)
            log_d = log_d.masked_fill(future[:steps, :steps], float("-inf"))  # s <= t only
            carry = b + m[..., None]  # (B, H, L): log weight of the earlier chunks' state
            m_t = torch.maximum(log_d.amax(-1), carry)  # (B, H, L): the stabiliser
            scores = (qc @ kc.transpose(-1, -2)) * (log_d - m_t[..., None]).exp()  # (B, H, L, L)
            old = (carry - m_t).exp()[..., None]  # (B, H, L, 1)
            numerator = scores @ vc + old * (qc @ c)  # (B, H, L, d)
            total = scores.sum(-1, keepdim=True) + old * (qc @ n[..., None])  # (B, H, L, 1)
            bound = torch.maximum(total.abs(), (-m_t).exp()[..., None])  # (B, H, L, 1)
            outputs.append(numerator / (bound + EPS))  # (B, H, L, d)
            m_end = m_t[..., -1]  # (B, H)
            keep = (carry[..., -1] - m_end).exp()  # (B, H)
            weight = (b[..., -1:] - b + ic - m_end[..., None]).exp()[..., None]  # (B, H, L, 1)
            c = keep[..., None, None] * c + (kc * weight).transpose(-1, -2) @ vc  # (B, H, d, d)
            n = keep[..., None] * n + (kc * weight).sum(2)  # (B, H, d)
            m = m_end  # (B, H)
        h = torch.cat(outputs, dim=2).transpose(1, 2).flatten(2)  # (B, T, W)
        return self.normalise(h), (c, n, m)  # (B, T, W)

    def initial_state(self, batch: int, like: torch.Tensor) -> MState:
        """``C = 0``, ``n = 0``, ``m = -inf`` (so that ``m_1 = i~_1``, as the parallel form)."""
        d = self.head_size
        return (
            like.new_zeros(batch, self.heads, d, d),
            like.new_zeros(batch, self.heads, d),
            like.new_full((batch, self.heads), float("-inf")),
        )

    def step(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
             state: MState) -> tuple[torch.Tensor, MState]:  # fmt: skip
        """The recurrent form: one step ``(B, W)`` each -> ``h`` ``(B, W)`` and the new state."""
        i_pre, log_f = self.gates(q, k, v)  # (B, H) each
        batch = q.shape[0]
        q, k, v = (t.view(batch, self.heads, self.head_size) for t in (q, k, v))  # (B, H, d)
        k = k / math.sqrt(self.head_size)  # (B, H, d)
        c, n, m = state  # (B, H, d, d), (B, H, d), (B, H)
        m_new = torch.maximum(log_f + m, i_pre)  # (B, H)
        forget = (log_f + m - m_new).exp()  # (B, H)
        write = (i_pre - m_new).exp()  # (B, H)
        c = forget[..., None, None] * c + write[..., None, None] * k[..., :, None] * v[..., None, :]
        n = forget[..., None] * n + write[..., None] * k  # (B, H, d)
        numerator = (q[..., :, None] * c).sum(-2)  # (B, H, d): C^T q with C[k-index, v-index]
        bound = torch.maximum((q * n).sum(-1).abs(), (-m_new).exp())  # (B, H)
        h = numerator / (bound[..., None] + EPS)  # (B, H, d)
        return self.normalise(h.reshape(batch, -1)), (c, n, m_new)  # (B, W)


class SLSTMCell(nn.Module):
    """Multi-head sLSTM ``(B, T, W) -> (B, T, W)``, block-diagonal recurrence, head-wise norm."""

    def __init__(self, width: int, num_heads: int) -> None:
        super().__init__()
        self.heads, self.head_size = num_heads, width // num_heads
        d = self.head_size
        self.input = nn.Linear(width, 4 * width)  # i, f, z, o pre-activations from x_t
        bound = 1.0 / math.sqrt(d)
        self.recurrent = nn.Parameter(torch.empty(num_heads, d, 4 * d).uniform_(-bound, bound))
        with torch.no_grad():  # forget biases from 3 to 6 within each head; the others 0
            bias = self.input.bias.view(num_heads, 4, d)
            bias.zero_()
            bias[:, 1] = torch.linspace(3.0, 6.0, d)
        self.norm = nn.GroupNorm(num_heads, width)

    def initial_state(self, batch: int, like: torch.Tensor) -> SState:
        """``h = c = n = 0`` and ``m = -inf`` (so that ``m_1 = i~_1``)."""
        zeros = like.new_zeros(batch, self.heads, self.head_size)
        return zeros, zeros, zeros, torch.full_like(zeros, float("-inf"))

    def normalise(self, h: torch.Tensor) -> torch.Tensor:
        """Head-wise GroupNorm of ``(..., W)``."""
        return head_norm(h, self.norm)  # (..., W)

    def step(self, x: torch.Tensor, state: SState) -> tuple[torch.Tensor, SState]:
        """One step: ``x`` ``(B, W)`` -> normed ``h`` ``(B, W)`` and the new state."""
        batch = x.shape[0]
        pre_x = self.input(x)  # (B, 4W): W x_t + b
        h, c, n, m = state  # (B, H, d) each
        recurrent = torch.einsum("bhd,hde->bhe", h, self.recurrent)  # (B, H, 4d): R h_{t-1}
        pre = pre_x.view(batch, self.heads, 4 * self.head_size) + recurrent  # (B, H, 4d)
        h, c, n, m = self.gate(pre, (c, n, m))  # (B, H, d) each
        return self.normalise(h.reshape(batch, -1)), (h, c, n, m)  # (B, W)

    def gate(self, pre: torch.Tensor, memory: tuple[torch.Tensor, ...]) -> SState:
        """The stabilised exponential gating: pre-activations ``(..., 4d)`` (i, f, z, o) and
        ``(c, n, m)`` ``(..., d)`` each -> the new ``(h, c, n, m)``, unnormed."""
        c, n, m = memory
        i_pre, f_pre, z_pre, o_pre = pre.chunk(4, dim=-1)  # (..., d) each
        log_f = F.logsigmoid(f_pre)  # (..., d)
        m_new = torch.maximum(log_f + m, i_pre)  # (..., d)
        forget, write = (log_f + m - m_new).exp(), (i_pre - m_new).exp()  # (..., d) each
        c = forget * c + write * torch.tanh(z_pre)  # (..., d)
        n = forget * n + write  # (..., d): > 0 from step 1
        return torch.sigmoid(o_pre) * c / n, c, n, m_new  # (..., d) each

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """All ``T`` steps of ``x`` ``(B, T, W)``, one at a time -> normed ``(B, T, W)``.

        The loop runs head-major, ``(H, B, .)``, so that each step's recurrence is one batched
        product added to the input's share (``baddbmm``); the norm, per step and head, runs once
        over all steps after it. The same arithmetic as :meth:`step`, step after step. On the CPU
        the loop is :class:`~seqtasks.models.slstm_scan.SLSTMScan`, with a hand-written backward.
        """
        batch, length, width = x.shape
        pre_x = self.input(x).view(batch, length, self.heads, 4 * self.head_size)  # (B,T,H,4d)
        pre_x = pre_x.permute(1, 2, 0, 3)  # (T, H, B, 4d)
        if x.device.type == "cpu":
            h = SLSTMScan.apply(pre_x.contiguous(), self.recurrent)  # (T, H, B, d)
        else:
            h = self.loop(pre_x)  # (T, H, B, d)
        h = h.permute(2, 0, 1, 3)  # (B, T, H, d)
        return self.normalise(h.reshape(batch, length, width))  # (B, T, W)

    def loop(self, pre_x: torch.Tensor) -> torch.Tensor:
        """The recurrence under autograd: ``pre_x`` ``(T, H, B, 4d)`` -> ``h`` ``(T, H, B, d)``."""
        h, c, n, m = (s.transpose(0, 1) for s in self.initial_state(pre_x.shape[2], pre_x))
        steps = []
        for pre_t in pre_x.unbind(0):  # unbind: one backward stack, not a (T, ...) per step
            pre = torch.baddbmm(pre_t, h, self.recurrent)  # (H, B, 4d): W x_t + b + R h_{t-1}
            h, c, n, m = self.gate(pre, (c, n, m))  # (H, B, d) each
            steps.append(h)
        return torch.stack(steps, dim=0)  # (T, H, B, d)
