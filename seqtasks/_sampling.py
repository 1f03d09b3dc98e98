"""Draws without replacement, one per sample, in whole batches (counter-based, any device)."""

from __future__ import annotations

import torch

from seqtasks._random import _shr, bits, integers_each, use_numpy

UNIT_BITS = 53  # uniform floats in (0, 1) from the top 53 bits of a word


def without_replacement(keys: torch.Tensor, draw: int, pool: int, count: int) -> torch.Tensor:
    """``count`` distinct values of ``0 .. pool-1`` per key, drawn one after another.

    Value ``j`` is the ``r_j``-th smallest value not drawn yet, ``r_j`` uniform in
    ``0 .. pool-1-j``: every ordered choice is equally likely (``np.random.choice(pool, count,
    replace=False)``'s distribution). Uses draws ``draw .. draw+count-1``; ``(B,)`` ->
    ``(B, count)`` int64. The r-th free value is the least fixed point of
    ``v -> r + #{drawn values <= v}``, reached by iterating from ``v = r`` (at most ``j`` times;
    the sequence only grows and stops at the first free value with ``r`` free values below it).
    """
    if not 1 <= count <= pool:
        raise ValueError(f"count={count} distinct values cannot be drawn from pool={pool}")
    ranks = integers_each(keys, tuple(range(draw, draw + count)),
                          tuple(range(pool, pool - count, -1)))  # fmt: skip
    chosen = ranks.clone()  # (B, count): column j becomes value j
    # the CPU stops at the fixed point; elsewhere torch.equal would be a host sync per iteration,
    # and iterating on from the fixed point changes nothing
    stop_early = use_numpy(keys.device)
    for j in range(1, count):
        drawn, rank = chosen[:, :j], ranks[:, j : j + 1]  # (B, j), (B, 1)
        value = rank
        for _ in range(j):
            after = rank + (drawn <= value).sum(dim=1, keepdim=True)  # (B, 1)
            if stop_early and torch.equal(after, value):
                break
            value = after
        chosen[:, j : j + 1] = value
    return chosen


def weighted_without_replacement(
    keys: torch.Tensor, draw: int, log_weights: torch.Tensor, count: int
) -> torch.Tensor:
    """``count`` distinct indices of ``log_weights`` ``(S,)`` per key, in the order of successive
    draws with probabilities proportional to the weights among those left (as
    ``np.random.choice(S, count, replace=False, p=...)``): ``(B,)`` -> ``(B, count)`` int64.

    An exponential race (Efraimidis & Spirakis 2006): index ``i`` finishes at ``E_i / w_i``, ``E_i``
    standard exponential; the order of finishing is the order of successive weighted draws. Ranked
    here by ``log E_i - log w_i`` in float64, which no weight over- or underflows (equal times,
    about 2**-50 likely per pair, would be ordered by ``topk``).
    """
    size = log_weights.shape[0]
    if not 1 <= count <= size:
        raise ValueError(f"count={count} distinct values cannot be drawn from {size}")
    words = bits(keys, draw, size)  # (B, S) int64 bit patterns
    u = (_shr(words, 64 - UNIT_BITS).to(torch.float64) + 0.5) * 2.0**-UNIT_BITS  # (B, S) in (0, 1)
    finish = torch.log(-torch.log(u)) - log_weights.to(keys.device)  # (B, S)
    return torch.topk(finish, count, dim=1, largest=False, sorted=True).indices  # (B, count)
