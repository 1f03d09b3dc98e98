"""Timers and host-sync checks of ``seqtasks.benchmarks.device``.

A timed loop synchronises the device only at its boundaries: before the first and after the last
timed call (``torch.cuda.synchronize``; nothing on the CPU). Inside the loop nothing reads a
tensor's value on the host, so a GPU keeps its queue full.

:func:`host_syncs` records what would make the host wait for the device inside a block of work:

- on CUDA, torch's own sync debugging (``torch.cuda.set_sync_debug_mode("warn")``) reports every
  synchronising call (``.item()``, ``nonzero``, a copy to or from pageable host memory, ...);
- on every device, a dispatch mode records the operations that synchronise a GPU or copy host data
  to it: ``_local_scalar_dense`` (``.item()``, ``bool(t)``, ``int(t)``), ``nonzero``,
  ``masked_select``, ``unique``, ``is_nonzero``, ``equal``, a tensor built from host data (more
  than one value: ``torch.tensor([...])``), and copies between devices. On the CPU this checks the
  code a GPU runs (data generation in its tensor form), without a GPU.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from seqtasks import _random
from seqtasks.models import base

SYNC_OPS = {"_local_scalar_dense", "nonzero", "masked_select", "_unique2", "unique_dim",
            "unique_consecutive", "is_nonzero", "equal"}  # fmt: skip


class Section:
    """A section's deadline, rows and cut work."""

    def __init__(self, name: str, budget: float, deadline: float) -> None:
        self.name, self.budget, self.deadline = name, budget, deadline
        self.started = time.perf_counter()
        self.rows: list[dict[str, Any]] = []
        self.cut: list[str] = []

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def cut_rest(self, items: list[str], reason: str) -> None:
        self.cut.extend(f"{item}: {reason}" for item in items)

    def summary(self) -> dict[str, Any]:
        return {"budget_s": round(self.budget, 1),
                "allowed_s": round(self.deadline - self.started, 1),
                "elapsed_s": round(time.perf_counter() - self.started, 1),
                "rows": self.rows, "cut": self.cut}  # fmt: skip


def error_message(error: BaseException) -> str:
    """An error's type and first line (after an out-of-memory error, the GPU cache is freed)."""
    if isinstance(error, torch.cuda.OutOfMemoryError):
        torch.cuda.empty_cache()
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (a timing boundary); nothing to wait for on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _SyncRecorder(TorchDispatchMode):
    """Names the operations of a block that would make the host wait for a GPU."""

    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.device = device
        self.found: list[str] = []
        self.paused = False  # e.g. inside torch's optimiser step, see ``training_step``

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        if self.paused:
            return func(*args, **kwargs)
        name = func.overloadpacket.__name__
        first = args[0] if args and isinstance(args[0], torch.Tensor) else None
        if name in SYNC_OPS and (first is None or first.device.type == self.device.type):
            self.found.append(f"aten.{name}")
        elif name == "index" and any(i is not None and i.dtype == torch.bool for i in args[1]):
            self.found.append("aten.index by a boolean mask")  # waits for the count of Trues
        elif name == "lift_fresh" and first is not None and first.dim() > 0:
            self.found.append(f"tensor of shape {tuple(first.shape)} from host data")
        elif name == "_to_copy" and first is not None:
            target = kwargs.get("device")
            if target is not None and torch.device(target) != first.device:
                self.found.append(f"copy {first.device} -> {target}")
        elif name == "copy_" and len(args) > 1 and isinstance(args[1], torch.Tensor):
            source = args[1]
            scalar = source.dim() == 0 and source.device.type == "cpu"  # passed by value
            if source.device != args[0].device and not scalar:
                self.found.append(f"copy {source.device} -> {args[0].device}")
        return func(*args, **kwargs)


@contextlib.contextmanager
def gpu_form(on: bool = True) -> Iterator[None]:
    """The form a GPU runs, on the CPU too, in the block: data generated with tensor operations,
    per-step heads read at every step (``models.base.ANSWERED_STEPS_ON_CPU``)."""
    before = _random.NUMPY_ON_CPU, base.ANSWERED_STEPS_ON_CPU
    _random.NUMPY_ON_CPU, base.ANSWERED_STEPS_ON_CPU = (flag and not on for flag in before)
    try:
        yield
    finally:
        _random.NUMPY_ON_CPU, base.ANSWERED_STEPS_ON_CPU = before


class SyncCheck:
    """What :func:`host_syncs` found (``found``); ``recorder.paused`` skips a part of the block."""

    def __init__(self, device: torch.device) -> None:
        self.found: list[str] = []
        self.recorder = _SyncRecorder(device)


