"""Option checks that name the option, the value given and what is allowed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` if it is an int in ``[low, high]``, else raise TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name}={value} is out of range: allowed {_range_text(low, high)}")
    return value


def check_float(name: str, value: Any, low: float, high: float) -> float:
    """Return ``value`` as float if it is a real number in the open interval ``(low, high)``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    if not low < value < high:
        raise ValueError(f"{name}={value} is out of range: allowed {low} < {name} < {high}")
    return float(value)


def check_choice(name: str, value: Any, allowed: Sequence[str], owner: str = "") -> str:
    """Return ``value`` if it is one of ``allowed``."""
    if value not in allowed:
        where = f" for {owner}" if owner else ""
        raise ValueError(f"{name}={value!r} is not available{where}: choose one of {list(allowed)}")
    return value


def _range_text(low: int | None, high: int | None) -> str:
    if high is None:
        return f">= {low}"
    if low is None:
        return f"<= {high}"
    return f"{low} .. {high}"
