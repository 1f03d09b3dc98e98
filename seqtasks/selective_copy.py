"""Selective copying: recall, in order, the data symbols scattered among blanks."""

from __future__ import annotations

import torch

from seqtasks._random import integers
from seqtasks._sampling import without_replacement
from seqtasks._validate import check_bool, check_int
from seqtasks.base import SequenceTask
from seqtasks.spec import IGNORE_INDEX

DATA, PLACES = 0, 1 << 20  # random draws (places: + j)


class SelectiveCopy(SequenceTask):
    """Selective copying (Gu & Dao 2023, "Mamba"; Poli et al. 2024, "MAD").

    With ``n = num_tokens``, ``V = vocab`` and ``T = length``: symbols ``0 .. V-3`` are data,
    ``V-2`` is the blank and ``V-1`` the copy marker. The first ``T - n - 1`` steps hold ``n``
    data symbols, each drawn uniformly from ``0 .. V-3``, in the order they are to be recalled, at
    a uniformly random set of ``n`` of those steps (``selective=True``, the default; blanks on the
    others) or at the first ``n`` steps (``selective=False``: plain copying). Then comes the
    marker, then ``n`` blanks. ``one_to_one`` (default): the targets of the last ``n`` steps are
    the data symbols in order, every other target is ``ignore_index`` (-100). ``seq2seq``: the
    target is the ``n`` data symbols, a sequence of its own.

    Worked example, ``length=11, num_tokens=3, vocab=6`` (data 0..3, blank 4, marker 5): data
    ``3 0 2`` at steps 1, 4 and 5 of the first 7:

    =====  ===  ===  ===  ===  ===  ===  ===  ===  ===  ===  ===
    step   0    1    2    3    4    5    6    7    8    9    10
    =====  ===  ===  ===  ===  ===  ===  ===  ===  ===  ===  ===
    x      4    3    4    4    0    2    4    5    4    4    4
    y      -    -    -    -    -    -    -    -    3    0    2
    =====  ===  ===  ===  ===  ===  ===  ===  ===  ===  ===  ===

    (``-`` is ``ignore_index``; ``seq2seq``'s target is ``3 0 2``.) Targets are classes
    ``0 .. V-3``; solved at test ``accuracy`` >= 0.99 over the recalled symbols; ``chance`` is
    ``1 / (V - 2)``. ``length >= 2 * num_tokens + 1`` and ``vocab >= 3`` are required.

    Ours and MAD's copying generator: the same layout and symbol ids (data ``0 .. V-3``, blank
    ``V-2``, copy marker ``V-1``, ``-100`` where no answer is due); the papers use 16 tokens and a
    vocabulary of 16, at length 4096 (Mamba) or 256 (MAD's default). The anchors draw per example
    with NumPy; ours is counter-based and batched, so
    the samples differ while the distribution is the same. The default here is shorter
    (``length=32, num_tokens=8``) so that a run on a CPU takes minutes (at ``length=64`` the
    default Transformer reached 0.992 validation accuracy after 600 steps, 0.988 on the test
    set); ``seq2seq`` is ours.
    """

    name = "selective_copy"
    framings = ("one_to_one", "seq2seq")
    size_options = ("length", "num_tokens", "vocab")

    def __init__(
        self,
        *,
        length: int = 32,
        num_tokens: int = 8,
        vocab: int = 16,
        selective: bool = True,
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
        self.num_tokens = check_int("num_tokens", num_tokens, 1)
        self.vocab = check_int("vocab", vocab, 3, 2**31 - 1)
        self.selective = check_bool("selective", selective)
        if 2 * self.num_tokens + 1 > self.length:
            raise ValueError(
                f"num_tokens={self.num_tokens} does not fit in length={self.length}: allowed "
                f"2 * num_tokens + 1 <= length"
            )
        per_step = self.framing == "one_to_one"
        self.spec = self._build_spec(
            input_length=self.length,
            num_classes=self.vocab - 2,
            target_layout="per_step" if per_step else "sequence",
            target_length=self.length if per_step else self.num_tokens,
            metric="accuracy",
            solved_threshold=0.99,
        )

    @property
    def vocab_size(self) -> int:
        return self.vocab

    @property
    def marker_step(self) -> int:
        """The 0-based step of the copy marker: ``length - num_tokens - 1``."""
        return self.length - self.num_tokens - 1

    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, marker = self.num_tokens, self.marker_step
        data = integers(keys, DATA, n, self.vocab - 2)  # (B, n)
        inputs = data.new_full((len(keys), self.length), self.vocab - 2)  # (B, T) blanks
        if self.selective:
            places = without_replacement(keys, PLACES, marker, n).sort(dim=1).values  # (B, n)
            inputs.scatter_(1, places, data)
        else:
            inputs[:, :n] = data
        inputs[:, marker] = self.vocab - 1
        if self.framing == "seq2seq":
            return inputs, data  # (B, T), (B, n)
        targets = torch.full_like(inputs, IGNORE_INDEX)  # (B, T)
        targets[:, marker + 1 :] = data
        return inputs, targets

    def _chance(self) -> float:
        return 1.0 / (self.vocab - 2)
