"""Induction heads: after the trigger symbol appears again, output what followed it before."""

from __future__ import annotations

import torch

from seqtasks._random import integers
from seqtasks._validate import check_int
from seqtasks.base import SequenceTask

SYMBOLS, TRIGGER_STEP = 0, 1  # random draws


class InductionHeads(SequenceTask):
    """Induction heads (Olsson et al. 2022; the synthetic task of Gu & Dao 2023, "Mamba").

    With ``V = vocab`` and ``T = length``: the trigger is symbol ``V-1``; every other step holds a
    symbol drawn uniformly from ``0 .. V-2``. The trigger appears exactly once before the last
    step, at a step ``p`` drawn uniformly from ``0 .. T-3``, and is followed by a symbol ``X``
    (step ``p+1``). The last step is the trigger again; the target, after it, is ``X``
    (``many_to_one``). A model trained at one length can be scored at others
    (``report.eval_lengths``): the spec's classes and inputs do not depend on the length.

    Worked example, ``length=8, vocab=6`` (trigger 5), ``p = 2``:

    =====  ===  ===  ===  ===  ===  ===  ===  ===  =====
    step   0    1    2    3    4    5    6    7    y
    =====  ===  ===  ===  ===  ===  ===  ===  ===  =====
    x      3    0    5    4    1    4    2    5    ``4``
    =====  ===  ===  ===  ===  ===  ===  ===  ===  =====

    Targets are classes ``0 .. V-2``; solved at test ``accuracy`` >= 0.99; ``chance`` is
    ``1 / (V - 1)``. ``length >= 3`` and ``vocab >= 3``.

    Ours and the anchors: Mamba's paper trains at length 256 with vocabulary 16 and scores up to
    length 2**20; its generator is not in the public repository, so ours follows the description
    (one trigger before the end, the answer the symbol after it). ``X`` may equal any non-trigger
    symbol, and may occur elsewhere too. Ours is counter-based and batched. The default is
    shorter (``length=32``) so that a CPU run takes minutes: the default Transformer solved it in
    400 steps, its loss flat at chance until a sudden drop after step 350 (the phase change
    Olsson et al. describe); at ``length=64`` it had not left chance after 200 steps.
    """

    name = "induction_heads"
    framings = ("many_to_one",)
    size_options = ("length", "vocab")

    def __init__(
        self,
        *,
        length: int = 32,
        vocab: int = 16,
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
        self.vocab = check_int("vocab", vocab, 3, 2**31 - 1)
        self.spec = self._build_spec(
            input_length=self.length,
            num_classes=self.vocab - 1,
            target_layout="last",
            target_length=1,
            metric="accuracy",
            solved_threshold=0.99,
        )

    @property
    def vocab_size(self) -> int:
        return self.vocab

    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        trigger = self.vocab - 1
        inputs = integers(keys, SYMBOLS, self.length, trigger)  # (B, T) in 0 .. V-2
        first = integers(keys, TRIGGER_STEP, 1, self.length - 2)  # (B, 1): p in 0 .. T-3
        inputs.scatter_(1, first, trigger)
        inputs[:, -1] = trigger
        return inputs, inputs.gather(1, first + 1)[:, 0]  # (B, T), (B,)

    def _chance(self) -> float:
        return 1.0 / (self.vocab - 1)
