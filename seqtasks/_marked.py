"""What the adding and multiplication problems share; variable lengths, left-padded."""

from __future__ import annotations

from typing import ClassVar

import torch

from seqtasks._ops import fill_before_, pair_with_zeros
from seqtasks._random import grid, integers_each, shift_keys, unit
from seqtasks._validate import check_bool, check_int
from seqtasks.base import SequenceTask

TOLERANCE = 0.04  # a sequence is processed correctly when its absolute error is below this
FIRST_WINDOW = 10  # the first mark is one of the first ten pairs


class MarkedPairs(SequenceTask):
    """Sequences of (value, marker) pairs, two of them marked (Hochreiter & Schmidhuber 1997).

    Subclasses set the value range ``[low, 1)``, the value that ``X1`` takes when the very first
    pair is marked, and the target of the two marked values. See :class:`seqtasks.Adding`.
    """

    framings = ("many_to_one",)
    encodings = ("real",)
    target = "reals"
    low: ClassVar[float]  # values are uniform in [low, 1)
    first_pair_value: ClassVar[float]  # X1 when the first pair is the marked one
    solved_at: ClassVar[float]  # the solved threshold of the within-tolerance accuracy

    def __init__(
        self,
        *,
        length: int = 100,
        vary_length: bool = True,
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
        self.length = check_int("length", length, 2 * FIRST_WINDOW)
        self.vary_length = check_bool("vary_length", vary_length)
        self.max_length = self.length + (self.length // 10 if self.vary_length else 0)
        self.spec = self._build_spec(
            input_length=self.max_length,
            num_classes=None,
            target_layout="last",
            target_length=1,
            metric="accuracy",
            solved_threshold=self.solved_at,
            tolerance=TOLERANCE,
            input_size=2,  # value, marker
        )

    def _encode(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs  # already (B, T, 2) float32

    def combine(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """The target of the marked values ``X1``, ``X2`` (float64 ``(B,)`` each)."""
        raise NotImplementedError

    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        steps = self.max_length
        spans = (steps - self.length + 1, FIRST_WINDOW, self.length // 2 - 1)
        drawn = integers_each(keys, (3, 1, 2), spans)  # (B, 3)
        lengths = self.length + drawn[:, 0]  # (B,) uniform in length .. max_length
        shift = steps - lengths  # (B,) padding: every sequence ends on the last step
        start = shift[:, None]  # (B, 1): the column of each sequence's first pair
        first = drawn[:, 1:2]  # (B, 1): one of the first ten pairs
        other = drawn[:, 2:3]  # (B, 1): one of the other first T/2 - 1
        second = other + (other >= first).to(torch.int64)  # (B, 1), skips the first mark
        # the value of pair j is word j of draw 0: shifted keys put it on column shift + j
        # low + (1 - low) * u, u uniform in [0, 1); (1 - low) is a power of two: exact product
        values = unit(grid(shift_keys(keys, shift), 0, steps), 1.0 - self.low, self.low)  # (B, T)
        first_value = torch.where(first == 0, self.first_pair_value, values.gather(1, start))
        values.scatter_(1, start, first_value)  # (B, T)
        columns = torch.cat([start + first, start + second], dim=1)  # (B, 2): the marks
        marked = values.gather(1, columns).double()  # (B, 2)
        targets = self.combine(marked[:, 0], marked[:, 1]).to(torch.float32)  # (B,)
        fill_before_(values, shift, steps - self.length, 0.0)  # padding pairs are (0, 0)
        pairs = pair_with_zeros(values)  # (B, T, 2): (value, marker 0)
        markers = pairs[:, :, 1]  # (B, T) view
        markers.scatter_(1, start, -1.0)
        markers[:, -1] = -1.0  # the last pair of every sequence
        markers.scatter_(1, columns, 1.0)
        return pairs, targets  # (B, T, 2), (B,)
