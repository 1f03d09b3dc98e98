"""Copy memory: recall a short sequence of symbols after a long blank delay."""

from __future__ import annotations

import math

import torch

from seqtasks._random import integers
from seqtasks._validate import check_choice, check_int
from seqtasks.base import SequenceTask

BLANK, MARKER = 0, 9  # symbols to recall are 1 .. ALPHABET
ALPHABET = 8
VARIANTS = ("bai", "arjovsky")


class CopyMemory(SequenceTask):
    """The copy-memory task (Arjovsky, Shah & Bengio 2016; Bai, Kolter & Koltun 2018).

    Input symbols: ``0`` blank, ``1 .. 8`` the symbols to recall, ``9`` the recall marker
    (Bai et al.'s ids). A sample has ``delay + 2 * symbols`` steps (``T + 20`` at the usual
    ``symbols=10``), with ``S = symbols``:

    - steps ``0 .. S-1``: ``S`` symbols drawn uniformly, independently, from ``1 .. 8``;
    - steps ``S .. S+T-2``: ``T - 1`` blanks;
    - step ``S+T-1``: the marker ``9``, the signal to start recalling;
    - steps ``S+T .. 2S+T-1``: ``variant="bai"`` (default) repeats the marker there (the last
      ``S + 1`` inputs are all ``9``, as Bai et al.'s code and text); ``variant="arjovsky"``
      puts blanks there (the original task: one delimiter, then blanks).

    The target at every step (``one_to_one``) is a blank for the first ``T + S`` steps, then the
    ``S`` symbols in their input order. Worked example, ``delay=4, symbols=3`` (10 steps):

    =====================  ====  ====  ====  ====  ====  ====  ====  ====  ====  ====
    step                   0     1     2     3     4     5     6     7     8     9
    =====================  ====  ====  ====  ====  ====  ====  ====  ====  ====  ====
    x, ``variant="bai"``   5     2     8     0     0     0     9     9     9     9
    x, ``"arjovsky"``      5     2     8     0     0     0     9     0     0     0
    y                      0     0     0     0     0     0     0     5     2     8
    =====================  ====  ====  ====  ====  ====  ====  ====  ====  ====  ====

    Targets are classes ``0 .. 9`` (ten, as in Bai et al.; ``9`` is never a target). The loss is
    cross-entropy averaged over every step, the number Bai et al. report (copy ``T=1000``: LSTM
    0.0204, GRU 0.0197, TCN 3.5e-5). A model without memory can still learn the blanks and that
    a symbol is due after the marker, then guesses it: its best loss is ``S ln 8 / (T + 2S)``
    (:attr:`memoryless_loss`; 0.0204 at ``T=1000``, so that LSTM recalled nothing).

    Solved (our choice; the papers report the loss only): ``exact_match`` >= 0.99, i.e. at least
    99% of test sequences have every step right, all ``S`` recalled symbols included. Per-step
    accuracy would not do: a memoryless model gets ``(T + S + S/8) / (T + 2S)`` of the steps right
    (0.93 at ``T=100``). ``chance`` is 0: one class at every step never gets the blanks and the
    symbols of a sequence both right (a memoryless model's exact match is ``8**-S``).
    """

    name = "copy_memory"
    framings = ("one_to_one",)
    size_options = ("delay", "symbols")

    def __init__(
        self,
        *,
        delay: int = 100,
        symbols: int = 10,
        variant: str = "bai",
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
        self.delay = check_int("delay", delay, 1)  # T - 1 blanks before the marker: T >= 1
        self.symbols = check_int("symbols", symbols, 1)
        self.variant = check_choice("variant", variant, VARIANTS, self.name)
        length = self.delay + 2 * self.symbols
        self.spec = self._build_spec(
            input_length=length,
            num_classes=MARKER + 1,
            target_layout="per_step",
            target_length=length,
            metric="exact_match",
            solved_threshold=0.99,
        )

    @property
    def vocab_size(self) -> int:
        return MARKER + 1

    @property
    def marker_step(self) -> int:
        """The 0-based step of the recall marker: ``symbols + delay - 1``."""
        return self.symbols + self.delay - 1

    @property
    def memoryless_loss(self) -> float:
        """Cross-entropy per step of the best model without memory: ``S ln 8 / (T + 2S)``."""
        return self.symbols * math.log(ALPHABET) / self.spec.input_length

    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        count, length, recall = self.symbols, self.spec.input_length, self.marker_step + 1
        memory = 1 + integers(keys, 0, count, ALPHABET)  # (B, S) in 1 .. 8
        inputs = memory.new_full((len(keys), length), BLANK)  # (B, T + 2S)
        inputs[:, :count] = memory
        inputs[:, self.marker_step] = MARKER
        if self.variant == "bai":  # the recall steps see the marker too
            inputs[:, recall:] = MARKER
        targets = torch.zeros_like(inputs)  # (B, T + 2S)
        targets[:, recall:] = memory
        return inputs, targets

    def _chance(self) -> float:
        return 0.0  # exact match: the targets hold blanks and symbols, no one class fits them all
