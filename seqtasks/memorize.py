"""Value memorization: remember the first symbol and repeat it at the end."""

from __future__ import annotations

import torch

from seqtasks._random import integers
from seqtasks._validate import check_int
from seqtasks.base import SequenceTask


class Memorize(SequenceTask):
    """Repeat a sequence's first symbol at its end (Hochreiter & Schmidhuber 1997, Experiment 2).

    There are ``num_sequences`` sequences of ``length`` symbols. Each starts and ends with its own
    marker; between the markers all of them share the middle ``0, 1, ..., length - 3``. Markers are
    the symbols ``length - 2, ..., length - 3 + num_sequences``, so they never occur in the middle.
    A sample is one of the sequences, drawn at random; the input is every symbol but the last.
    Worked example, the defaults ``length=5, num_sequences=2``:

    ===========  ================  ==============  ============
    sequence     x                 y, one_to_one   y, many_to_one
    ===========  ================  ==============  ============
    3 0 1 2 3    ``3 0 1 2``       ``0 1 2 3``     ``3``
    4 0 1 2 4    ``4 0 1 2``       ``0 1 2 4``     ``4``
    ===========  ================  ==============  ============

    After a ``2`` comes ``3`` in one sequence and ``4`` in the other: only a model that remembers
    the first symbol predicts that transition. Targets are classes over ``vocab_size`` symbols.
    Solved: ``one_to_one`` at exact match (every step of a sequence right) >= 0.99, since a
    memoryless model gets all but that one step right; ``many_to_one`` at accuracy >= 0.99.
    """

    name = "memorize"
    framings = ("one_to_one", "many_to_one")
    size_options = ("length", "num_sequences")

    def __init__(
        self,
        *,
        length: int = 5,
        num_sequences: int = 2,
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
        self.length = check_int("length", length, 3)
        self.num_sequences = check_int("num_sequences", num_sequences, 1, 2**20)
        per_step = self.framing == "one_to_one"
        self.spec = self._build_spec(
            input_length=self.length - 1,
            num_classes=self.vocab_size,
            target_layout="per_step" if per_step else "last",
            target_length=self.length - 1 if per_step else 1,
            # per step, only the conflicting last transition needs memory: score whole sequences
            metric="exact_match" if per_step else "accuracy",
            solved_threshold=0.99,
        )

    @property
    def vocab_size(self) -> int:
        return self.length - 2 + self.num_sequences

    def sequences(self, which: torch.Tensor) -> torch.Tensor:
        """The full sequences numbered ``which``: ``(B,)`` int64 -> ``(B, length)`` symbols."""
        markers = (self.length - 2 + which)[:, None]  # (B, 1)
        middle = torch.arange(self.length - 2, device=which.device).expand(len(which), -1)
        return torch.cat([markers, middle, markers], dim=1)  # (B, L)

    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sequences = self.sequences(integers(keys, 0, 1, self.num_sequences)[:, 0])  # (B, L)
        targets = sequences[:, 1:] if self.framing == "one_to_one" else sequences[:, -1]
        return sequences[:, :-1], targets  # (B, L-1), (B, L-1) or (B,)

    def _chance(self) -> float:
        if self.framing == "one_to_one":
            return 0.0  # a constant prediction never gets a whole sequence right
        return 1.0 / self.num_sequences  # equally likely sequences, each with its own last symbol
