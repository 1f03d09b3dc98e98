"""Batch operations that torch runs slowly on the CPU, done there with NumPy (same values).

On other devices (and with ``_random.NUMPY_ON_CPU = False``) each is plain tensor code; tests
compare the two forms bit for bit.
"""

from __future__ import annotations

import numpy as np
import torch

from seqtasks._random import use_numpy


def at_least(values: torch.Tensor, limit: int) -> torch.Tensor:
    """1 where ``values >= limit``, else 0, as int64 of the same shape (one NumPy pass)."""
    if use_numpy(values.device):
        flags = np.empty(values.shape, dtype=np.int64)
        np.greater_equal(values.numpy(), limit, out=flags, casting="unsafe")
        return torch.from_numpy(flags)
    return (values >= limit).to(torch.int64)


def onehot(symbols: torch.Tensor, vocab: int) -> torch.Tensor:
    """``(B, T)`` int64 symbols below ``vocab`` -> ``(B, T, vocab)`` float32 one-hot vectors."""
    if use_numpy(symbols.device):
        count = symbols.numel()
        flat = np.zeros(count * vocab, dtype=np.float32)  # calloc: large ones come zeroed
        positions = np.arange(0, count * vocab, vocab, dtype=np.int64)  # (B * T,)
        positions += symbols.numpy().reshape(-1)
        flat[positions] = 1.0
        return torch.from_numpy(flat).view(*symbols.shape, vocab)
    vectors = symbols.new_zeros((*symbols.shape, vocab), dtype=torch.float32)
    return vectors.scatter_(-1, symbols.unsqueeze(-1), 1.0)  # (B, T, V)


def pair_with_zeros(values: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` values -> ``(B, T, 2)`` pairs ``(value, 0)`` (fill the second with a view)."""
    if use_numpy(values.device):
        pairs = np.zeros((*values.shape, 2), dtype=np.float32)  # (B, T, 2)
        pairs[..., 0] = values.numpy()
        return torch.from_numpy(pairs)
    pairs = values.new_zeros((*values.shape, 2))
    pairs[..., 0] = values
    return pairs


def fill_before_(rows: torch.Tensor, starts: torch.Tensor, width: int, fill: float) -> None:
    """Set ``rows[b, :starts[b]]`` to ``fill`` in place; every ``starts[b] <= width``."""
    if width > 0:
        columns = torch.arange(width, device=rows.device)  # (W,)
        rows[:, :width].masked_fill_(columns[None, :] < starts[:, None], fill)  # (B, W)
