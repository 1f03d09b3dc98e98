"""The one experiment runner: rows, the time limit, the progress line, errors, dependent jobs."""

from __future__ import annotations

import re
from typing import Any

import pytest

from seqtasks.benchmarks.engines import job_id, make_engine
from seqtasks.benchmarks.runner import Job, describe, max_time, run_job, run_jobs, run_plan

TINY = ("data.batch_size=16", "data.train_samples=160", "data.val_samples=32",
        "data.test_samples=32", "data.eval_batch_size=32")  # fmt: skip


def test_max_time_strings() -> None:
    assert max_time(0.2) == "00:00:00:01"
    assert max_time(61) == "00:00:01:01"
    assert max_time(3725) == "00:01:02:05"


def test_a_row_says_what_ran_and_why_it_stopped() -> None:
    job = Job({"model": "lstm", "what": "echo"}, ("task=echo", "task.lag=1", "trainer.max_steps=3",
              *TINY), seed=2, extra={"note": "kept"})  # fmt: skip
    row = run_job(job)
    assert row["model"] == "lstm" and row["seed"] == 2 and row["note"] == "kept"
    assert row["steps"] == 3 and row["sequences"] == 3 * 16
    assert row["stopped"] == "max_steps" and row["solved"] is False  # no validation within 3 steps
    assert 0 <= row["test_metric"] <= 1 and row["summary"]["options"]["lag"] == 1


def test_time_limit_stops_a_long_run() -> None:
    overrides = ("task=echo", "task.lag=199", "task.length=200", "trainer.max_steps=100000",
                 "data.batch_size=64", "data.train_samples=640000", "data.val_samples=32",
                 "data.test_samples=32", "data.eval_batch_size=32")  # fmt: skip
    row = run_job(Job({"model": "lstm"}, overrides), seconds=2)
    assert row["stopped"] == "time"
    assert 0 < row["steps"] < 100000 and not row["solved"]
    assert row["seconds"] < 60  # 2 s of training, then setup, the final test and tear-down


def test_errors_become_rows_when_asked() -> None:
    job = Job({"model": "mlp"}, ("task=subsequence", "task.framing=seq2seq", "model=mlp", *TINY))
    with pytest.raises(ValueError, match="cannot serve"):
        run_job(job)
    row = run_job(job, errors="row")
    assert row["stopped"] == "error" and row["summary"] is None and not row["solved"]
    assert row["error"].startswith("ConfigError") and "model=mlp" in row["error"]
    assert describe(row, ["model"]) == f"model=mlp seed=0: error: {row['error']}"
    with pytest.raises(ValueError, match="errors='maybe'"):
        run_job(job, errors="maybe")


def test_run_jobs_progress_line_per_job_and_rows_in_job_order() -> None:
    jobs = [Job({"problem": f"ramp {n}"}, ("task=ramp", f"task.length={n}", "trainer.max_steps=2",
                *TINY)) for n in (10, 20)]  # fmt: skip
    lines: list[str] = []
    rows = run_jobs(jobs, progress=lines.append)
    assert [row["problem"] for row in rows] == ["ramp 10", "ramp 20"]
    assert len(lines) == 2
    pattern = r"\[(\d) done, 0 running, \d+ s\] problem=ramp (\d+) seed=0: unsolved after 2 steps"
    matches = [re.match(pattern, line) for line in lines]
    assert all(matches), lines
    assert sorted(m.group(1) for m in matches) == ["1", "2"]
    assert all(row["engine"] == "local" and row["threads"] == 1 for row in rows)
    assert rows[0]["job_id"] == job_id(jobs[0], None) != rows[1]["job_id"]


