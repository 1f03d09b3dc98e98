"""Parity: is the number of ones among the input bits odd?"""

from __future__ import annotations

import torch

from seqtasks._ops import fill_before_
from seqtasks._random import integers, integers_each
from seqtasks._validate import check_int
from seqtasks.base import SequenceTask
from seqtasks.spec import IGNORE_INDEX

BITS, LENGTH = 0, 1  # random draws


class Parity(SequenceTask):
    """Parity, the state-tracking task of the Chomsky-hierarchy suite (Deletang et al. 2023).

    Inputs are bits, each 0 or 1 with probability 1/2. ``many_to_one`` (the default): the
    target, after the last step, is the parity of the number of ones (1 when odd).
    ``one_to_one``: the target at step ``t`` is the running parity of the bits up to and
    including ``t``. A sequence has ``length`` bits, or, with ``min_length``, a length drawn
    uniformly from ``min_length .. length``, left-padded with 0 bits to ``length`` steps (as
    :class:`seqtasks.Adding` pads), so every sequence ends on the last step. A 0 bit changes no
    parity: the many-to-one target is the same with or without the padding; one-to-one targets of
    padding steps are ``ignore_index`` (-100), not answers.

    Worked example, ``length=6, min_length=2``, a sequence of 4 bits ``1 1 0 1``:

    ======================  ===  ===  ===  ===  ===  ===
    step                    0    1    2    3    4    5
    ======================  ===  ===  ===  ===  ===  ===
    x                       0    0    1    1    0    1
    y, ``one_to_one``       -    -    1    0    0    1
    ======================  ===  ===  ===  ===  ===  ===

    (``-`` is ``ignore_index``.) ``many_to_one``: ``y = 1``, three ones. Targets are classes
    0 and 1; solved at test ``accuracy`` >= 0.99 (over answered steps); ``chance`` is 0.5.

    Deletang et al. train on lengths 1 .. 40, one length per batch, and score lengths 41 .. 500;
    they read the answer after the sequence. Ours mixes lengths in a batch by left-padding, and
    scores a length ``N`` (``report.eval_lengths``) on lengths ``min_length .. N``, since
    ``min_length`` stays. Defaults: ``length=40`` with ``min_length=1``, their training range.
    """

    name = "parity"
    framings = ("many_to_one", "one_to_one")
    size_options = ("length",)

    def __init__(
        self,
        *,
        length: int = 40,
        min_length: int | None = 1,
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
        if min_length is None:  # every sequence has length bits
            min_length = self.length
        self.min_length = check_int("min_length", min_length, 1, self.length)
        per_step = self.framing == "one_to_one"
        self.spec = self._build_spec(
            input_length=self.length,
            num_classes=2,
            target_layout="per_step" if per_step else "last",
            target_length=self.length if per_step else 1,
            metric="accuracy",
            solved_threshold=0.99,
        )

    @property
    def vocab_size(self) -> int:
        return 2

    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = integers(keys, BITS, self.length, 2)  # (B, T)
        spread = self.length - self.min_length + 1
        padding = self.length - self.min_length - integers_each(keys, (LENGTH,), (spread,))[:, 0]
        fill_before_(inputs, padding, self.length - self.min_length, 0)  # (B, T), 0 bits
        running = inputs.cumsum(dim=1) & 1  # (B, T)
        if self.framing == "many_to_one":
            return inputs, running[:, -1].clone()  # (B, T), (B,)
        fill_before_(running, padding, self.length - self.min_length, IGNORE_INDEX)
        return inputs, running

    def _chance(self) -> float:
        return 0.5
