"""Multiplication problem: the product of the two marked values (Hochreiter & Schmidhuber 1997)."""

from __future__ import annotations

import math

import torch

from seqtasks._marked import TOLERANCE, MarkedPairs


class Multiply(MarkedPairs):
    """The multiplication problem of Hochreiter & Schmidhuber (1997), Section 5.5 (Experiment 5).

    As :class:`seqtasks.Adding` (same pairs, markers, lengths and padding), except that values are
    uniform in ``[0, 1)``, ``X1`` is set to 1.0 when its mark falls on the first pair (as there,
    ``X2``'s value is kept if its mark does), and the target is the product ``X1 * X2`` (already in
    ``[0, 1]``, no rescaling). A sequence is right when the absolute error is below ``0.04``. Worked
    example, ``length=20, vary_length=False`` (input length 20: no padding):

    ======  =====  =====  =====  ====  =====  ====  =====  ====  =====
    step    0      1      2      ...   4      ...   9      ...   19
    ======  =====  =====  =====  ====  =====  ====  =====  ====  =====
    value   0.12   0.93   0.40   ...   0.75   ...   0.60   ...   0.31
    marker  -1     0      0      ...   1      ...   1      ...   -1
    ======  =====  =====  =====  ====  =====  ====  =====  ====  =====

    ``y = 0.75 * 0.60 = 0.45``. The paper never reached zero errors here: it stopped training once
    fewer than 140 of the last 2000 training sequences were wrong (Table 8, 139 of 2560 test
    sequences wrong), so the problem counts as solved at a within-tolerance ``accuracy`` of 0.93.
    """

    name = "multiply"
    low = 0.0
    first_pair_value = 1.0
    solved_at = 0.93  # 1 - 140 / 2000, the paper's looser stopping point (n_seq = 140)

    def combine(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return first * second

    def _chance(self) -> float:
        # the product of two uniform values has the decreasing density -ln z, so the best constant
        # is the tolerance itself (right for z < 2 * tolerance); with probability 1/10 X1 = 1.
        width = 2 * TOLERANCE
        both = width * (1.0 - math.log(width))
        return 0.9 * both + 0.1 * width
