"""Memorization at the paper's scale: Experiment 2 (Tasks 2a, 2b, 2c) of the LSTM paper."""

from __future__ import annotations

import functools

import torch

from seqtasks._ops import fill_before_
from seqtasks._random import integers, shift_keys
from seqtasks._validate import check_choice, check_int
from seqtasks.base import SequenceTask

VARIANTS = ("2a", "2b", "2c")
STOP = 0.1  # 2c: after the q-th distractor, the end symbol e comes with probability 1/10
DEFAULT_MAX_EXTRA = 50  # 2c: cap on the extra distractors k (P(k > 50) = 0.9**51 = 0.46%)
CDF_SCALE = 2**31 - 1  # integer grid of the k draw: the same bits on every device


class MemorizeLong(SequenceTask):
    """Remember a sequence's first symbol over a long lag: Hochreiter & Schmidhuber (1997), 5.2.

    Symbols ``a_1 .. a_m`` have ids ``0 .. m-1``; ``x`` and ``y`` follow them.

    - ``2a`` (Task 2a, noise-free): the two sequences ``(x, a_1, ..., a_{p-1}, x)`` and
      ``(y, a_1, ..., a_{p-1}, y)``; vocabulary ``a_1 .. a_{p-1} x y`` (``p + 1`` symbols). The
      input is the first ``p`` symbols; ``one_to_one`` predicts every next symbol (the paper's
      error signal at every step), ``many_to_one`` only the last. Same data as ``memorize`` with
      ``length=p+1``.
    - ``2b`` (Task 2b, no local regularities): as 2a, but the middle is ``p - 1`` symbols drawn
      uniformly from ``a_1 .. a_{p-1}``, fresh for every sequence; only the last symbol is
      predictable, so ``many_to_one`` only (the paper also judged only the last symbol).
    - ``2c`` (Task 2c, very long lags): ``(b, x, a_i1, ..., a_i(q+k), e, x)`` or the same with
      ``y``; ``p`` distractors ``a_1 .. a_p`` drawn uniformly, then ``e``, ``b``, ``x``, ``y`` =
      ids ``p .. p+3``. After the first ``q`` distractors, each further step is ``e`` with
      probability 1/10, so ``k`` is geometric (lengths ``q + 4 + k``, mean ``q + 13``); here
      ``k <= max_extra`` (the cut tail renormalised). Sequences are left-padded with the symbol
      ``_`` (id ``p + 4``, when ``max_extra > 0``) so that every one ends on the last step.
      ``many_to_one`` only; the input stops after ``e``.

    Worked examples (ids written as symbols), with ``y`` the target after the last input:

    =======================================  ============================  ===========
    options                                  x                             y
    =======================================  ============================  ===========
    ``variant="2a", p=4``                    ``x a1 a2 a3``                ``x``
    ``variant="2b", p=4``                    ``y a3 a1 a3``                ``y``
    ``variant="2c", p=3, q=4, max_extra=3``  ``_ _ b x a2 a2 a1 a3 a3 e``  ``x`` (k = 1)
    =======================================  ============================  ===========

    Targets are classes over the vocabulary. Solved when every test target is right (accuracy
    1.0); the paper asked for 10,000 successive right sequences. Table 2/3 sizes: 2a and 2b at
    ``p=100``; 2c at ``q = p`` from 50 to 1000 (default ``q = p``).
    """

    name = "memorize_long"
    framings = ("many_to_one", "one_to_one")
    size_options = ("p", "q", "max_extra")

    def __init__(
        self,
        *,
        variant: str = "2a",
        p: int = 100,
        q: int | None = None,
        max_extra: int | None = None,
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
        self.variant = check_choice("variant", variant, VARIANTS, self.name)
        if self.variant != "2a" and self.framing == "one_to_one":
            raise ValueError(
                f"framing='one_to_one' needs variant='2a': in variant={self.variant!r} only the "
                "last symbol is predictable; use framing='many_to_one'"
            )
        if self.variant == "2c":
            self.p = check_int("p", p, 1, 2**31 - 6)
            self.q = check_int("q", self.p if q is None else q, 1)
            max_extra = DEFAULT_MAX_EXTRA if max_extra is None else max_extra
            self.max_extra = check_int("max_extra", max_extra, 0)
            input_length = self.q + self.max_extra + 3  # b, x/y, q + k distractors, e
        else:
            self.p = check_int("p", p, 2, 2**31 - 2)
            for option, value in (("q", q), ("max_extra", max_extra)):
                if value is not None:
                    raise ValueError(
                        f"{option}={value!r} applies to variant='2c' only; variant="
                        f"{self.variant!r} sequences are p + 1 = {self.p + 1} symbols long"
                    )
            self.q, self.max_extra = None, None
            input_length = self.p
        self._edges: torch.Tensor | None = None  # the k draw's CDF on the device, made once
        per_step = self.framing == "one_to_one"
        self.spec = self._build_spec(
            input_length=input_length,
            num_classes=self.vocab_size,
            target_layout="per_step" if per_step else "last",
            target_length=input_length if per_step else 1,
            metric="accuracy",
            solved_threshold=1.0,
        )

    @property
    def vocab_size(self) -> int:
        if self.variant == "2c":
            return self.p + 4 + (self.max_extra > 0)  # a_1..a_p, e, b, x, y (, padding)
        return self.p + 1  # a_1..a_{p-1}, x, y

    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        which = integers(keys, 0, 1, 2)  # (B, 1): 0 = x, 1 = y
        if self.variant == "2c":
            return self._make_2c(keys, which)
        p, batch = self.p, len(keys)
        if self.variant == "2a":
            middle = torch.arange(p - 1, device=keys.device).expand(batch, -1)  # (B, p-1)
        else:
            middle = integers(keys, 1, p - 1, p - 1)  # (B, p-1)
        marker = p - 1 + which  # (B, 1)
        sequences = torch.cat([marker, middle, marker], dim=1)  # (B, p+1)
        targets = sequences[:, 1:] if self.framing == "one_to_one" else sequences[:, -1]
        return sequences[:, :-1], targets  # (B, p), (B, p) or (B,)

    def _make_2c(self, keys: torch.Tensor, which: torch.Tensor) -> tuple[torch.Tensor, ...]:
        p, steps = self.p, self.spec.input_length
        e, b, x = p, p + 1, p + 2
        lengths = self.q + self._extra_steps(keys) + 3  # (B,) b, x/y, q + k distractors, e
        shift = steps - lengths  # (B,) padding: every sequence ends on the last step
        start = shift[:, None]  # (B, 1): the column of each sequence's b
        # distractor i is word i of draw 2 and step i + 2: shifted keys put it on shift + 2 + i
        sequences = integers(shift_keys(keys, shift + 2), 2, steps, p)  # (B, T)
        sequences.scatter_(1, start, b).scatter_(1, start + 1, x + which)
        sequences[:, -1] = e
        fill_before_(sequences, shift, self.max_extra, p + 4)
        return sequences, x + which[:, 0]  # (B, T), (B,)

    def _extra_steps(self, keys: torch.Tensor) -> torch.Tensor:
        """``k`` in ``0 .. max_extra`` with P(k) proportional to 0.9**k: ``(B,)`` int64."""
        if self._edges is None or self._edges.device != keys.device:
            edges = extra_step_edges(self.max_extra)
            self._edges = torch.tensor(edges, dtype=torch.int64, device=keys.device)  # (K,)
        draws = integers(keys, 1, 1, CDF_SCALE)[:, 0]  # (B,) uniform in [0, CDF_SCALE)
        return torch.bucketize(draws, self._edges, right=True)

    def _chance(self) -> float:
        if self.framing == "one_to_one":
            return 1.0 / self.p  # every a_i is the target at exactly one of the p steps
        return 0.5  # x or y, equally likely


@functools.cache
def extra_step_edges(max_extra: int) -> list[int]:
    """The CDF of ``k`` (P(k) proportional to 0.9**k, ``k <= max_extra``) on the integer grid.

    ``k`` is the number of edges at or below a draw in ``[0, CDF_SCALE)``. Weights are summed in
    host float64 in order of ``k``; once they underflow to 0 nothing changes, and edges that
    round to ``CDF_SCALE`` are never at or below a draw, so both tails are left out: the work is
    bounded (about 200 edges) whatever ``max_extra`` is, with the same ``k`` for every draw.
    """
    weights = []
    for k in range(max_extra + 1):
        weight = (1 - STOP) ** k
        if weight == 0.0:
            break
        weights.append(weight)
    total, running, edges = sum(weights), 0.0, []
    for weight in weights[:max_extra]:  # the last weight of max_extra + 1 opens no edge
        running += weight
        edge = round(running / total * CDF_SCALE)  # host float64, then integers
        if edge >= CDF_SCALE:
            break
        edges.append(edge)
    return edges
