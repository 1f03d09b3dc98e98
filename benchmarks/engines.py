"""Where the runner's jobs run: a ``concurrent.futures``-style executor, local or Dask.

- ``local`` (the default, no dependency beyond the standard library): with one worker, each job
  runs in this process; with more, a :class:`concurrent.futures.ProcessPoolExecutor` of
  ``workers`` processes started by ``spawn`` (never ``fork``: torch and Lightning hold threads);
- ``dask`` (``pip install seqtasks[dask]``): Dask distributed's :class:`distributed.Client`,
  connected to a running scheduler (``--address tcp://host:8786``, its workers anywhere), or to
  a :class:`distributed.LocalCluster` of ``workers`` processes when no address is given.

Every job is one call of :func:`seqtasks.benchmarks.runner.run_job`, which sets its own torch
threads and seeds (``train()`` seeds everything from the job's seed), so the same job gives the
same row on either engine (its wall seconds aside). Rows are written by the submitting process
as futures complete, keyed by :func:`job_id`: a job is submitted once, and a future has one
result however often its task ran. A Dask worker that dies mid-job (killed, out of memory, its
node gone) loses its task: the scheduler runs it again on another worker, up to
``distributed.scheduler.allowed-failures`` times (Dask's default, 3) before the future fails
with ``KilledWorker``. Exceptions raised by a job are not retried (``retries=0``): the runner
turns them into error rows itself.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import ctypes
import hashlib
import json
import multiprocessing
import platform
import uuid
from collections.abc import Callable, Iterable
from typing import Any

ENGINES = ("local", "dask")
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)


def job_id(job: Any, seconds: float | None) -> str:
    """A job's identity: a hash of what it is and everything that sets its outcome (its
    overrides, seed and wall-clock limit). The same job on another day or machine has the same
    id, so ``--resume`` finds its row; a changed budget or override makes it a new job."""
    limit = job.seconds if job.seconds is not None else seconds
    what = [job.label, list(job.overrides), job.seed, limit, job.extra]
    text = json.dumps(what, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def keep_memory_available() -> bool:
    """Whether :func:`keep_freed_memory` applies here: Linux with glibc."""
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def keep_freed_memory() -> bool:
    """A local pool worker's first call: glibc's malloc keeps the memory a process frees for
    its next allocations (no ``mmap`` for large blocks, no trimming) instead of handing it back
    to the system, so a training step's large tensors are not page-faulted in afresh at every
    step. Values are unchanged; the worker holds on to about its peak memory. What it buys each
    family: ``python -m seqtasks.benchmarks.keep_memory`` (``results/keep_memory.md``). True
    where set; False elsewhere (not glibc), which changes nothing but speed. Not applied to
    Dask's workers, whose memory Dask manages."""
    if not keep_memory_available():
        return False
    libc = ctypes.CDLL("libc.so.6")
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1))


class LocalEngine:
    """This process (one worker) or a spawned process pool (several)."""

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._pool = None
        if workers > 1:
            context = multiprocessing.get_context("spawn")
            self._pool = cf.ProcessPoolExecutor(
                workers, mp_context=context, initializer=keep_freed_memory
            )

    def capacity(self) -> int:
        """Jobs worth having in flight at once."""
        return self.workers

    def submit(self, fn: Callable[..., Any], *args: Any, key: str = "") -> cf.Future:
        if self._pool is not None:
            return self._pool.submit(fn, *args)
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args))
        except BaseException as error:  # the caller sees it through the future, as from a pool
            future.set_exception(error)
        return future

    def wait(self, futures: Iterable[Any]) -> set[Any]:
        """The futures that are done, once at least one is."""
        done, _ = cf.wait(list(futures), return_when=cf.FIRST_COMPLETED)
        return done

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


class DaskEngine:
    """Dask distributed: a scheduler at ``address``, or a local cluster of ``workers``."""

    name = "dask"

    def __init__(self, address: str | None = None, workers: int = 1) -> None:
        try:
            import distributed
        except ImportError:
            raise ImportError(
                "--engine dask needs Dask distributed: pip install 'seqtasks[dask]'"
            ) from None
        self._distributed = distributed
        self.workers, self._cluster = workers, None
        if address is None:  # one single-threaded worker process per job slot
            self._cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            address = self._cluster.scheduler_address
        self.client = distributed.Client(address)

    def capacity(self) -> int:
        """The cluster's worker threads now (workers may join or leave), at least one."""
        return max(1, sum(self.client.nthreads().values()))

    def submit(self, fn: Callable[..., Any], *args: Any, key: str = "") -> Any:
        name = f"seqtasks-{key}-{uuid.uuid4().hex[:8]}"  # unique: a job may be rerun later
        return self.client.submit(fn, *args, pure=False, retries=0, key=name)

    def wait(self, futures: Iterable[Any]) -> set[Any]:
        done, _ = self._distributed.wait(list(futures), return_when="FIRST_COMPLETED")
        return set(done)

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


Engine = LocalEngine | DaskEngine


def make_engine(engine: str = "local", workers: int = 1, address: str | None = None) -> Engine:
    """The engine called ``engine``; refuses a bad combination before anything starts."""
    if engine not in ENGINES:
        raise ValueError(f"--engine {engine!r}: allowed {list(ENGINES)}")
    if workers < 1:
        raise ValueError(f"--workers {workers!r}: need at least 1")
    if address is not None and engine != "dask":
        raise ValueError(f"--address {address!r} needs --engine dask (given --engine {engine})")
    if engine == "local":
        return LocalEngine(workers)
    return DaskEngine(address, workers)


def add_arguments(parser: argparse.ArgumentParser, workers: int = 2) -> None:
    """``--engine``, ``--address`` and ``--workers``: the same flags on every benchmark."""
    engines = "local: this machine's processes (spawn); dask: Dask distributed"
    parser.add_argument("--engine", choices=ENGINES, default="local", help=engines)
    address = "--engine dask: the scheduler, e.g. tcp://10.0.0.1:8786 (default: a LocalCluster)"
    parser.add_argument("--address", default=None, help=address)
    runs = "runs at once (local, or the LocalCluster's processes), 1 torch thread each"
    parser.add_argument("--workers", type=int, default=workers, help=runs)


def from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The runner's engine keywords from parsed :func:`add_arguments` flags; a bad one ends in
    ``parser.error`` (usage, the message, exit status 2)."""
    if args.address is not None and args.engine != "dask":
        parser.error(f"--address {args.address!r} needs --engine dask")
    if args.workers < 1:
        parser.error(f"--workers {args.workers}: need at least 1")
    return {"engine": args.engine, "address": args.address, "workers": args.workers}
