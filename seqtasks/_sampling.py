"""Draws without replacement, one per sample, in whole batches (counter-based, any device)."""

from __future__ import annotations

import torch

from seqtasks._random import _shr, bits, integers_each

UNIT_BITS = 53  # uniform floats in (0, 1) from the top 53 bits of a word


def without_replacement(keys: torch.Tensor, draw: int, pool: int, count: int) -> torch.Tensor:
    """``count`` distinct values of ``0 .. pool-1`` per key, drawn one after another.

    Value ``j`` is the ``r_j``-th smallest value not drawn yet, ``r_j`` uniform in
    ``0 .. pool-1-j``: every ordered choice is equally likely (``np.random.choice(pool, count,
    replace=False)``'s distribution). Uses draws ``draw .. draw+count-1``; ``(B,)`` ->
    ``(B, count)`` int64. The r-th free value is ``r + #{i : s_i - i <= r}`` for the values
    ``s_0 < s_1 < ...`` drawn so far (``s_i - i`` of them are free below ``s_i``).
    """
    if not 1 <= count <= pool:
        raise ValueError(f"count={count} distinct values cannot be drawn from pool={pool}")
    ranks = integers_each(keys, tuple(range(draw, draw + count)),
                          tuple(range(pool, pool - count, -1)))  # fmt: skip
    chosen = ranks[:, :1].clone()  # (B, 1)
    for j in range(1, count):
        taken = chosen.sort(dim=1).values - torch.arange(j, device=keys.device)  # (B, j)
        rank = ranks[:, j : j + 1]  # (B, 1)
        value = rank + (taken <= rank).sum(dim=1, keepdim=True)  # (B, 1)
        chosen = torch.cat([chosen, value], dim=1)  # (B, j + 1)
    return chosen


def weighted_without_replacement(
    keys: torch.Tensor, draw: int, log_weights: torch.Tensor, count: int
) -> torch.Tensor:
    """``count`` distinct indices of ``log_weights`` ``(S,)`` per key, in the order of successive
    draws with probabilities proportional to the weights among those left (as
    ``np.random.choice(S, count, replace=False, p=...)``): ``(B,)`` -> ``(B, count)`` int64.

    An exponential race (Efraimidis & Spirakis 2006): index ``i`` finishes at ``E_i / w_i``, ``E_i``
    standard exponential; the order of finishing is the order of successive weighted draws. Sorted
    here by ``log E_i - log w_i`` in float64, which no weight over- or underflows.
    """
    size = log_weights.shape[0]
    if not 1 <= count <= size:
        raise ValueError(f"count={count} distinct values cannot be drawn from {size}")
    words = bits(keys, draw, size)  # (B, S) int64 bit patterns
    u = (_shr(words, 64 - UNIT_BITS).to(torch.float64) + 0.5) * 2.0**-UNIT_BITS  # (B, S) in (0, 1)
    finish = torch.log(-torch.log(u)) - log_weights.to(keys.device)  # (B, S)
    order = torch.sort(finish, dim=1, stable=True).indices  # (B, S)
    return order[:, :count]
