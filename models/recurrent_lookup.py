"""The recurrent models on one-hot inputs with a wide vocabulary, on the CPU: the input by lookup.

``nn.LSTM`` multiplies each step's one-hot ``(V,)`` input by its ``(G x H, V)`` input weights
(G = 4 gates for the LSTM, 3 for the GRU, 1 for the RNN): for a one-hot input that product is
one column of the weights, so a lookup (``F.embedding``) gives the same value without the
multiply-adds, and its backward pass adds each step's gradient into one column instead of a
``(G x H, V)`` product. ``nn.LSTM`` takes no precomputed input projection, so here the recurrence
runs as a loop of PyTorch operations with the layer's own parameters (``weight_ih_l0``, ...,
the same state dict), the equations of PyTorch's documentation:

- LSTM: ``i, f, g, o = W_ih x + b_ih + W_hh h + b_hh``; ``c' = s(f) c + s(i) tanh(g)``,
  ``h' = s(o) tanh(c')``;
- GRU: ``r, z = s(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z})``,
  ``n = tanh(W_in x + b_in + r (W_hn h + b_hn))``, ``h' = (1 - z) n + z h``;
- RNN: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)``; ``h_0 = c_0 = 0``.

The values are those of the fused kernel up to float rounding (tests/test_recurrent_lookup.py).
When: on the CPU, float32 without autocast, one layer, one direction, inputs that are one-hot
(checked on every batch; anything else takes ``nn.LSTM``) and need no gradient (ids have none),
and ``input_size >= 3 x hidden_size``.
Measured side by side (``python -m seqtasks.benchmarks.lookup``, ``results/lookup.md``: hidden
128, 1 torch thread): at batch 32, forward and backward, the loop runs 3.25x (LSTM), 2.16x (GRU)
and 2.88x (RNN) the fused kernel's speed at 1,000 symbols and 1.7-2.2x at 500; forward alone at
batch 200 (validation) 1.25-3.1x at 500. Below 3 x hidden the LSTM's fused kernel is mostly
faster (0.44-0.88x at 100 symbols, 0.59x and 0.67x at 200 with batches of 8 and 200; 1.34x at 200
with batch 32); the one loss above it is the LSTM at batch 8 and 500 symbols (0.93x).
On a GPU the fused kernel is kept: a loop launches several kernels a step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

WIDE = 3  # the lookup runs when input_size >= WIDE x hidden_size (results/lookup.md)


def lookup_symbols(rnn: nn.RNNBase, inputs: torch.Tensor) -> torch.Tensor | None:
    """The symbol ids ``(B, T)`` of one-hot ``inputs`` ``(B, T, V)`` when the lookup loop serves
    ``rnn`` for them (see the module docstring), else None (``nn.LSTM`` then runs as it is)."""
    layer_fits = (
        rnn.num_layers == 1
        and not rnn.bidirectional
        and rnn.bias
        and getattr(rnn, "proj_size", 0) == 0
        and getattr(rnn, "nonlinearity", "tanh") == "tanh"
        and rnn.input_size >= WIDE * rnn.hidden_size
        and rnn.weight_ih_l0.dtype == torch.float32
    )
    if not layer_fits or inputs.device.type != "cpu" or inputs.dtype != torch.float32:
        return None
    if inputs.dim() != 3 or torch.is_autocast_enabled("cpu") or inputs.requires_grad:
        return None  # a gradient wrt the inputs (saliency) needs the product, not ids
    # one-hot: the largest value is 1, the smallest 0 and the sum 1 (so every other value is 0);
    # reductions without indices, 6 ms each at (32, 999, 1,000) where argmax takes 70 ms
    one_hot = all(
        bool((reduce(-1) == value).all())
        for reduce, value in ((inputs.amax, 1), (inputs.amin, 0), (inputs.sum, 1))
    )
    if not one_hot:
        return None
    positions = torch.arange(inputs.shape[-1], dtype=inputs.dtype, device=inputs.device)
    return (inputs @ positions).long()  # (B, T): the one 1's position, exact below 2^24


def lookup_recurrence(rnn: nn.RNNBase, symbols: torch.Tensor) -> torch.Tensor:
    """The outputs ``(B, T, H)`` of the one-layer ``rnn`` (from zero state) for the one-hot inputs
    of ``symbols`` ``(B, T)``: the equations of the module docstring."""
    w_hh, b_hh = rnn.weight_hh_l0, rnn.bias_hh_l0
    drive = F.embedding(symbols, rnn.weight_ih_l0.t()) + rnn.bias_ih_l0  # (B, T, G*H)
    state = drive.new_zeros(symbols.shape[0], rnn.hidden_size)  # (B, H)
    outputs = []
    # unbind once: indexing drive[:, t] in the loop would make backward write a full-size
    # gradient tensor for every step (T times the memory traffic)
    if isinstance(rnn, nn.LSTM):
        cell = state
        for drive_t in (drive + b_hh).unbind(1):  # (B, 4H)
            i, f, g, o = torch.addmm(drive_t, state, w_hh.t()).chunk(4, dim=1)
            cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)  # (B, H)
            state = torch.sigmoid(o) * torch.tanh(cell)
            outputs.append(state)
    elif isinstance(rnn, nn.GRU):
        for drive_t in drive.unbind(1):  # (B, 3H)
            x_r, x_z, x_n = drive_t.chunk(3, dim=1)
            h_r, h_z, h_n = torch.addmm(b_hh, state, w_hh.t()).chunk(3, dim=1)
            reset, update = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)  # (B, H)
            state = torch.lerp(torch.tanh(x_n + reset * h_n), state, update)  # (1-z) n + z h
            outputs.append(state)
    else:
        for drive_t in (drive + b_hh).unbind(1):  # (B, H)
            state = torch.tanh(torch.addmm(drive_t, state, w_hh.t()))
            outputs.append(state)
    return torch.stack(outputs, dim=1)  # (B, T, H)
