"""The one experiment runner: jobs (train.py overrides x seeds) -> rows, quietly, with a time limit.

Every benchmark builds its jobs and hands them here; tables and plots live in
``seqtasks.benchmarks.tables``.
A job composes the real ``train.py`` config (``training/conf``) with its overrides, runs
:func:`training.run.train` in a temporary run directory with no progress bar, no plots and no
printing, under a wall-clock limit (Lightning's ``max_time``), and returns one row::

    {**job.label, "seed", "solved", "steps", "sequences", "test_metric", "seconds", "stopped", ...}

``solved`` is the problem's criterion on the test set; ``steps``/``sequences`` are those trained
until the first validation that met it (training stops there), or until the run ended unsolved;
``stopped`` is why it ended (``solved``, ``max_steps``, ``time``, ``error``). :func:`run_jobs` runs
a fixed list of jobs; :func:`run_plan` runs jobs that depend on earlier rows (a difficulty pushed
until it breaks); :func:`run_command` runs one as ``python train.py`` in a subprocess.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import multiprocessing
import os
import platform
import queue
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from hydra import compose, initialize_config_module
from omegaconf import DictConfig
from seqtasks.training.run import train


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
    with initialize_config_module("seqtasks.training.conf", version_base="1.3"):
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


def run_job(job: Job, seconds: float | None = None, errors: str = "raise") -> dict[str, Any]:
    """Train one job; returns its row (see the module docstring).

    ``stopped`` says why training ended: ``solved``, ``max_steps`` or ``time`` (the wall-clock
    limit). With ``errors="row"`` a failing run (e.g. a model that cannot serve the framing) gives
    a row with ``stopped="error"``, its message in ``error`` and ``summary=None``.
    """
    if errors not in ("raise", "row"):
        raise ValueError(f"errors={errors!r}: allowed 'raise' or 'row'")
    limit = job.seconds if job.seconds is not None else seconds
    overrides = [*job.overrides, f"seed={job.seed}", "trainer.enable_progress_bar=false",
                 "report.plots=false"]  # fmt: skip
    if limit is not None:
        overrides.append(f"trainer.max_time={max_time(limit)}")
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="seqtasks-run-") as run_dir:
            cfg = compose_config(overrides, Path(run_dir))
            with quiet():
                summary = train(cfg)
    except Exception as error:
        if errors == "raise":
            raise
        return error_row(job, f"{type(error).__name__}: {error}", time.perf_counter() - started)
    stopped, max_steps = "max_steps", cfg.trainer.max_steps
    if summary["solved_at_step"] is not None or max_steps < 0 or summary["steps"] < max_steps:
        stopped = "solved" if summary["solved_at_step"] is not None else "time"
    return summary_row(job, summary, time.perf_counter() - started, stopped)


def summary_row(job: Job, summary: dict[str, Any], seconds: float, stopped: str) -> dict[str, Any]:
    """A job's row from its run's summary (``train()``'s return value or ``summary.json``)."""
    return {
        **job.label,
        "seed": job.seed,
        "solved": bool(summary["solved"] and summary["solved_at_step"] is not None),
        "steps": summary["steps"],
        "sequences": summary["samples"],
        "test_metric": summary["test"].get(f"test/{summary.get('metric')}"),
        "seconds": round(seconds, 2),
        "stopped": stopped,
        **job.extra,
        "summary": summary,
    }


def error_row(job: Job, message: str, seconds: float = 0.0) -> dict[str, Any]:
    """The row of a job that did not train: unsolved, no steps, the error's message."""
    nothing = {"solved": 0, "solved_at_step": None, "steps": 0, "samples": 0, "test": {}}
    return {**summary_row(job, nothing, seconds, "error"), "error": message, "summary": None}


def describe(row: dict[str, Any], keys: Iterable[str]) -> str:
    """``key=value`` words of a row's label, then its outcome."""
    words = " ".join(f"{key}={row[key]}" for key in keys)
    if row.get("stopped") == "error":
        return f"{words} seed={row['seed']}: error: {row['error']}"
    outcome = "solved" if row["solved"] else "unsolved"
    if row.get("stopped") in ("time", "solved") and not row["solved"]:
        outcome += " (time limit)" if row["stopped"] == "time" else " (validation only)"
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
    on_row: Callable[[dict[str, Any]], None] | None = None,
    errors: str = "raise",
) -> list[dict[str, Any]]:
    """Run ``jobs``, in ``workers`` processes; a progress line per job (stderr unless ``progress``).

    Rows come back in the order of ``jobs`` whatever order the processes finish in; ``on_row``
    gets each row as soon as its job ends (e.g. to save partial results).
    """
    progress = progress or _stderr
    torch.set_num_threads(threads)
    started = time.perf_counter()
    done: dict[int, dict[str, Any]] = {}
    pool = _pool(workers, threads)
    items = [(i, job, seconds, errors) for i, job in enumerate(jobs)]
    results = (_indexed(i) for i in items) if pool is None else pool.imap_unordered(_indexed, items)
    try:
        for index, row in results:
            done[index] = row
            if on_row is not None:
                on_row(row)
            elapsed = time.perf_counter() - started
            line = describe(row, jobs[index].label)
            progress(f"[{len(done)}/{len(jobs)} {elapsed:.0f} s] {line}")
    finally:
        if pool is not None:
            pool.terminate()
    return [done[index] for index in range(len(jobs))]


