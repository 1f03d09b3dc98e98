"""Temporal order: classify a sequence by the order of widely separated X and Y symbols."""

from __future__ import annotations

import torch

from seqtasks._ops import fill_before_
from seqtasks._random import constant, integers, integers_each, shift_keys
from seqtasks._validate import check_bool, check_int
from seqtasks.base import SequenceTask

SYMBOLS = "abcdXYEB_"  # ids 0..8: distractors a-d, relevant X Y, start E, trigger B, padding _
X, E, B, PAD = 4, 6, 7, 8
WINDOWS = {  # the paper's positions t (1-based) of the relevant symbols, inclusive
    2: ((10, 20), (50, 60)),
    3: ((10, 20), (33, 43), (66, 76)),
}


class TemporalOrder(SequenceTask):
    """Temporal order, Hochreiter & Schmidhuber (1997), Section 5.6, Tasks 6a and 6b.

    A sequence starts with ``E``, ends with the trigger ``B`` and is otherwise made of distractors
    drawn from ``a b c d``, except at ``num_relevant`` positions ``t1, t2(, t3)`` (counted from 1,
    ``E`` at ``t=1``), each holding ``X`` or ``Y``. Task 6a (``num_relevant=2``): ``t1`` in
    ``[10, 20]``, ``t2`` in ``[50, 60]``, 4 classes; Task 6b (``num_relevant=3``): ``t1`` in
    ``[10, 20]``, ``t2`` in ``[33, 43]``, ``t3`` in ``[66, 76]``, 8 classes. The class, after the
    last step, is the order read as a binary number (``X`` = 0, ``Y`` = 1), which is the paper's
    ``Q R S U`` (6a) or ``Q R S U V A B C`` (6b) in order:

    =======  =====  =====  =====  =====  =====  =====  =====  =====
    class    0      1      2      3      4      5      6      7
    6a       XX     XY     YX     YY
    6b       XXX    XXY    XYX    XYY    YXX    YXY    YYX    YYY
    paper    Q      R      S      U      V      A      B      C
    =======  =====  =====  =====  =====  =====  =====  =====  =====

    With ``vary_length`` (the paper's form, default) a sequence has ``length .. length + length //
    10`` symbols (100 .. 110), left-padded with ``_`` to ``length + length // 10`` steps so that
    every sequence ends on the last step; with ``vary_length=False`` all have ``length``. Symbol
    ids are ``a b c d X Y E B _`` = ``0 .. 8`` (``_`` only exists with ``vary_length``). Worked
    example, 6a, a sequence of 103 symbols padded to 110:

    ======  ======  =====  ========  =====  ========  =====  ========  =====
    step    0 .. 6  7      8 .. 21   22     23 .. 63  64     65 .. 108 109
    symbol  ``_``   ``E``  a b c d   ``Y``  a b c d   ``X``  a b c d   ``B``
    ======  ======  =====  ========  =====  ========  =====  ========  =====

    ``Y`` at ``t1 = 16``, ``X`` at ``t2 = 58``: class ``YX`` = 2 (``S``). ``many_to_one`` only;
    solved when every test sequence is classified right (accuracy 1.0).
    """

    name = "temporal_order"
    framings = ("many_to_one",)

    def __init__(
        self,
        *,
        num_relevant: int = 2,
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
        self.num_relevant = check_int("num_relevant", num_relevant, 2, 3)
        self.windows = WINDOWS[self.num_relevant]
        self.length = check_int("length", length, self.windows[-1][1] + 1)  # B after the last
        self.vary_length = check_bool("vary_length", vary_length)
        self.max_length = self.length + (self.length // 10 if self.vary_length else 0)
        self.spec = self._build_spec(
            input_length=self.max_length,
            num_classes=2**self.num_relevant,
            target_layout="last",
            target_length=1,
            metric="accuracy",
            solved_threshold=1.0,
        )

    @property
    def vocab_size(self) -> int:
        return len(SYMBOLS) if self.vary_length else len(SYMBOLS) - 1

    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        steps = self.max_length
        spans = (steps - self.length + 1, *(high - low + 1 for low, high in self.windows))
        drawn = integers_each(keys, (0, *range(3, 3 + self.num_relevant)), spans)  # (B, 1 + n)
        lengths = self.length + drawn[:, 0]  # (B,) uniform in length .. max_length
        shift = steps - lengths  # (B,) padding: every sequence ends on the last step
        start = shift[:, None]  # (B, 1): the column of each sequence's E
        # distractor j is word j of draw 1: shifted keys put it on column shift + j
        symbols = integers(shift_keys(keys, shift), 1, steps, 4)  # (B, T)
        symbols.scatter_(1, start, E)
        which = integers(keys, 2, self.num_relevant, 2)  # (B, n): 0 = X, 1 = Y
        lows = constant(tuple(low - 1 for low, _ in self.windows), keys.device)  # (n,)
        positions = lows + drawn[:, 1:]  # (B, n), 0-based
        symbols.scatter_(1, start + positions, X + which)
        symbols[:, -1] = B  # the trigger ends every sequence
        powers = 2 ** torch.arange(self.num_relevant - 1, -1, -1, device=keys.device)  # (n,)
        classes = (which * powers).sum(dim=1)  # (B,)
        fill_before_(symbols, shift, steps - self.length, PAD)
        return symbols, classes

    def _chance(self) -> float:
        return 1.0 / 2**self.num_relevant
