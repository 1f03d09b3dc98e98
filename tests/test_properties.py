"""Property tests: any options either build a dataset whose batches match its spec, or are refused
with a ValueError/TypeError naming an option; an epoch of any size costs O(batch).

Examples per test follow the Hypothesis profile ``seqtasks`` of conftest.py (set
``HYPOTHESIS_PROFILE=thorough`` for ten times as many). Every example runs under an alarm, so a
hang fails instead of blocking. The generator's own properties are in test_generator.py.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
import torch
from hypothesis import event, given
from hypothesis import strategies as st

import seqtasks
from seqtasks import _random
from seqtasks.base import SequenceTask
from seqtasks.registry import PROBLEMS

# values a careless or adversarial user passes, for any option
JUNK = [0, -7, 2**31, 2**63, 10**12, 1e12, float("nan"), float("inf"), -0.0, 2.5, True, False,
        "", "cuda", "cuda:7", "meta", "cpu", [1], {}, None]  # fmt: skip
WORDS = ["one_to_one", "many_to_one", "seq2seq", "onehot", "index", "scaled", "real",
         "train", "val", "test", "2a", "2b", "2c"]  # fmt: skip
SMALL = st.integers(-3, 130)  # bounded so that every dataset that builds generates quickly
HUGE_OR_NEGATIVE = st.integers(max_value=-1) | st.integers(min_value=2**40)  # cheap to accept


@contextlib.contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in this (main) thread if the block runs longer than ``seconds``."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer within {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def option_values(problem: str, name: str, default: Any, plausible: bool) -> st.SearchStrategy:
    """Values for one option: near its valid range, plus junk unless only ``plausible`` ones."""
    cls = PROBLEMS[problem]
    choices = {"framing": cls.framings, "encoding": cls.encodings,
               "split": ("train", "val", "test"), "variant": ("2a", "2b", "2c")}  # fmt: skip
    if name == "device":
        good = st.sampled_from(["cpu", torch.device("cpu")])
    elif name in choices:
        good = st.sampled_from(choices[name]) if plausible else st.sampled_from(WORDS)
    elif name == "num_samples":
        good = st.integers(1, 70) | st.sampled_from([10**12, 2**62])
    elif name == "batch_size":
        good = st.integers(1, 70)
    elif name == "seed":
        good = st.integers(0, 2**63 - 1)
    elif isinstance(default, bool):
        good = st.booleans()
    elif isinstance(default, float):  # a few values: every new one costs a chance estimate
        good = st.sampled_from([0.05, 0.25, 0.5, 0.9]) if plausible else st.floats(0.01, 0.99)
    else:
        good = st.integers(1, 12) | st.integers(0, 130) if plausible else SMALL
    return good if plausible else good | st.sampled_from(JUNK) | HUGE_OR_NEGATIVE


@st.composite
def problem_options(draw: st.DrawFn, name: str, plausible: bool) -> dict[str, Any]:
    """A subset of the options of problem ``name`` with drawn values."""
    chosen = {}
    for option, default in seqtasks.options(name).items():
        if draw(st.booleans()):
            chosen[option] = draw(option_values(name, option, default, plausible))
    return chosen


def check_refusal(error: Exception, options: dict[str, Any]) -> None:
    """A refusal names an option that was given and no internal variable."""
    message = str(error)
    assert any(re.search(rf"\b{re.escape(key)}\b", message) for key in options), message
    assert not re.search(r"\bhigh=|Traceback|assert", message), message


def check_batch(dataset: SequenceTask, inputs: torch.Tensor, targets: torch.Tensor) -> None:
    """``inputs, targets`` (one batch, or one sample when batch_size is None) match the spec."""
    spec = dataset.spec
    lead = () if dataset.batch_size is None else (len(targets),)
    if dataset.batch_size is not None:
        assert 1 <= len(targets) <= dataset.batch_size
    if spec.encoding == "index":
        assert inputs.shape == (*lead, spec.input_length) and inputs.dtype == torch.int64
        assert int(inputs.min()) >= 0 and int(inputs.max()) < spec.vocab_size
    else:
        assert inputs.shape == (*lead, spec.input_length, spec.input_size)
        assert inputs.dtype == torch.float32 and bool(torch.isfinite(inputs).all())
        if spec.encoding == "onehot":
            assert bool(((inputs == 0) | (inputs == 1)).all()) and bool((inputs.sum(-1) == 1).all())
        if spec.encoding == "scaled":
            assert float(inputs.min()) >= 0 and float(inputs.max()) <= 1
    assert targets.shape == (*lead, *spec.target_shape)
    if spec.target == "classes":
        assert targets.dtype == torch.int64
        answered = targets[targets != spec.ignore_index]  # ignore_index: no answer there
        assert answered.numel() > 0 and int(answered.min()) >= 0
        assert int(answered.max()) < spec.num_classes
    else:
        assert targets.dtype == torch.float32 and bool(torch.isfinite(targets).all())
    assert inputs.device == targets.device == dataset.device


def build_and_check(name: str, options: dict[str, Any]) -> None:
    with alarm(60):
        try:
            dataset = seqtasks.make(name, **options)
        except (ValueError, TypeError) as error:
            check_refusal(error, options)
            event(f"refused: {type(error).__name__}")
            return
        event("built")
        size = dataset.batch_size or 1
        assert len(dataset) == -(-dataset.num_samples // size)  # batches, or single samples
        first = next(iter(dataset))
        check_batch(dataset, *first)
        count = 1 if dataset.batch_size is None else len(first[1])
        again = dataset.generate(0, count)
        lead = (lambda t: t[None]) if dataset.batch_size is None else (lambda t: t)
        assert all(torch.equal(lead(a), b) for a, b in zip(first, again, strict=True))


@pytest.mark.parametrize("name", PROBLEMS)
@given(data=st.data())
def test_any_options_build_a_dataset_that_matches_its_spec_or_are_refused(name, data) -> None:
    build_and_check(name, data.draw(problem_options(name, plausible=False)))


@pytest.mark.parametrize("name", PROBLEMS)
@given(data=st.data())
def test_plausible_options_build_a_dataset_that_matches_its_spec_or_are_refused(name, data):
    build_and_check(name, data.draw(problem_options(name, plausible=True)))


@pytest.mark.parametrize("name", PROBLEMS)
@given(data=st.data())
def test_the_cpu_fast_path_gives_the_tensor_path_bits(name, data) -> None:
    """NumPy on the CPU and tensor code (what a GPU runs) give the same bits."""
    options = data.draw(problem_options(name, plausible=True))
    options.update(num_samples=10**9, batch_size=None, device="cpu")
    start, count = data.draw(st.integers(0, 10**9 - 40)), data.draw(st.integers(1, 40))
    with alarm(60):
        try:
            dataset = seqtasks.make(name, **options)
        except (ValueError, TypeError) as error:
            check_refusal(error, options)
            return
        fast = dataset.generate(start, count)
        try:
            _random.NUMPY_ON_CPU = False
            tensor = dataset.generate(start, count)
        finally:
            _random.NUMPY_ON_CPU = True
    assert all(torch.equal(a, b) and a.dtype == b.dtype for a, b in zip(fast, tensor, strict=True))


@given(
    num_samples=st.integers(1, 400) | st.integers(1, 10**15),
    batch_size=st.integers(1, 50) | st.integers(1, 10**6),
    world_size=st.integers(1, 5),
    workers=st.integers(1, 3),
    start_batch=st.integers(0, 12),
)
def test_batch_arithmetic_gives_each_rank_and_worker_its_batches(
    num_samples, batch_size, world_size, workers, start_batch
) -> None:
    """Batch b of the epoch holds samples b * n // total .. (b + 1) * n // total - 1 (total a
    multiple of world_size); rank r gets batches r, r + world_size, ...; its workers take them in
    turn after the first start_batch: the split the old list of the epoch made, at any size."""
    dataset = seqtasks.make("classify", num_samples=num_samples, batch_size=batch_size)
    per_rank = -(-num_samples // (batch_size * world_size))  # ceiling, exact at any size
    if per_rank * world_size > num_samples:
        with pytest.raises(ValueError, match=r"num_samples=\d+ is too small"):
            dataset.shard(0, world_size)
        return
    total, sizes = per_rank * world_size, set()
    dataset._batch = lambda stream, start, count: (Span(start, count),) * 2  # record bounds
    if start_batch > per_rank:  # past the epoch: refused, and at most the whole epoch is done
        refusal = rf"start_batch={start_batch}: allowed 0 to {per_rank}"
        with pytest.raises(ValueError, match=refusal):
            dataset.shard(0, world_size).set_epoch(0, start_batch=start_batch)
        start_batch = per_rank
    for rank in range(world_size):
        dataset.shard(rank, world_size).set_epoch(0, start_batch=start_batch)
        assert len(dataset) == per_rank
        for worker in range(workers):
            info = SimpleNamespace(id=worker, num_workers=workers)
            with mock.patch("seqtasks.base.get_worker_info", return_value=info):
                got = [(span.start, span.count) for span, _ in itertools.islice(dataset, 30)]
            local = itertools.islice(range(start_batch + worker, per_rank, workers), 30)
            batches = [rank + j * world_size for j in local]
            starts = [(b * num_samples // total, (b + 1) * num_samples // total) for b in batches]
            assert got == [(a, b - a) for a, b in starts]
            sizes |= {count for _, count in got}
    assert sizes <= {num_samples // total, -(-num_samples // total)}
    assert all(0 < size <= batch_size for size in sizes)


@dataclass(frozen=True)
class Span:
    """Samples ``start .. start + count - 1`` as a batch stands for them: sliced like one."""

    start: int
    count: int

    def __getitem__(self, part: slice) -> Span:
        assert 0 <= part.start < part.stop <= self.count and part.step is None
        return Span(self.start + part.start, part.stop - part.start)


HUGE = """
import json, resource, sys, time
import torch, seqtasks
torch.set_num_threads(1)
# warm up; also computes classify's chance level, which depends on its options, not the epoch
seqtasks.make("classify", batch_size=4, num_samples=8).generate(0, 4)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
best = {}
for _ in range(3):  # the best of three, so that a busy machine does not fail the test
    for batch_size in (256, None):
        start = time.perf_counter()
        dataset = seqtasks.make("classify", num_samples=10**12, batch_size=batch_size)
        first = next(iter(dataset))
        seconds, key = time.perf_counter() - start, str(batch_size)
        best[key] = min(best.get(key, seconds), seconds)
        assert len(dataset) == (10**12 if batch_size is None else 3906250000)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
json.dump({"seconds": best, "grown_mb": (after - before) / 1024}, sys.stdout)
"""


def test_an_epoch_of_a_trillion_samples_starts_at_once_in_little_memory() -> None:
    done = subprocess.run([sys.executable, "-c", HUGE], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    measured = json.loads(done.stdout)
    assert measured["seconds"]["256"] < 1.0 and measured["seconds"]["None"] < 1.0, measured
    assert measured["grown_mb"] < 200, measured
