"""The one experiment runner: jobs (train.py overrides x seeds) -> rows, quietly, with a time limit.

A job composes the real ``train.py`` config (``training/conf``) with its overrides, runs
:func:`training.run.train` in a temporary run directory (or its own, where a killed run resumes:
``run_dirs``) with no progress bar, no plots and no printing, under a wall-clock limit
(Lightning's ``max_time``), and returns one row::

    {**job.label, "seed", "solved", "steps", "sequences", "test_metric", "seconds", "stopped",
     "threads", "engine", "job_id", "num_parameters", "state_size", "overrides", "setup",
     ["resumed_at_step"], ...}

``solved`` is the problem's criterion on the test set; ``steps``/``sequences`` are those trained
until the first validation that met it (training stops there), or until the run ended unsolved;
``stopped`` is why it ended (``solved``, ``max_steps``, ``time``, ``error``). :func:`run_plan` runs
jobs that depend on earlier rows (a difficulty pushed until it breaks) on an engine (``engines``:
local processes or Dask); :func:`run_jobs` a fixed list. Tables live in ``tables``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from seqtasks.benchmarks.engines import job_id, make_engine
from seqtasks.benchmarks.run_dirs import job_directory
from seqtasks.benchmarks.setups import setup_of
from seqtasks.benchmarks.tables import describe
from seqtasks.training.run import train

Row = dict[str, Any]
SIZE_KEYS = ("num_parameters", "state_size")  # copied from a run's summary when it has them


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


def run_job(job: Job, seconds: float | None = None, errors: str = "raise", threads: int = 1,
            run_dir: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """Train one job with ``threads`` torch threads; returns its row (see the module docstring):
    ``stopped`` is ``solved``, ``max_steps`` or ``time`` (the wall-clock limit). With
    ``errors="row"`` a failing run (e.g. a model that cannot serve the framing) gives a row with
    ``stopped="error"``, its message in ``error`` and ``summary=None``. In ``run_dir``
    (``run_dirs.job_directory``) a killed run resumes from its last validation: the row adds
    ``resumed_at_step``, and ``seconds`` the seconds trained before it."""
    if errors not in ("raise", "row"):
        raise ValueError(f"errors={errors!r}: allowed 'raise' or 'row'")
    torch.set_num_threads(threads)  # set here, in whatever process runs it: rows do not vary
    limit = job.seconds if job.seconds is not None else seconds
    overrides = [*job.overrides, f"seed={job.seed}", "trainer.enable_progress_bar=false",
                 "report.plots=false"]  # fmt: skip
    if limit is not None:
        overrides.append(f"trainer.max_time={max_time(limit)}")
    started = time.perf_counter()
    try:
        setup = setup_of(compose_config(overrides))  # what decides the run (checked on resume)
        with job_directory(run_dir, setup) as (directory, carried):
            cfg = compose_config([*overrides, *(["ckpt_path=last"] if carried else [])], directory)
            with quiet():
                summary = train(cfg)  # seeds everything from cfg.seed itself
    except Exception as error:
        if errors == "raise":
            raise
        row = error_row(job, f"{type(error).__name__}: {error}", time.perf_counter() - started)
        return {**row, "threads": threads}
    stopped, max_steps = "max_steps", cfg.trainer.max_steps
    if summary["solved_at_step"] is not None or max_steps < 0 or summary["steps"] < max_steps:
        stopped = "solved" if summary["solved_at_step"] is not None else "time"
    before = {"resumed_at_step": carried.step} if carried else {}
    seconds = time.perf_counter() - started + (carried.seconds if carried else 0.0)
    made = {"overrides": list(job.overrides), "setup": setup}
    return {**summary_row(job, summary, seconds, stopped), **before, "threads": threads, **made}


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
        **{key: summary[key] for key in SIZE_KEYS if key in summary},
        **job.extra,
        "summary": summary,
    }


def error_row(job: Job, message: str, seconds: float = 0.0) -> dict[str, Any]:
    """The row of a job that did not train: unsolved, no steps, the error's message."""
    nothing = {"solved": 0, "solved_at_step": None, "steps": 0, "samples": 0, "test": {}}
    return {**summary_row(job, nothing, seconds, "error"), "error": message, "summary": None}


DIVERGED = "training diverged"  # a run whose loss went non-finite: unsolved, not an error
DIED = "the finished runs' rows are saved; --resume runs the jobs that were in flight again"


def failed(row: dict[str, Any]) -> bool:
    """A row of a run that errored, for another reason than its own loss diverging."""
    return row.get("stopped") == "error" and DIVERGED not in row.get("error", "")


