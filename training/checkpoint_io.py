"""Checkpoint files that are never left half-written."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes a checkpoint to a temporary file beside its target, syncs it, then renames it.

    A rename within one directory is atomic, so a process killed mid-save leaves the previous
    checkpoint whole (and at most a stray ``.NAME.PID.tmp`` file), never a truncated one in its
    place. The next save into the directory (a resumed run's, say) removes the strays of
    processes that no longer run (on POSIX, where that can be asked without touching them).
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"storage_options={storage_options!r}: not supported for local files")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with temporary.open("wb") as handle:
                torch.save(checkpoint, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        remove_strays(path)


def remove_strays(path: Path) -> None:
    """Delete every ``.NAME.PID.tmp`` beside ``path`` whose process PID has ended (POSIX only)."""
    if os.name != "posix":  # elsewhere os.kill(pid, 0) would end the process, not ask about it
        return
    for stray in path.parent.glob(".*.*.tmp"):
        pid = stray.name.removesuffix(".tmp").rsplit(".", 1)[1]
        if pid.isdigit() and int(pid) != os.getpid() and not running(int(pid)):
            stray.unlink(missing_ok=True)


def running(pid: int) -> bool:
    """Whether process ``pid`` exists (POSIX: signal 0 asks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
