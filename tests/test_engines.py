"""The engines: a Dask cluster on 127.0.0.1 loses a worker mid-job and still gives every row once,
equal to the local engine's (a spawned process pool) but for the wall seconds."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from seqtasks.benchmarks.engines import LocalEngine, keep_memory_available
from seqtasks.benchmarks.keep_memory import refaults
from seqtasks.benchmarks.runner import Job, run_jobs, run_plan
from tests.stub_trainer import stub

TINY = ("task=echo", "task.lag=1", "task.length=2", "data.batch_size=16",
        "data.train_samples=800", "data.val_samples=32", "data.test_samples=32",
        "data.eval_batch_size=32", "trainer.max_steps=600",
        "checkpoint.every_n_steps=0")  # fmt: skip
DASK = str(Path(sys.executable).parent / "dask")
TIMING = ("seconds", "engine")  # a row's keys that depend on where and how fast it ran
BUSY = 0.3  # seconds a worker has been running a job before it is killed
SUMMARY_TIMING = ("seconds", "fit_seconds", "run_dir")


def comparable(row: dict[str, Any]) -> dict[str, Any]:
    """A row without what depends on where and how fast it ran."""
    summary = {k: v for k, v in (row["summary"] or {}).items() if k not in SUMMARY_TIMING}
    return {**{k: v for k, v in row.items() if k not in TIMING}, "summary": summary}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kill_a_busy_worker(client: Any, killed: list[int], stop: threading.Event) -> None:
    """SIGKILL the process of the first worker seen running a job for over BUSY seconds (a job
    of TINY takes several seconds, so the kill lands mid-job on a fast machine too)."""

    def executing(dask_worker: Any) -> tuple[int, int]:  # nested: sent by value, not by name
        return os.getpid(), len(dask_worker.state.executing)

    busy_since: dict[int, float] = {}
    while not stop.is_set() and not killed:
        try:
            states = client.run(executing, on_error="ignore")
        except Exception:  # a worker leaving while asked
            states = {}
        now = time.monotonic()
        for pid, running in states.values():
            if not running:
                busy_since.pop(pid, None)
            elif now - busy_since.setdefault(pid, now) > BUSY:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.1)


@pytest.mark.slow
def test_a_killed_dask_worker_loses_no_row_and_writes_none_twice() -> None:
    distributed = pytest.importorskip("distributed")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    processes = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], **quiet)]  # fmt: skip
    jobs = [Job({"job": index}, TINY, seed=index) for index in range(4)]
    saved: list[dict[str, Any]] = []
    killed: list[int] = []
    stop = threading.Event()
    try:
        time.sleep(2)
        worker = [DASK, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"]
        processes += [subprocess.Popen(worker, **quiet) for _ in range(2)]
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            killer = threading.Thread(target=kill_a_busy_worker, args=(client, killed, stop))
            killer.start()
            rows = run_jobs(jobs, engine="dask", address=address, errors="row",
                            on_row=saved.append, progress=lambda line: None)  # fmt: skip
            stop.set()
            killer.join()
    finally:
        stop.set()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    assert killed, "no worker was killed mid-job: the test proved nothing"
    assert sorted(row["job_id"] for row in saved) == sorted({row["job_id"] for row in saved})
    assert len(saved) == len(jobs) and all(row["engine"] == "dask" for row in rows)
    assert all(row["stopped"] != "error" and row["threads"] == 1 for row in rows)
    local = run_jobs(jobs, workers=2, errors="row", progress=lambda line: None)  # spawn pool
    assert all(row["engine"] == "local" for row in local)
    assert [comparable(row) for row in rows] == [comparable(row) for row in local]


@pytest.mark.skipif(not keep_memory_available(), reason="glibc's malloc only")
def test_local_pool_workers_keep_freed_memory() -> None:
    """A local pool worker reuses a freed 64 MiB block without a page fault; a process started
    as Python starts one faults in every page of it again, every time."""
    engine = LocalEngine(2)
    try:
        kept = engine.submit(refaults).result()
    finally:
        engine.close()
    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as plain:
        default = plain.submit(refaults).result()
    assert kept < 100, kept
    assert default >= 64 * 256, default  # every 4 KiB page of 64 MiB


def dies_at_seed_1(job: Job, seconds: Any = None, errors: str = "row", threads: int = 1) -> dict:
    """A job function whose process dies (as a worker killed for its memory) at seed 1."""
    if job.seed == 1:
        os._exit(1)
    time.sleep(0.5)
    return stub(job, seconds, errors, threads)


class Jobs:  # a fixed list of jobs as a plan
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs

    def next_jobs(self) -> list[Job]:
        jobs, self.jobs = self.jobs, []
        return jobs

    def record(self, job: Job, row: dict) -> None:
        pass


def test_a_local_worker_that_dies_ends_the_run_and_saves_no_row_for_the_jobs_in_flight() -> None:
    saved: list[dict] = []
    jobs = [Job({"model": "plain", "value": 5}, ("task=echo",), seed) for seed in (0, 1, 2)]
    died = (
        r"a worker process died \(.*\); the finished runs' rows are saved; --resume runs the jobs"
    )
    with pytest.raises(RuntimeError, match=died + " that were in flight again"):
        run_plan(Jobs(jobs), workers=2, progress=lambda line: None, on_row=saved.append,
                 job_fn=dies_at_seed_1)  # fmt: skip
    assert all(row["stopped"] != "error" for row in saved), "no error row for a dead worker"