class TwoStages:
    """A plan whose second job is handed out only once the first is back."""

    def __init__(self) -> None:
        self.handed = False
        self.recorded: list[tuple[str, dict[str, Any]]] = []

    def next_jobs(self) -> list[Job]:
        if not self.recorded and not self.handed:
            self.handed = True
            return [Job({"stage": "first"}, ("task=ramp", "trainer.max_steps=2", *TINY))]
        if len(self.recorded) == 1 and self.handed:
            self.handed = False
            return [Job({"stage": "second"}, ("task=ramp", "model=mlp", "trainer.max_steps=3",
                        *TINY))]  # fmt: skip
        return []

    def record(self, job: Job, row: dict[str, Any]) -> None:
        self.recorded.append((job.label["stage"], row))


def test_run_plan_runs_jobs_that_depend_on_earlier_rows() -> None:
    plan, lines = TwoStages(), []
    rows = run_plan(plan, progress=lines.append)
    assert [stage for stage, _ in plan.recorded] == ["first", "second"]
    assert [row["steps"] for row in rows] == [2, 3]
    assert lines[0].startswith("[1 done, 0 running, ") and "stage=first seed=0" in lines[0]
    assert "stage=second" in lines[1]


def test_run_plan_starts_nothing_after_its_time_limit() -> None:
    plan = TwoStages()
    assert run_plan(plan, time_limit=0.0, progress=lambda line: None) == []
    assert plan.recorded == []


def test_a_known_row_is_recorded_not_run_again() -> None:
    first = TwoStages()
    rows = run_plan(first, progress=lambda line: None)
    known = {row["job_id"]: row for row in rows}
    again, lines = TwoStages(), []
    assert run_plan(again, known=known, progress=lines.append, job_fn=_never) == rows
    assert [stage for stage, _ in again.recorded] == ["first", "second"]
    assert all(line.startswith(f"[{n} done, saved]") for n, line in enumerate(lines, 1))


def _never(*args: Any) -> dict[str, Any]:
    raise AssertionError("a job whose row is known ran again")


def test_job_ids_and_engine_choices() -> None:
    job = Job({"model": "lstm"}, ("task=echo",), seed=1)
    assert job_id(job, 10) == job_id(Job({"model": "lstm"}, ("task=echo",), seed=1), 10)
    assert job_id(job, 10) != job_id(job, 20) != job_id(Job({"model": "lstm"}, ("task=echo",)), 20)
    with pytest.raises(ValueError, match=r"--engine 'spark': allowed \['local', 'dask'\]"):
        make_engine("spark")
    with pytest.raises(ValueError, match="--workers 0: need at least 1"):
        make_engine("local", 0)
    with pytest.raises(ValueError, match="--address 'tcp://x:1' needs --engine dask"):
        make_engine("local", 1, "tcp://x:1")


def test_the_same_job_twice_runs_once_and_a_lost_job_becomes_an_error_row() -> None:
    calls: list[int] = []

    def fake(job: Job, seconds: Any, errors: str, threads: int) -> dict[str, Any]:
        calls.append(job.seed)
        if job.seed == 9:  # as a future whose workers kept dying (Dask's KilledWorker)
            raise RuntimeError("worker died")
        return {**job.label, "seed": job.seed, "solved": True, "steps": 1, "sequences": 1,
                "test_metric": 1.0, "seconds": 0.0, "stopped": "solved"}  # fmt: skip

    jobs = [Job({"n": 1}, ("task=echo",)), Job({"n": 1}, ("task=echo",)), Job({"n": 2}, (), 9)]
    rows = run_plan(_Jobs(jobs), progress=lambda line: None, job_fn=fake)
    assert calls == [0, 9] and len(rows) == 3 and rows[0] == rows[1]
    assert rows[2]["stopped"] == "error" and rows[2]["error"] == "RuntimeError: worker died"
    with pytest.raises(RuntimeError, match="worker died"):
        run_plan(_Jobs(jobs[2:]), progress=lambda line: None, job_fn=fake, errors="raise")


class _Jobs:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs

    def next_jobs(self) -> list[Job]:
        jobs, self.jobs = self.jobs, []
        return jobs

    def record(self, job: Job, row: dict[str, Any]) -> None:
        pass
