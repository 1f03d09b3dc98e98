"""Echo random integer: repeat, at the end, the value seen at a given step."""

from __future__ import annotations

import torch

from seqtasks._random import integers
from seqtasks._validate import check_int
from seqtasks.base import SequenceTask

DEFAULT_LAG = 5


class Echo(SequenceTask):
    """Output, after the last step, the input value ``lag`` steps before the last.

    Inputs are ``length`` random integers in ``[0, vocab)``, fresh every training epoch. Name the
    echoed step either by ``lag`` (0 = the last input, 1 = the one before, ...) or by its 0-based
    ``position``, not both. The default is the specification's example: the 5th value of 10, that
    is ``position=4`` or ``lag=5``. Worked example, ``x = 5 3 2 1 9 9 2 7 1 6``:

    =========================  ======
    target                     y
    =========================  ======
    ``lag=5`` / ``position=4``  ``9``
    ``lag=0`` (current value)   ``6``
    ``lag=1`` (previous value)  ``1``
    =========================  ======

    Targets are one class out of ``vocab``; solved at test accuracy >= 0.99.
    """

    name = "echo"
    size_options = ("length", "vocab")
    framings = ("many_to_one",)

    def __init__(
        self,
        *,
        length: int = 10,
        vocab: int = 100,
        lag: int | None = None,
        position: int | None = None,
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
        if lag is not None and position is not None:
            raise ValueError(
                f"echo takes lag or position, not both: got lag={lag!r} and position={position!r}"
            )
        if position is not None:
            self.position = check_int("position", position, 0, self.length - 1)
        else:
            if lag is None and self.length <= DEFAULT_LAG:
                raise ValueError(
                    f"echo's default target, lag={DEFAULT_LAG}, is outside length={self.length}: "
                    f"pass lag= or position= in 0 .. {self.length - 1}"
                )
            lag = DEFAULT_LAG if lag is None else lag
            self.position = self.length - 1 - check_int("lag", lag, 0, self.length - 1)
        self.spec = self._build_spec(
            input_length=self.length,
            num_classes=self.vocab,
            target_layout="last",
            target_length=1,
            metric="accuracy",
            solved_threshold=0.99,
        )

    @property
    def lag(self) -> int:
        """Steps between the echoed value and the last input."""
        return self.length - 1 - self.position

    @property
    def vocab_size(self) -> int:
        return self.vocab

    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        symbols = integers(keys, 0, self.length, self.vocab)  # (B, T)
        return symbols, symbols[:, self.position]  # (B, T), (B,)

    def _chance(self) -> float:
        return 1.0 / self.vocab
