"""Sequence classification: flag every step once the running sum reaches a threshold."""

from __future__ import annotations

import functools
import math

import torch

from seqtasks import _random
from seqtasks._ops import at_least
from seqtasks._validate import check_float, check_int
from seqtasks.base import SequenceTask

CHANCE_ELEMENTS = 2**22  # values drawn to estimate the chance level


class Classify(SequenceTask):
    """Label each step 1 once the running sum of the inputs reaches ``threshold * length``.

    Inputs are ``length`` values uniform in ``[0, 1)`` (float32 on a grid of 2**-24, so every
    running sum is exact in float64). The label at step ``t`` is 1 when
    ``x[0] + ... + x[t] >= threshold * length``, else 0; the default threshold is 1/4 of the length.
    Worked example, ``length=10`` (limit 2.5):

    ====  ====  ====  ====  ====  ====  ====  ====  ====  ====
    0.31  0.67  0.72  0.78  0.50  0.57  0.61  0.37  0.18  0.81   x
    0.31  0.98  1.70  2.48  2.98  3.55  4.16  4.53  4.71  5.52   running sum
    0     0     0     0     1     1     1     1     1     1      y
    ====  ====  ====  ====  ====  ====  ====  ====  ====  ====

    ``one_to_one`` only; targets are 2 classes per step, solved at test accuracy >= 0.99. The
    chance level (always predicting the more frequent label) is estimated on a fixed set of
    ``2**22`` drawn values.
    """

    name = "classify"
    framings = ("one_to_one",)
    encodings = ("real",)

    def __init__(
        self,
        *,
        length: int = 10,
        threshold: float = 0.25,
        framing: str | None = None,
        encoding: str | None = None,
        split: str = "train",
        seed: int = 0,
        num_samples: int | None = None,
        batch_size: int | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__(
            framing=framing, encoding=encoding, split=split, seed=seed,
            num_samples=num_samples, batch_size=batch_size, device=device,
        )  # fmt: skip
        self.length = check_int("length", length, 1)
        self.threshold = check_float("threshold", threshold, 0.0, 1.0)
        # sum >= threshold * length  <=>  sum * 2**24 >= the next integer (sums are on the grid)
        self.limit = math.ceil(self.threshold * self.length * 2**_random.GRID_BITS)
        self.spec = self._build_spec(
            input_length=self.length,
            num_classes=2,
            target_layout="per_step",
            target_length=self.length,
            metric="accuracy",
            solved_threshold=0.99,
        )

    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # values are grid / 2**24: integer running sums of the grid are the exact running sums
        grid = _random.grid(keys, 0, self.length)  # (B, T) int64 in [0, 2**24)
        labels = at_least(grid.cumsum(dim=1), self.limit)  # (B, T)
        return _random.unit(grid), labels  # (B, T) float32, (B, T) int64

    def _chance(self) -> float:
        return _estimate_chance(self.length, self.threshold)


@functools.cache
def _estimate_chance(length: int, threshold: float) -> float:
    """Accuracy of always predicting the more frequent label, on a fixed draw of values.

    Counted in chunks of fewer than 2**15 values (small memory, one thread), with the exact
    integer running sums of :meth:`Classify._make`.
    """
    count = max(1, CHANCE_ELEMENTS // length)
    limit = math.ceil(threshold * length * 2**_random.GRID_BITS)
    stream, chunk, ones = _random.stream_key(0, 3, 0), max(1, (2**15 - 1) // length), 0
    for start in range(0, count, chunk):
        keys = _random.range_keys(stream, start, min(chunk, count - start))
        grid = _random.grid(keys, 0, length)  # (N, T)
        ones += int(at_least(grid.cumsum(dim=1), limit).sum())
    fraction = ones / (count * length)  # integer counts: the mean of the 0/1 labels, exactly
    return max(fraction, 1.0 - fraction)
