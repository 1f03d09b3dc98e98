"""Option checks that name the option, the value given and what is allowed."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int if it is an integer (Python's or NumPy's, not a bool) in
    ``[low, high]``, else raise TypeError/ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name}={value} is out of range: allowed {_range_text(low, high)}")
    return int(value)


def check_float(name: str, value: Any, low: float, high: float, *, from_low: bool = False) -> float:
    """Return ``value`` as float if it is a real number (Python's or NumPy's, not a bool) in the
    open interval ``(low, high)``, or ``[low, high)`` with ``from_low``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    number = float(value)  # compared as a Python float: NumPy compares in the value's own type
    if not (low <= number if from_low else low < number) or not number < high:  # nan too
        sign = "<=" if from_low else "<"
        raise ValueError(f"{name}={value} is out of range: allowed {low} {sign} {name} < {high}")
    return number


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` as a bool if it is one (Python's or NumPy's), else raise TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r} ({type(value).__name__})")
    return bool(value)


def python_scalars(value: Any) -> Any:
    """``value`` with NumPy scalars, also inside lists and tuples, as Python numbers."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(python_scalars(item) for item in value)
    return value


def check_choice(name: str, value: Any, allowed: Sequence[str], owner: str = "") -> str:
    """Return ``value`` if it is one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        where = f" for {owner}" if owner else ""
        raise ValueError(f"{name}={value!r} is not available{where}: choose one of {list(allowed)}")
    return value


def _device_counts() -> dict[str, int]:
    """How many devices of each type that can hold data this machine has."""
    counts = {"cpu": 1, "mps": int(torch.backends.mps.is_available())}
    for kind in ("cuda", "xpu"):
        module = getattr(torch, kind, None)
        if module is not None and module.is_available():
            counts[kind] = module.device_count()
    return counts


def available_devices() -> list[str]:
    """The devices this machine can generate data on: ``cpu``, then each GPU."""
    devices = []
    for kind, count in _device_counts().items():
        if kind in ("cpu", "mps"):
            devices += [kind] * count
        else:
            devices += [f"{kind}:{index}" for index in range(count)]
    return devices


def check_device(name: str, value: Any) -> torch.device:
    """Return ``value`` as a torch.device that exists here and holds data, else raise.

    ``cuda`` (the current GPU) and ``cuda:N`` need that GPU; ``meta`` tensors hold no values, so
    nothing could be generated on them.
    """
    if isinstance(value, bool) or not isinstance(value, (str, torch.device)):
        raise TypeError(
            f"{name} must be a str or torch.device such as 'cpu' or 'cuda:0', got {value!r} "
            f"({type(value).__name__}); available devices are {available_devices()}"
        )
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError) as error:
        raise ValueError(
            f"{name}={value!r} is not a torch device ({error}): available devices are "
            f"{available_devices()}"
        ) from None
    count = _device_counts().get(device.type, 0)
    if count == 0 or (device.index is not None and device.index >= count):
        if device.type == "meta":
            reason = "meta tensors hold no values"
        elif count == 0:
            reason = f"this machine has no {device.type} device"
        else:
            reason = f"{device.type} device indices here are 0 .. {count - 1}"
        raise ValueError(
            f"{name}={value!r} cannot hold the generated data ({reason}): available devices are "
            f"{available_devices()}"
        )
    return device


def _range_text(low: int | None, high: int | None) -> str:
    if high is None:
        return f">= {low}"
    if low is None:
        return f"<= {high}"
    return f"{low} .. {high}"