def _about_sync_debugging(warning: warnings.WarningMessage) -> bool:
    """The notice torch gives once, when sync debugging is first turned on ("Synchronization debug
    mode is a prototype feature..."): about the tool, not a sync in the checked code."""
    return str(warning.message).startswith("Synchronization debug mode is")


@contextlib.contextmanager
def host_syncs(device: torch.device, tensor_form: bool = True) -> Iterator[SyncCheck]:
    """Collect, in the yielded check's ``found``, what in the block makes the host wait for
    ``device`` (filled when the block ends).

    ``tensor_form``: on the CPU, run the form a GPU runs (:func:`gpu_form`: data from tensor
    operations, not NumPy; per-step heads at every step) while the block runs.
    """
    check = SyncCheck(device)
    recorder = check.recorder
    cuda = device.type == "cuda"
    try:
        with warnings.catch_warnings(record=True) as caught, gpu_form(tensor_form):
            warnings.simplefilter("always")
            if cuda:
                torch.cuda.set_sync_debug_mode("warn")
            with recorder:
                yield check  # the warnings come as each call is made: no sync needed here
    finally:
        if cuda:
            torch.cuda.set_sync_debug_mode("default")
    messages = [str(w.message).splitlines()[0] for w in caught
                if "synchroniz" in str(w.message) and not _about_sync_debugging(w)]  # fmt: skip
    check.found.extend(dict.fromkeys(recorder.found + messages))  # each once, in order


def time_calls(
    call: Callable[[], int],
    device: torch.device,
    seconds: float,
    min_calls: int = 2,
    max_calls: int = 1000,
) -> dict[str, float]:
    """Time ``call`` (which returns the items it handled, e.g. samples) about ``seconds`` long.

    Two warm-up calls come first, each synchronised on its own: the first pays one-off costs
    (allocation, kernel selection), the second gives the estimate that sets how many calls are
    timed (``min_calls`` .. ``max_calls``). The timed calls run back to back with one
    synchronisation after the last.
    """
    sync(device)
    start = time.perf_counter()
    call()
    sync(device)
    first = time.perf_counter() - start
    start = time.perf_counter()
    call()
    sync(device)
    estimate = time.perf_counter() - start
    count = max(min_calls, min(max_calls, int(seconds / max(estimate, 1e-6))))
    items = 0
    start = time.perf_counter()
    for _ in range(count):
        items += call()
    sync(device)
    elapsed = time.perf_counter() - start
    return {"first_s": round(first, 4), "calls": count, "seconds": round(elapsed, 4),
            "calls_per_s": count / elapsed, "items_per_s": items / elapsed}  # fmt: skip


def optimizer_of(model: torch.nn.Module) -> torch.optim.Optimizer:
    """The optimiser of a LightningModule's ``configure_optimizers`` (any of its return forms)."""
    configured = model.configure_optimizers()
    if isinstance(configured, dict):
        configured = configured["optimizer"]
    while isinstance(configured, (list, tuple)):
        configured = configured[0]
    if isinstance(configured, dict):
        configured = configured["optimizer"]
    if not isinstance(configured, torch.optim.Optimizer):
        raise TypeError(f"configure_optimizers returned {type(configured).__name__}, no optimizer")
    return configured


def training_step(
    model: Any, optimizer: torch.optim.Optimizer, batches: Iterator, clip: float | None
) -> Callable[[], int]:
    """One plain training step per call (forward, loss, backward, clipping, optimiser step) on
    the next batch of ``batches``; returns the batch's sequences."""
    parameters = [p for p in model.parameters() if p.requires_grad]

    def step() -> int:
        inputs, targets = next(batches)
        loss = model.training_loss(inputs, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(parameters, clip)
        optimizer.step()
        return len(targets)

    return step


def step_syncs(step: Callable[[], int], optimizer: torch.optim.Optimizer, device: torch.device
               ) -> list[str]:  # fmt: skip
    """What makes the host wait in one call of a training ``step``.

    torch's optimiser step is left out of the dispatch check (on the CPU, AdamW reads its step
    count, a CPU value, with ``.item()``); on CUDA torch's sync debugging still covers it.
    """
    with host_syncs(device) as check:
        pause = optimizer.register_step_pre_hook(lambda *_: setattr(check.recorder, "paused", 1))
        resume = optimizer.register_step_post_hook(lambda *_: setattr(check.recorder, "paused", 0))
        try:
            step()
        finally:
            pause.remove()
            resume.remove()
    return check.found
