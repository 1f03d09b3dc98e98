"""The spec that tells a model what a problem asks of it."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

from seqtasks._validate import check_choice, check_float, check_int

IGNORE_INDEX = -100  # a class target that carries no answer (PyTorch's cross-entropy default)
CHOICES = {"target": ("classes", "reals"), "target_layout": ("per_step", "last", "sequence"),
           "metric": ("accuracy", "exact_match", "mse")}  # fmt: skip


@dataclass(frozen=True)
class TaskSpec:
    """Everything a model needs to know about a problem, so that it never has to guess.

    Inputs ``x`` are ``(T, input_size)`` float32, or ``(T,)`` int64 symbol ids below ``vocab_size``
    for the ``index`` encoding. Targets are class ids (``target == "classes"``, ``num_classes``
    of them) or real values (``target == "reals"``), laid out as:

    - ``per_step``: one target per input step, ``y`` is ``(T,)``;
    - ``last``: targets after the last input step, ``y`` is ``()`` if ``target_length == 1`` else
      ``(target_length,)``;
    - ``sequence``: a target sequence of its own length (a decoder's), ``y`` is
      ``(target_length,)``.

    A problem is solved when ``metric`` (``accuracy``: the fraction of target values predicted
    right; ``exact_match``: the fraction of samples with every target value right; or ``mse``)
    reaches ``solved_threshold`` on the test set (``<=`` for mse, else ``>=``). ``chance`` is
    that metric for the best constant prediction: one class or value, the same at every target
    of every sample. For real targets with a ``tolerance``, a value
    counts as right when its absolute error is below the tolerance.

    A class target equal to ``ignore_index`` (-100, PyTorch's cross-entropy default) carries no
    answer: a per-step target between a problem's questions, or a padding step. The loss leaves it
    out, ``accuracy`` counts only the answered targets, and ``exact_match`` asks every answered
    target of a sample to be right.
    """

    name: str
    framing: str
    encoding: str
    input_length: int
    input_size: int
    vocab_size: int | None
    target: str
    num_classes: int | None
    target_layout: str
    target_length: int
    metric: str
    solved_threshold: float
    chance: float
    tolerance: float | None = None
    ignore_index: int = IGNORE_INDEX

    def __post_init__(self) -> None:
        """Refuse a field no model could read (a spec made by hand, for a problem of one's own)."""
        for field, allowed in CHOICES.items():
            check_choice(field, getattr(self, field), allowed, "TaskSpec")
        for field in ("input_length", "input_size", "target_length", "vocab_size", "num_classes"):
            if getattr(self, field) is not None or field not in ("vocab_size", "num_classes"):
                check_int(field, getattr(self, field), 1)
        if self.target == "classes" and self.num_classes is None:
            raise ValueError("num_classes=None: class targets need their number of classes")
        check_float("solved_threshold", self.solved_threshold, -math.inf, math.inf)
        check_float("chance", self.chance, -math.inf, math.inf)

    @property
    def target_shape(self) -> tuple[int, ...]:
        """The shape of one sample's ``y``."""
        if self.target_layout == "last" and self.target_length == 1:
            return ()
        return (self.target_length,)

    def is_solved(self, value: float) -> bool:
        """Whether a measured ``metric`` value meets the solved criterion."""
        if hasattr(value, "ndim") and value.ndim == 0:  # a 0-d tensor: metric.compute()
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real):  # nan: never solved
            raise TypeError(f"is_solved needs the measured {self.metric}, a number; got {value!r}")
        if self.metric == "mse":
            return value <= self.solved_threshold
        return value >= self.solved_threshold

    def to_dict(self) -> dict[str, Any]:
        """The spec as a plain dict (for logs and checkpoints)."""
        return asdict(self)