def _indexed(item: tuple) -> tuple[int, dict[str, Any]]:
    index, job, seconds, *errors = item
    return index, run_job(job, seconds, *errors)


class Plan(Protocol):
    """Jobs that depend on earlier rows: ``next_jobs()`` hands out the jobs that may start now
    (each once), ``record(job, row)`` gets each row as its job ends; an optional ``priority(job)``
    starts waiting jobs lowest first (else in the order handed out)."""

    def next_jobs(self) -> list[Job]: ...

    def record(self, job: Job, row: dict[str, Any]) -> None: ...


def run_plan(
    plan: Plan,
    seconds: float | None = None,
    threads: int = 1,
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
    time_limit: float | None = None,
) -> list[dict[str, Any]]:
    """Run the jobs ``plan`` hands out, ``workers`` at once, until it has none left.

    Each row goes to ``plan.record`` as soon as its job ends (a failing job gives an error row,
    see :func:`run_job`), with a progress line. No job starts once ``time_limit`` seconds have
    passed: the rows of the jobs that ran come back in the order they ended.
    """
    progress = progress or _stderr
    torch.set_num_threads(threads)
    started = time.perf_counter()
    finished: queue.Queue = queue.Queue()
    pool = _pool(workers, threads)
    issued: dict[int, Job] = {}
    waiting: list[Job] = list(plan.next_jobs())
    rows: list[dict[str, Any]] = []
    running = 0
    try:
        while waiting or running:
            late = time_limit is not None and time.perf_counter() - started > time_limit
            while waiting and running < workers and not late:
                index, job = len(issued), waiting.pop(0)
                issued[index] = job
                item = (index, job, seconds, "row")
                if pool is None:
                    finished.put(_indexed(item))
                else:
                    pool.apply_async(_indexed, (item,), callback=finished.put,
                                     error_callback=finished.put)  # fmt: skip
                running += 1
            if not running:
                break
            result = finished.get()
            if isinstance(result, BaseException):
                raise result
            index, row = result
            running, elapsed = running - 1, time.perf_counter() - started
            rows.append(row)
            plan.record(issued[index], row)
            line = f"{len(rows)} done, {running} running, {elapsed:.0f} s"
            progress(f"[{line}] {describe(row, issued[index].label)}")
            waiting.extend(plan.next_jobs())
            waiting.sort(key=getattr(plan, "priority", lambda job: 0))  # stable: FIFO by default
    finally:
        if pool is not None:
            pool.terminate()
    return rows


def run_command(job: Job, seconds: float | None = None) -> dict[str, Any]:
    """Run one job as ``python train.py ...`` in a subprocess, as a user would; its row, with
    ``seconds`` the wall time of the whole command (start-up, imports and the final test)."""
    root = Path(__file__).resolve().parents[1]
    limit = job.seconds if job.seconds is not None else seconds
    with tempfile.TemporaryDirectory(prefix="seqtasks-run-") as run_dir:
        command = [sys.executable, "train.py", f"seed={job.seed}", *job.overrides,
                   f"hydra.run.dir={run_dir}", "trainer.enable_progress_bar=false"]  # fmt: skip
        if limit is not None:
            command.append(f"trainer.max_time={max_time(limit)}")
        started = time.perf_counter()
        done = subprocess.run(command, cwd=root, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
        summary = json.loads((Path(run_dir) / "summary.json").read_text())
    stopped = "ended" if summary["solved_at_step"] is None else "solved"
    return summary_row(job, summary, wall, stopped)


def _pool(workers: int, threads: int) -> Any:
    """``workers`` separate processes, each with ``threads`` torch threads (None for one)."""
    if workers <= 1:
        return None
    context = multiprocessing.get_context("spawn")
    return context.Pool(workers, initializer=torch.set_num_threads, initargs=(threads,))


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__,
            "threads": torch.get_num_threads()}  # fmt: skip