def run_jobs(jobs: list[Job], seconds: float | None = None, threads: int = 1, workers: int = 1,
             progress: Callable[[str], None] | None = None,
             on_row: Callable[[dict[str, Any]], None] | None = None, errors: str = "raise",
             engine: str = "local", address: str | None = None,
             known: dict[str, Row] | None = None) -> list[Row]:  # fmt: skip
    """:func:`run_plan` of a fixed list of ``jobs``: their rows, in the order of ``jobs`` (a job
    whose id is in ``known`` is not run again)."""
    plan = _Fixed(jobs)
    run_plan(plan, seconds, threads, workers, progress, on_row=on_row, errors=errors,
             engine=engine, address=address, known=known)  # fmt: skip
    return [plan.rows[index] for index in range(len(jobs))]


class _Fixed:  # a fixed list of jobs as a plan; rows by the job's index
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs, self.rows, self._index = list(jobs), {}, {id(j): i for i, j in enumerate(jobs)}

    def next_jobs(self) -> list[Job]:
        jobs, self.jobs = self.jobs, []
        return jobs

    def record(self, job: Job, row: dict[str, Any]) -> None:
        self.rows[self._index[id(job)]] = row


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
    *,
    engine: str = "local",
    address: str | None = None,
    known: dict[str, dict[str, Any]] | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    errors: str = "row",
    job_fn: Callable[..., dict[str, Any]] | None = None,
    runs_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Run the jobs ``plan`` hands out on ``engine`` (``seqtasks.benchmarks.engines``), as many
    at once as it has workers, until it has none left; returns the rows in the order they ended.

    Each row goes to ``plan.record`` (and to ``on_row``) as soon as its job ends, with a
    progress line, keyed by its :func:`~seqtasks.benchmarks.engines.job_id` (``row["job_id"]``):
    a job is submitted once and recorded once. A job whose id is in ``known`` (the rows of an
    earlier run: ``--resume``) is not run again: its row is recorded as it was. No job starts
    once ``time_limit`` seconds have passed. ``job_fn`` (tests) replaces :func:`run_job`; with
    ``errors="row"`` a failing job gives an error row (a local worker that dies ends the run:
    RuntimeError). With ``runs_dir`` each job runs in ``runs_dir/<job id>``, where a job killed
    mid-run resumes (``run_dirs``). The caller checks saved rows first (``setups.check_rows``)."""
    progress, job_fn, known = progress or _stderr, job_fn or run_job, dict(known or {})
    started = time.perf_counter()
    executor = make_engine(engine, workers, address)
    waiting: list[Job] = []
    running: dict[Any, tuple[str, Job]] = {}  # future -> (job id, job)
    twins: dict[str, list[Job]] = {}  # a running job's id -> the same job handed out meanwhile
    ids: dict[int, tuple[Job, str]] = {}
    rows: list[dict[str, Any]] = []
    order = getattr(plan, "priority", lambda job: 0)

    def key_of(job: Job) -> str:  # the job is kept with its id: id(job) cannot be reused
        return ids.setdefault(id(job), (job, job_id(job, seconds)))[1]

    def finish(key: str, job: Job, row: dict[str, Any], new: bool) -> None:
        row = {**row, "job_id": key, **({"engine": executor.name} if new else {})}
        known[key] = row
        if new and on_row is not None:
            on_row(row)
        rows.append(row)
        plan.record(job, row)
        how = f"{len(running)} running, {time.perf_counter() - started:.0f} s" if new else "saved"
        progress(f"[{len(rows)} done, {how}] {describe(row, job.label)}")

    try:
        while True:
            waiting = sorted([*waiting, *plan.next_jobs()], key=order)  # stable: FIFO by default
            late = time_limit is not None and time.perf_counter() - started > time_limit
            done = next((job for job in waiting if key_of(job) in known or key_of(job) in twins),
                        None)  # fmt: skip
            if done is not None:  # its row exists (or is on its way): recorded, never rerun
                waiting.remove(done)
                key = key_of(done)
                if key in twins:
                    twins[key].append(done)
                else:
                    finish(key, done, known[key], new=False)
            elif waiting and not late and len(running) < executor.capacity():
                job = waiting.pop(0)
                key = key_of(job)
                twins[key] = []
                where = {} if runs_dir is None else {"run_dir": runs_dir / key}
                task = functools.partial(job_fn, **where)
                running[executor.submit(task, job, seconds, errors, threads, key=key)] = key, job
            elif running:
                for future in executor.wait(running):
                    key, job = running.pop(future)
                    try:
                        row = future.result()
                    except BrokenProcessPool as error:  # no row for the jobs in flight
                        raise RuntimeError(f"a worker process died ({error}); {DIED}") from error
                    except Exception as error:  # e.g. KilledWorker: its workers kept dying
                        if errors != "row":
                            raise
                        row = error_row(job, f"{type(error).__name__}: {error}")
                    finish(key, job, row, new=True)
                    for twin in twins.pop(key):
                        finish(key, twin, known[key], new=False)
            else:
                break
    finally:
        executor.close()
    return rows


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__,
            "threads": torch.get_num_threads()}  # fmt: skip
