"""The one experiment runner: jobs (train.py overrides x seeds) -> rows, quietly, with a time limit.

Every benchmark builds its jobs and hands them here; tables and plots live in ``benchmarks.tables``.
A job composes the real ``train.py`` config (``training/conf``) with its overrides, runs
:func:`training.run.train` in a temporary run directory with no progress bar, no plots and no
printing, under a wall-clock limit (Lightning's ``max_time``), and returns one row::

    {**job.label, "seed", "solved", "steps", "sequences", "test_metric", "seconds", "summary"}

``solved`` is the problem's criterion on the test set; ``steps``/``sequences`` are those trained
until the first validation that met it (training stops there), or until the run ended unsolved.
"""

from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from training.run import train


@dataclass(frozen=True)
class Job:
    """One training run: what it is (``label``), its ``train.py`` overrides and its seed."""

    label: dict[str, Any]
    overrides: tuple[str, ...]
    seed: int = 0
    seconds: float | None = None  # this job's wall-clock limit (None: the runner's)
    extra: dict[str, Any] = field(default_factory=dict)  # copied into the row as it is


def compose_config(overrides: Iterable[str], run_dir: Path | None = None) -> DictConfig:
    """The ``train.py`` config with ``overrides`` (and ``run_dir`` when given)."""
    extra = [f"+run_dir={run_dir}"] if run_dir is not None else []
    with initialize_config_module("training.conf", version_base="1.3"):
        return compose("config", overrides=[*overrides, *extra])


def max_time(seconds: float) -> str:
    """Lightning's ``max_time`` string (DD:HH:MM:SS) for a limit of ``seconds`` (at least 1)."""
    total = max(1, round(seconds))
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    return f"00:{hours:02d}:{minutes:02d}:{secs:02d}"


@contextlib.contextmanager
def quiet() -> Any:
    """No prints, warnings or Lightning log lines from inside a run."""
    loggers = [logging.getLogger(name) for name in ("lightning", "lightning.pytorch")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def run_job(job: Job, seconds: float | None = None) -> dict[str, Any]:
    """Train one job; returns its row (see the module docstring)."""
    limit = job.seconds if job.seconds is not None else seconds
    overrides = [*job.overrides, f"seed={job.seed}", "trainer.enable_progress_bar=false",
                 "report.plots=false"]  # fmt: skip
    if limit is not None:
        overrides.append(f"trainer.max_time={max_time(limit)}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="seqtasks-run-") as run_dir:
        cfg = compose_config(overrides, Path(run_dir))
        with quiet():
            summary = train(cfg)
    metric = f"test/{summary['metric']}"
    return {
        **job.label,
        "seed": job.seed,
        "solved": bool(summary["solved"] and summary["solved_at_step"] is not None),
        "steps": summary["steps"],
        "sequences": summary["samples"],
        "test_metric": summary["test"].get(metric),
        "seconds": round(time.perf_counter() - started, 2),
        **job.extra,
        "summary": summary,
    }


def describe(row: dict[str, Any], keys: Iterable[str]) -> str:
    """``key=value`` words of a row's label, then its outcome."""
    words = " ".join(f"{key}={row[key]}" for key in keys)
    outcome = "solved" if row["solved"] else "unsolved"
    return (
        f"{words} seed={row['seed']}: {outcome} after {row['steps']} steps "
        f"({row['sequences']:,} sequences), test {row['test_metric']:.4g}, {row['seconds']:.1f} s"
    )


def run_jobs(
    jobs: list[Job],
    seconds: float | None = None,
    threads: int = 1,
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run ``jobs``, in ``workers`` processes; a progress line per job (stderr unless ``progress``).

    Rows come back in the order of ``jobs`` whatever order the processes finish in.
    """
    if progress is None:

        def progress(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

    torch.set_num_threads(threads)
    started = time.perf_counter()
    done: dict[int, dict[str, Any]] = {}
    pool = None
    if workers > 1:  # separate processes, each with `threads` torch threads
        context = multiprocessing.get_context("spawn")
        pool = context.Pool(workers, initializer=torch.set_num_threads, initargs=(threads,))
        results = pool.imap_unordered(_indexed, [(i, job, seconds) for i, job in enumerate(jobs)])
    else:
        results = (_indexed((i, job, seconds)) for i, job in enumerate(jobs))
    try:
        for index, row in results:
            done[index] = row
            elapsed = time.perf_counter() - started
            line = describe(row, jobs[index].label)
            progress(f"[{len(done)}/{len(jobs)} {elapsed:.0f} s] {line}")
    finally:
        if pool is not None:
            pool.terminate()
    return [done[index] for index in range(len(jobs))]


def _indexed(item: tuple[int, Job, float | None]) -> tuple[int, dict[str, Any]]:
    index, job, seconds = item
    return index, run_job(job, seconds)


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
