"""The sLSTM's loop over time with a hand-written backward, for the CPU.

:meth:`~seqtasks.models.xlstm_cells.SLSTMCell.forward` runs the recurrence (per head, ``R``
block-diagonal, gates as :meth:`~seqtasks.models.xlstm_cells.SLSTMCell.gate`)::

    i~, f~, z~, o~ = W x_t + b + R h_{t-1}          m_t = max(log sigmoid(f~) + m_{t-1}, i~)
    f = exp(log sigmoid(f~) + m_{t-1} - m_t)        i = exp(i~ - m_t)
    c_t = f c_{t-1} + i tanh(z~)    n_t = f n_{t-1} + i    h_t = sigmoid(o~) c_t / n_t

from ``h = c = n = 0`` and ``m = -inf``. Under autograd each step records about 20 small
operations on ``(H, B, d)`` tensors; :class:`SLSTMScan` runs the same arithmetic without
recording it and runs the backward recurrence by hand. The stabiliser ``m`` is held constant
there: ``c_t`` and ``n_t`` both carry the factor ``exp(-m_t)``, so ``h_t`` and every later
step are the same for any ``m`` and the gradient through it is zero (autograd's path through
the maximum sums to zero up to rounding). The two agree to rounding (tests/test_slstm_scan.py).
Measured side by side on this machine's CPU (``python -m seqtasks.benchmarks.scan``,
``results/slstm_scan.md``: 2 shared cores, 1 torch thread, the default xLSTM's cell, B=32,
forward and backward, median of 5): 0.049 s against the autograd loop's 0.078 s at T=256,
0.19 s against 0.32 s at T=1,000.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


class SLSTMScan(torch.autograd.Function):
    """``pre_x`` ``(T, H, B, 4d)`` (``W x_t + b``, gates in the order i, f, z, o) and ``R``
    ``(H, d, 4d)`` -> ``h`` ``(T, H, B, d)``, before the head-wise norm. Each step's
    pre-activations are copied gate-major, ``(4, H, B, d)``, so that every gate's elementwise
    operations run on one contiguous tensor, not on a strided view."""

    @staticmethod
    @torch.amp.custom_fwd(device_type="cpu", cast_inputs=torch.float32)  # autocast: float32 here
    def forward(ctx: Any, pre_x: torch.Tensor, recurrent: torch.Tensor) -> torch.Tensor:
        length, heads, batch, width4 = pre_x.shape
        d = width4 // 4
        hs = pre_x.new_zeros(length + 1, heads, batch, d)  # hs[t + 1] = h_t, hs[0] = h_0 = 0
        cs, ns = torch.zeros_like(hs), torch.zeros_like(hs)  # c_t, n_t as hs; c_0 = n_0 = 0
        gates = pre_x.new_empty(length, 4, heads, batch, d)  # i~, f~, z~, o~ of every step
        forgets, writes = torch.empty_like(hs[1:]), torch.empty_like(hs[1:])  # (T, H, B, d)
        pre = torch.empty_like(pre_x[0])  # (H, B, 4d)
        m = pre_x.new_full((heads, batch, d), float("-inf"))  # (H, B, d)
        for t in range(length):
            torch.baddbmm(pre_x[t], hs[t], recurrent, out=pre)  # (H, B, 4d)
            gates[t].copy_(pre.view(heads, batch, 4, d).permute(2, 0, 1, 3))  # (4, H, B, d)
            i_pre, f_pre, z_pre, o_pre = gates[t].unbind(0)  # (H, B, d) each, contiguous
            log_f = F.logsigmoid(f_pre).add_(m)  # log f + m_{t-1}
            m = torch.maximum(log_f, i_pre)  # (H, B, d)
            forget = torch.sub(log_f, m, out=forgets[t]).exp_()  # (H, B, d)
            write = torch.sub(i_pre, m, out=writes[t]).exp_()  # (H, B, d)
            c = torch.mul(forget, cs[t], out=cs[t + 1]).addcmul_(write, torch.tanh(z_pre))
            n = torch.mul(forget, ns[t], out=ns[t + 1]).add_(write)  # (H, B, d)
            torch.div(c, n, out=hs[t + 1]).mul_(torch.sigmoid(o_pre))  # h_t
        ctx.save_for_backward(recurrent, hs, cs, ns, gates, forgets, writes)
        return hs[1:]

    @staticmethod
    @torch.amp.custom_bwd(device_type="cpu")
    def backward(ctx: Any, dh: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if torch.is_grad_enabled():  # create_graph=True: it would come out wrong, so refuse
            raise RuntimeError(
                "the sLSTM's hand-written backward has no second derivative (create_graph=True); "
                "run SLSTMCell off the CPU or call SLSTMCell.step in a loop for one"
            )
        recurrent, hs, cs, ns, gates, forgets, writes = ctx.saved_tensors
        length, _, heads, batch, d = gates.shape
        d_pres = gates.new_empty(length, heads, batch, 4 * d)  # also d pre_x
        d_gates = torch.empty_like(gates[0])  # (4, H, B, d)
        d_i, d_f, d_z, d_o = d_gates.unbind(0)  # (H, B, d) each, written in place
        d_c, d_n = torch.zeros_like(hs[0]), torch.zeros_like(hs[0])  # carried from step t + 1
        d_h = torch.zeros_like(hs[0])  # carried through R h_t into step t + 1
        recurrent_t = recurrent.transpose(1, 2).contiguous()  # (H, 4d, d)
        for t in range(length - 1, -1, -1):
            d_h.add_(dh[t])  # (H, B, d)
            _, f_pre, z_pre, o_pre = gates[t].unbind(0)  # (H, B, d) each
            c, n, forget, write = cs[t + 1], ns[t + 1], forgets[t], writes[t]
            out_gate, cell_in = torch.sigmoid(o_pre), torch.tanh(z_pre)  # (H, B, d)
            ratio = c / n  # h = o c / n
            torch.mul(d_h, ratio, out=d_o).mul_(out_gate * (1 - out_gate))
            d_c.addcmul_(d_h, out_gate / n)  # + dh o / n
            d_n.addcmul_(d_h, out_gate * ratio / n, value=-1.0)  # - dh o c / n^2
            d_forget = d_c * cs[t] + d_n * ns[t]  # c_t = f c_{t-1} + ..., n_t = f n_{t-1} + ...
            torch.mul(d_c, write, out=d_z).mul_(1 - cell_in * cell_in)  # tanh' = 1 - tanh^2
            torch.addcmul(d_n, d_c, cell_in, out=d_i).mul_(write)  # i = exp(i~ - m)
            torch.mul(d_forget, forget, out=d_f).mul_(torch.sigmoid(-f_pre))  # logsigmoid'
            d_c.mul_(forget)  # carried to step t - 1
            d_n.mul_(forget)
            d_pres[t].view(heads, batch, 4, d).copy_(d_gates.permute(1, 2, 0, 3))  # (H, B, 4d)
            torch.bmm(d_pres[t], recurrent_t, out=d_h)  # (H, B, d): through R h_{t-1}
        h_prev = hs[:-1].permute(1, 3, 0, 2).reshape(heads, d, length * batch)  # (H, d, T B)
        d_recurrent = h_prev @ d_pres.transpose(0, 1).reshape(heads, length * batch, 4 * d)
        return d_pres, d_recurrent  # (T, H, B, 4d), (H, d, 4d)
