"""Adding problem: output a scaled sum of the two marked values (Hochreiter & Schmidhuber 1997)."""

from __future__ import annotations

import torch

from seqtasks._marked import TOLERANCE, MarkedPairs


class Adding(MarkedPairs):
    """The adding problem of Hochreiter & Schmidhuber (1997), Section 5.4 (Experiment 4).

    Every step is a pair (value, marker). Values are uniform in ``[-1, 1)``. Exactly two pairs are
    marked with 1.0: one of the first ten (its value is ``X1``) and one of the other pairs among the
    first ``length // 2`` (``X2``). The first and the last pair of a sequence carry the marker -1
    unless marked; every other marker is 0. When ``X1``'s mark falls on the first pair, ``X1`` is
    set to 0 (``X2``'s mark may fall there too; its value is kept). The target, after the last step,
    is ``0.5 + (X1 + X2) / 4``; a sequence is right when the absolute error is below ``0.04``, and
    the problem is solved when every test sequence is right (``accuracy`` 1.0).

    With ``vary_length`` (the paper's form, default) a sequence has ``length .. length + length //
    10`` pairs, drawn uniformly, and is left-padded with ``(0, 0)`` pairs to ``length + length //
    10`` steps, so every sequence ends on the last step; with ``vary_length=False`` every sequence
    has ``length`` pairs. Worked example, ``length=20`` (input length 22), a sequence of 21 pairs:

    ======  =====  =====  =====  =====  ====  =====  ====  =====  ====  =====  =====
    step    0      1      2      3      ...   6      ...   9      ...   20     21
    ======  =====  =====  =====  =====  ====  =====  ====  =====  ====  =====  =====
    value   0      0.37   -0.52  0.81   ...   0.44   ...   -0.20  ...   0.66   -0.09
    marker  0      -1     0      0      ...   1      ...   1      ...   0      -1
    ======  =====  =====  =====  =====  ====  =====  ====  =====  ====  =====  =====

    Step 0 is padding; the marks are pairs 5 and 8 of the sequence (steps 6 and 9), so
    ``y = 0.5 + (0.44 - 0.20) / 4 = 0.56``. Only ``many_to_one`` framing and ``real`` encoding:
    inputs are ``(T, 2)`` float32 (``spec.input_size == 2``), the target a float32 scalar.
    """

    name = "adding"
    low = -1.0
    first_pair_value = 0.0
    solved_at = 1.0

    def combine(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return 0.5 + (first + second) / 4.0

    def _chance(self) -> float:
        # predicting 0.5 is best: right when |X1 + X2| < 4 * tolerance. X1 + X2 of two uniform
        # values is triangular on [-2, 2]; with probability 1/10 the first pair is marked, X1 = 0.
        width = 4 * TOLERANCE
        both = 1.0 - (2.0 - width) ** 2 / 4.0
        return 0.9 * both + 0.1 * width
