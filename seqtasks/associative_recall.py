"""Multi-query associative recall (MQAR): recall the value bound to a key seen earlier."""

from __future__ import annotations

import math

import torch

from seqtasks._random import integers
from seqtasks._sampling import weighted_without_replacement, without_replacement
from seqtasks._validate import check_bool, check_float, check_int
from seqtasks.base import SequenceTask
from seqtasks.spec import IGNORE_INDEX

FILL, GAPS, QUERY, KEYS, VALUES = 0, 1, 2, 1 << 20, 2 << 20  # random draws (keys, values: + j)
POWER_A = 0.01  # Zoology's default power law of the query gaps (one_to_one)


class AssociativeRecall(SequenceTask):
    """Multi-query associative recall, as defined by Arora, Eyuboglu et al. (2023), "Zoology".

    With ``n = num_pairs``, ``V = vocab`` and ``T = length``: keys are ``1 .. V/2 - 1`` and values
    ``V/2 .. V-1`` (``V/2`` rounded down). A sample draws ``n`` distinct keys and ``n`` distinct
    values, in random order, and starts with the key-value block ``k1 v1 k2 v2 ... kn vn``
    (``2n`` steps). ``one_to_one`` (the default): each key is queried exactly once after the
    block, at an even offset: key ``i`` at step ``2n + 2 (g_i - 1)``, where ``g_1, ..., g_n`` are
    distinct slots of ``1 .. (T - 2n) / 2`` drawn one after another with probability
    proportional to ``power_a * g ** (power_a - 1)`` among the slots left (small slots, short
    gaps, are likelier). The target at a query's step is the value bound to its key; every other
    target is ``ignore_index`` (-100). The steps after the block that are not queries hold
    random symbols of ``0 .. V-1`` (``random_non_queries``, the default) or ``0``.
    ``many_to_one``: one query, at the last step, of a key of the block chosen uniformly; the
    target, after the last step, is its value (it has no gaps: a ``power_a`` other than the
    default is refused).

    Worked example, ``length=12, num_pairs=2, vocab=16`` (keys 1..7, values 8..15),
    ``random_non_queries=False``: keys 5, 2 with values 9, 14 make the block ``5 9 2 14``; the
    slots drawn are 2 (key 5, step 4 + 2) and 1 (key 2, step 4 + 0):

    =====  ====  ====  ====  ====  ====  ====  ====  ====  ====  ====  ====  ====
    step   0     1     2     3     4     5     6     7     8     9     10    11
    =====  ====  ====  ====  ====  ====  ====  ====  ====  ====  ====  ====  ====
    x      5     9     2     14    2     0     5     0     0     0     0     0
    y      -     -     -     -     14    -     9     -     -     -     -     -
    =====  ====  ====  ====  ====  ====  ====  ====  ====  ====  ====  ====  ====

    (``-`` is ``ignore_index``.) Targets are classes ``0 .. V-1`` (only values occur); solved at
    test ``accuracy`` >= 0.99 over the queries; ``chance`` is one value in ``V - V/2``. Options
    the definition cannot meet are refused: an odd ``length`` or ``4 * num_pairs > length``
    (``one_to_one``; ``many_to_one`` needs ``2 * num_pairs + 1 <= length``) and
    ``vocab <= length``, as Zoology's generator asserts.

    Ours and Zoology's ``multiquery_ar``: the same definition (its ``gaps`` index 0 is our slot
    1). Zoology draws with NumPy's global generator per example; ours is counter-based and
    batched (successive weighted draws by an exponential race, distinct keys by ranks), so the
    samples differ while the distribution is the same. Zoology's default ``vocab`` is 8192; ours
    is 128, which a small model on a CPU learns in minutes (``vocab=8192`` is one option away).
    ``many_to_one`` is ours. Inputs default to the ``index`` encoding: one-hot vectors of a
    large vocabulary are large.
    """

    name = "associative_recall"
    framings = ("one_to_one", "many_to_one")
    encodings = ("index", "onehot", "scaled")
    size_options = ("length", "num_pairs", "vocab")

    def __init__(
        self,
        *,
        length: int = 64,
        num_pairs: int = 4,
        vocab: int = 128,
        power_a: float = POWER_A,
        random_non_queries: bool = True,
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
        self.length = check_int("length", length, 2)
        self.num_pairs = check_int("num_pairs", num_pairs, 1)
        self.vocab = check_int("vocab", vocab, 4, 2**31 - 1)
        self.power_a = check_float("power_a", power_a, 0.0, math.inf)
        self.random_non_queries = check_bool("random_non_queries", random_non_queries)
        per_step = self.framing == "one_to_one"
        if not per_step and not math.isclose(self.power_a, POWER_A, rel_tol=1e-6):  # float32 too
            raise ValueError(
                f"power_a={self.power_a} applies to framing='one_to_one' only (the query gaps); "
                f"framing={self.framing!r} has one query, at the last step: leave power_a at "
                f"{POWER_A}"
            )
        if per_step and self.length % 2:
            raise ValueError(
                f"length={self.length} is odd: one_to_one queries sit at even offsets after the "
                f"key-value block, allowed an even length"
            )
        needed = 4 * self.num_pairs if per_step else 2 * self.num_pairs + 1
        if needed > self.length:
            rule = "4 * num_pairs" if per_step else "2 * num_pairs + 1"
            raise ValueError(
                f"num_pairs={self.num_pairs} does not fit in length={self.length} ({self.framing}):"
                f" allowed {rule} <= length"
            )
        if self.vocab <= self.length:
            raise ValueError(
                f"vocab={self.vocab} is not above length={self.length}: allowed vocab > length"
            )
        self.spec = self._build_spec(
            input_length=self.length,
            num_classes=self.vocab,
            target_layout="per_step" if per_step else "last",
            target_length=self.length if per_step else 1,
            metric="accuracy",
            solved_threshold=0.99,
        )
        # after the spec, which refuses a length above MAX_STEPS: nothing large is built first
        num_slots = (self.length - 2 * self.num_pairs) // 2
        # on the device that draws: built there once, not copied to it every batch
        slots = torch.arange(1, num_slots + 1, dtype=torch.float64, device=self.device)  # (S,)
        self.log_weights = (self.power_a - 1.0) * torch.log(slots)  # (S,): p(g) ~ a g^(a-1)

    @property
    def vocab_size(self) -> int:
        return self.vocab

    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, half, batch = self.num_pairs, self.vocab // 2, len(keys)
        bound = 1 + without_replacement(keys, KEYS, half - 1, n)  # (B, n) keys in 1 .. V/2-1
        values = half + without_replacement(keys, VALUES, self.vocab - half, n)  # (B, n)
        if self.random_non_queries:
            inputs = integers(keys, FILL, self.length, self.vocab)  # (B, T)
        else:
            inputs = bound.new_zeros((batch, self.length))  # (B, T)
        inputs[:, 0 : 2 * n : 2] = bound
        inputs[:, 1 : 2 * n : 2] = values
        if self.framing == "many_to_one":
            asked = integers(keys, QUERY, 1, n)  # (B, 1): which pair is queried
            inputs[:, -1] = bound.gather(1, asked)[:, 0]
            return inputs, values.gather(1, asked)[:, 0]  # (B, T), (B,)
        slots = weighted_without_replacement(keys, GAPS, self.log_weights, n)  # (B, n): g_i - 1
        steps = 2 * n + 2 * slots  # (B, n): the query of key i
        inputs.scatter_(1, steps, bound)
        targets = torch.full_like(inputs, IGNORE_INDEX)  # (B, T)
        targets.scatter_(1, steps, values)
        return inputs, targets

    def _chance(self) -> float:
        return 1.0 / (self.vocab - self.vocab // 2)
