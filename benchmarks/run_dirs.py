"""Run directories that outlive a killed run: a job stopped mid-run (a board stopped at the end of a
session, a worker lost) carries on from its last validation the next time it is handed out,
instead of from step 0.

A job given a run directory (``DIR/in-progress/<job id>`` on the leaderboard) trains there and
writes ``checkpoints/last.ckpt`` at every validation (``training.callbacks.LastCheckpoint``). If
that file is there when the job starts, the run resumes from it (``ckpt_path=last``): the same
batches, the same validations, the same row as an uninterrupted run, its seconds aside (the
exact resume of ``tests/test_resume.py``). Once the job has its row the directory is deleted.
A directory with no checkpoint yet (killed before its first validation), or whose ``setup.json``
differs from the job's setup today (``setups``: a default changed since), is emptied first.

Two processes must not run the same job in one directory at once: the runner hands a job out
once at a time, and one board (``--out``) is run by one command at a time.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

IN_PROGRESS = "in-progress"  # the board folder's subfolder of run directories, one per job
SETUP = "setup.json"  # the setup a run directory's checkpoints were trained with


@dataclass(frozen=True)
class Carried:
    """What a killed run had done by its last checkpoint."""

    step: int  # the checkpoint's global step
    seconds: float  # its training seconds before the checkpoint (Lightning's Timer; 0 without)


def carried_over(run_dir: Path) -> Carried | None:
    """The run in ``run_dir`` that a resume carries on, or None (no ``last.ckpt``)."""
    last = run_dir / "checkpoints" / "last.ckpt"
    if not last.is_file():
        return None
    saved = torch.load(last, map_location="cpu", weights_only=False, mmap=True)
    elapsed = saved.get("callbacks", {}).get("Timer", {}).get("time_elapsed", {})
    return Carried(int(saved["global_step"]), float(elapsed.get("train", 0.0)))


@contextlib.contextmanager
def job_directory(
    run_dir: Path | None, setup: dict[str, Any] | None = None
) -> Iterator[tuple[Path, Carried | None]]:
    """The directory a job trains in and what it carries on (None: a fresh run).

    ``run_dir=None``: a temporary directory, removed afterwards. Otherwise ``run_dir``, removed
    once the job is over (a row or an error); a process killed inside leaves it for the resume.
    ``setup`` (``setups.setup_of``) is kept in ``run_dir/setup.json``: a run whose saved setup
    differs (a default changed since it was killed) is not carried on but started again.
    """
    if run_dir is None:
        with tempfile.TemporaryDirectory(prefix="seqtasks-run-") as temporary:
            yield Path(temporary), None
        return
    carried = carried_over(run_dir)
    kept = run_dir / SETUP
    changed = (
        setup is not None
        and kept.is_file()
        and (json.loads(kept.read_text()) != json.loads(json.dumps(setup, default=str)))
    )
    if changed:
        carried = None  # its checkpoint is another model's (a default changed since)
    if carried is None and run_dir.exists():
        shutil.rmtree(run_dir)  # killed before its first checkpoint: nothing to carry on
    run_dir.mkdir(parents=True, exist_ok=True)
    if setup is not None:
        kept.write_text(json.dumps(setup, default=str))
    try:
        yield run_dir, carried
    except Exception:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    shutil.rmtree(run_dir, ignore_errors=True)


def prune(runs_dir: Path, finished: set[str]) -> None:
    """Remove the run directories of jobs that already have their row (``finished`` ids)."""
    if runs_dir.is_dir():
        for run_dir in runs_dir.iterdir():
            if run_dir.name in finished:
                shutil.rmtree(run_dir, ignore_errors=True)
