"""Echo random subsequences: repeat the whole input, or a contiguous part of it."""

from __future__ import annotations

import torch

from seqtasks._random import integers
from seqtasks._validate import check_int
from seqtasks.base import SequenceTask


class Subsequence(SequenceTask):
    """Repeat the input sequence, or its contiguous part ``start .. start + size - 1``.

    Inputs are ``length`` random integers in ``[0, vocab)``, fresh every training epoch. Worked
    example, ``x = 5 3 2 4 1``:

    ==================================  ==================================================
    framing                             y
    ==================================  ==================================================
    ``many_to_one``                     ``5 3 2 4 1``, all of it after the last input
    ``one_to_one``                      ``5 3 2 4 1``, one value per input step
    ``seq2seq``, ``start=0, size=3``    ``5 3 2``, a sequence of its own length (decoder)
    ==================================  ==================================================

    ``start`` and ``size`` (defaults 0 and 3, or what is left after ``start`` when fewer than 3
    steps are) belong to ``seq2seq`` only. Targets are classes out
    of ``vocab``; solved at test accuracy (per target value) >= 0.99.
    """

    name = "subsequence"
    size_options = ("length", "vocab")
    framings = ("many_to_one", "one_to_one", "seq2seq")

    def __init__(
        self,
        *,
        length: int = 5,
        vocab: int = 10,
        start: int | None = None,
        size: int | None = None,
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
        self.vocab = check_int("vocab", vocab, 2, 2**31 - 1)
        if self.framing == "seq2seq":
            self.start = check_int("start", 0 if start is None else start, 0, self.length - 1)
            size = min(3, self.length - self.start) if size is None else size
            self.size = check_int("size", size, 1, self.length - self.start)
        else:
            for option, value in (("start", start), ("size", size)):
                if value is not None:
                    raise ValueError(
                        f"{option}={value!r} applies to framing='seq2seq' only; framing="
                        f"{self.framing!r} echoes the whole sequence"
                    )
            self.start, self.size = 0, self.length
        layouts = {"many_to_one": "last", "one_to_one": "per_step", "seq2seq": "sequence"}
        self.spec = self._build_spec(
            input_length=self.length,
            num_classes=self.vocab,
            target_layout=layouts[self.framing],
            target_length=self.size,
            metric="accuracy",
            solved_threshold=0.99,
        )

    @property
    def vocab_size(self) -> int:
        return self.vocab

    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        symbols = integers(keys, 0, self.length, self.vocab)  # (B, T)
        targets = symbols[:, self.start : self.start + self.size]  # (B, K)
        if self.spec.target_shape == ():  # many_to_one of a single step: one value, (B,)
            targets = targets[:, 0]
        return symbols, targets

    def _chance(self) -> float:
        return 1.0 / self.vocab
