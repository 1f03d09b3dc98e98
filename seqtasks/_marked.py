"""What the adding and multiplication problems share, and left padding of variable lengths."""

from __future__ import annotations

from typing import ClassVar

import torch

from seqtasks._random import integers, uniform
from seqtasks._validate import check_bool, check_int
from seqtasks.base import SequenceTask

TOLERANCE = 0.04  # a sequence is processed correctly when its absolute error is below this
FIRST_WINDOW = 10  # the first mark is one of the first ten pairs


def draw_lengths(keys: torch.Tensor, draw: int, low: int, high: int) -> torch.Tensor:
    """Sequence lengths uniform in ``[low, high]``: ``(B,)`` keys -> ``(B,)`` int64."""
    return low + integers(keys, draw, 1, high - low + 1)[:, 0]


def left_pad(steps: torch.Tensor, lengths: torch.Tensor, fill: float | int) -> torch.Tensor:
    """Move each row's first ``lengths[b]`` steps to the end of the row and ``fill`` before them.

    ``steps`` is ``(B, T, ...)`` with a sequence's step ``j`` at column ``j``; the result has it at
    column ``T - lengths[b] + j``, so that every sequence ends on the last column.
    """
    total = steps.shape[1]
    columns = torch.arange(total, device=steps.device)  # (T,)
    source = columns[None, :] - (total - lengths)[:, None]  # (B, T): step shown at each column
    valid = source >= 0  # (B, T)
    index = source.clamp(min=0)
    if steps.dim() == 3:
        index, valid = index[..., None].expand_as(steps), valid[..., None]  # (B, T, C)
    moved = steps.gather(1, index)
    return torch.where(valid, moved, torch.full_like(moved, fill))


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
        batch, steps = len(keys), self.max_length
        lengths = draw_lengths(keys, 3, self.length, self.max_length)  # (B,)
        half = self.length // 2
        first = integers(keys, 1, 1, FIRST_WINDOW)  # (B, 1): one of the first ten pairs
        other = integers(keys, 2, 1, half - 1)  # (B, 1): one of the other first T/2 - 1
        second = other + (other >= first).to(torch.int64)  # (B, 1), skips the first mark
        values = self.low + (1.0 - self.low) * uniform(keys, 0, steps)  # (B, T), step j at j
        values[:, 0] = torch.where(first[:, 0] == 0, self.first_pair_value, values[:, 0])
        markers = torch.zeros(batch, steps, device=keys.device)  # (B, T)
        markers[:, 0] = -1.0
        markers.scatter_(1, (lengths - 1)[:, None], -1.0)  # the last step of each sequence
        markers.scatter_(1, first, 1.0).scatter_(1, second, 1.0)
        marked = values.gather(1, torch.cat([first, second], dim=1)).double()  # (B, 2)
        targets = self.combine(marked[:, 0], marked[:, 1]).to(torch.float32)  # (B,)
        pairs = torch.stack([values, markers], dim=-1)  # (B, T, 2)
        if self.vary_length:
            pairs = left_pad(pairs, lengths, 0.0)
        return pairs, targets
