"""The explicit name -> problem registry behind :func:`make`."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

from seqtasks.adding import Adding
from seqtasks.associative_recall import AssociativeRecall
from seqtasks.base import SequenceTask
from seqtasks.classify import Classify
from seqtasks.copy_memory import CopyMemory
from seqtasks.echo import Echo
from seqtasks.induction_heads import InductionHeads
from seqtasks.memorize import Memorize
from seqtasks.memorize_long import MemorizeLong
from seqtasks.multiply import Multiply
from seqtasks.parity import Parity
from seqtasks.ramp import Ramp
from seqtasks.selective_copy import SelectiveCopy
from seqtasks.subsequence import Subsequence
from seqtasks.temporal_order import TemporalOrder

DATA_OPTIONS = ("split", "seed", "num_samples", "batch_size", "device")  # not the problem's own
PROBLEMS: dict[str, type[SequenceTask]] = {
    "ramp": Ramp,
    "memorize": Memorize,
    "echo": Echo,
    "subsequence": Subsequence,
    "classify": Classify,
    # the long-time-lag experiments of Hochreiter & Schmidhuber (1997)
    "adding": Adding,
    "multiply": Multiply,
    "temporal_order": TemporalOrder,
    "memorize_long": MemorizeLong,
    # the copy-memory benchmark of Arjovsky et al. (2016) and Bai et al. (2018)
    "copy_memory": CopyMemory,
    # content-based recall and state tracking (Zoology, Mamba, Olsson et al., Deletang et al.)
    "associative_recall": AssociativeRecall,
    "selective_copy": SelectiveCopy,
    "induction_heads": InductionHeads,
    "parity": Parity,
}


def register(problem: type[SequenceTask]) -> type[SequenceTask]:
    """Add a problem class under its ``name``; a name that is taken is refused."""
    if not (isinstance(problem, type) and issubclass(problem, SequenceTask)):
        raise TypeError(f"register needs a SequenceTask subclass, got {problem!r}")
    name = getattr(problem, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"register: {problem.__name__} needs a class attribute name (a non-empty "
                        f"str, the name make() takes), got {name!r}")  # fmt: skip
    if problem.name in PROBLEMS:
        raise ValueError(f"a problem named {problem.name!r} is already registered")
    PROBLEMS[problem.name] = problem
    return problem


def available() -> list[str]:
    """Names of the registered problems, in registration order."""
    return list(PROBLEMS)


def init_parameters(cls: type) -> dict[str, Any]:
    """``cls(...)``'s keyword parameters and their defaults (``inspect.Parameter.empty`` where
    there is none): an ``__init__`` that passes ``**kwargs`` on adds those of the class it passes
    them to (the next in the MRO)."""
    found: dict[str, Any] = {}
    for owner in cls.__mro__:
        if "__init__" not in vars(owner):
            continue
        parameters = inspect.signature(vars(owner)["__init__"]).parameters.values()
        for p in parameters:
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                found.setdefault(p.name, p.default)
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            break
    return found


def options(name: str) -> dict[str, Any]:
    """The options problem ``name`` takes, with their defaults (:func:`init_parameters`)."""
    return init_parameters(_problem(name))


def make(name: str, **kwargs: Any) -> SequenceTask:
    """The dataset of problem ``name`` built with ``kwargs``; see each problem class for options."""
    allowed = options(name)
    for key in kwargs:
        if key not in allowed:
            raise TypeError(f"{name} has no option {key!r}: allowed options are {list(allowed)}")
    dataset = _problem(name)(**kwargs)
    spec = dataset.spec
    if spec.is_solved(spec.chance):  # e.g. ramp's window of length - 1: one target, always
        given = ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if k not in DATA_OPTIONS)
        warnings.warn(
            f"{name}({given}): a constant prediction already scores {spec.metric} "
            f"{spec.chance:.4g}, which meets the solved criterion: there is nothing to learn",
            stacklevel=2,
        )
    return dataset


def _problem(name: str) -> type[SequenceTask]:
    if not isinstance(name, str) or name not in PROBLEMS:
        raise ValueError(f"unknown problem {name!r}: choose one of {available()}")
    return PROBLEMS[name]
