"""Bad calls on a dataset (shard, set_epoch, generate) and on the registry are refused with a
message naming the argument, the value and what is allowed, and change nothing."""

from __future__ import annotations

import re

import pytest

import seqtasks
from seqtasks import Echo


@pytest.mark.parametrize(
    ("rank", "world_size", "error", "match"),
    [
        (2, 2, ValueError, r"rank=2 is out of range: allowed 0 \.\. 1"),
        (5, 3, ValueError, r"rank=5 is out of range: allowed 0 \.\. 2"),
        (-1, 2, ValueError, r"rank=-1 is out of range: allowed 0 \.\. 1"),
        (0, 0, ValueError, r"world_size=0 is out of range: allowed >= 1"),
        (0, 2.0, TypeError, r"world_size must be an int, got 2\.0 \(float\)"),
        ("0", 2, TypeError, r"rank must be an int, got '0' \(str\)"),
    ],
)
def test_bad_shard_is_refused(
    rank: object, world_size: object, error: type[Exception], match: str
) -> None:
    dataset = seqtasks.make("echo", num_samples=100, batch_size=10)
    with pytest.raises(error, match=match):
        dataset.shard(rank, world_size)  # type: ignore[arg-type]
    assert (dataset.rank, dataset.world_size) == (0, 1)  # a refused shard changes nothing


@pytest.mark.parametrize(
    ("num_samples", "batch_size", "world_size", "needed"),
    [(2, 4, 3, 3), (5, 1, 2, 6), (100, 1, 3, 102), (5, 1, 4, 8)],
)
def test_too_few_samples_for_the_world_size(
    num_samples: int, batch_size: int, world_size: int, needed: int
) -> None:
    dataset = seqtasks.make("classify", num_samples=num_samples, batch_size=batch_size)
    pattern = (
        rf"num_samples={num_samples} is too small .*world_size={world_size}.*"
        rf"batch_size={batch_size}: allowed num_samples >= {needed}"
    )
    with pytest.raises(ValueError, match=pattern):
        dataset.shard(0, world_size)
    assert (dataset.rank, dataset.world_size) == (0, 1)  # a refused shard changes nothing
    assert len(list(dataset)) == len(dataset)
    bigger = seqtasks.make("classify", num_samples=needed, batch_size=batch_size)
    assert len(bigger.shard(world_size - 1, world_size)) >= 1  # the number it asks for works


@pytest.mark.parametrize(
    ("epoch", "start_batch", "error", "match"),
    [
        (-1, 0, ValueError, r"epoch=-1 is out of range: allowed 0 \.\. 9223372036854775807"),
        (0, -2, ValueError, r"start_batch=-2 is out of range: allowed 0 \.\. 922337203685477"),
        (1.0, 0, TypeError, r"epoch must be an int, got 1\.0 \(float\)"),
        (0, True, TypeError, r"start_batch must be an int, got True \(bool\)"),
    ],
)
def test_bad_set_epoch_is_refused(
    epoch: object, start_batch: object, error: type[Exception], match: str
) -> None:
    dataset = seqtasks.make("echo", num_samples=100, batch_size=10)
    dataset.set_epoch(3, start_batch=2)
    with pytest.raises(error, match=match):
        dataset.set_epoch(epoch, start_batch=start_batch)  # type: ignore[arg-type]
    assert (dataset.epoch, dataset.start_batch) == (3, 2)  # a refused call changes nothing


def test_start_batch_needs_batches() -> None:
    dataset = seqtasks.make("echo", num_samples=100)
    with pytest.raises(ValueError, match=r"start_batch needs batch_size"):
        dataset.set_epoch(1, start_batch=3)
    assert (dataset.epoch, dataset.start_batch) == (0, 0)


@pytest.mark.parametrize(
    ("start", "count", "match"),
    [
        (50, 1, r"start=50 is out of range: allowed 0 \.\. 49"),
        (-1, 1, r"start=-1 is out of range: allowed 0 \.\. 49"),
        (0, 51, r"count=51 is out of range: allowed 1 \.\. 50"),
        (40, 11, r"count=11 is out of range: allowed 1 \.\. 10"),
        (0, 0, r"count=0 is out of range: allowed 1 \.\. 50"),
    ],
)
def test_generate_outside_the_epoch_is_refused(start: int, count: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        seqtasks.make("memorize", num_samples=50).generate(start, count)


def test_registry_refuses_duplicates_and_non_problems() -> None:
    with pytest.raises(ValueError, match=r"a problem named 'echo' is already registered"):
        seqtasks.register(Echo)
    with pytest.raises(
        TypeError, match=r"register needs a SequenceTask subclass, got <class 'int'>"
    ):
        seqtasks.register(int)  # type: ignore[arg-type]
    every_problem = re.escape(str(seqtasks.available()))
    with pytest.raises(ValueError, match=rf"unknown problem 'nope': choose one of {every_problem}"):
        seqtasks.options("nope")
    assert seqtasks.available()[:5] == ["ramp", "memorize", "echo", "subsequence", "classify"]


def test_a_registered_problem_passing_its_options_on_takes_them_all(monkeypatch) -> None:
    from seqtasks import registry

    monkeypatch.setattr(registry, "PROBLEMS", dict(registry.PROBLEMS))  # registered for this test

    class Shifted(Echo):
        name = "echo_shifted"

        def __init__(self, *, shift: int = 0, **common: object) -> None:
            super().__init__(**common)
            self.shift = shift

    seqtasks.register(Shifted)
    assert list(seqtasks.options("echo_shifted"))[:3] == ["shift", "length", "vocab"]
    assert seqtasks.make("echo_shifted", seed=3, lag=2, shift=1).seed == 3
    with pytest.raises(TypeError, match=r"echo_shifted has no option 'lga'"):
        seqtasks.make("echo_shifted", lga=2)

    class Unnamed(seqtasks.SequenceTask):
        pass

    with pytest.raises(TypeError, match=r"register: Unnamed needs a class attribute name"):
        seqtasks.register(Unnamed)


def test_names_and_specs_of_the_wrong_kind_are_refused_by_name() -> None:
    from seqtasks.listing import effective_defaults

    for call in (lambda: seqtasks.make(["echo"]), lambda: effective_defaults("nope")):
        with pytest.raises(ValueError, match=r"unknown problem .*: choose one of \['ramp'"):
            call()
    spec = seqtasks.make("echo").spec
    with pytest.raises(TypeError, match=r"is_solved needs the measured accuracy, a number"):
        spec.is_solved(None)  # type: ignore[arg-type]
    assert not spec.is_solved(float("nan"))
    for field, value, match in [
        ("target_layout", "bogus", r"target_layout='bogus' is not available for TaskSpec"),
        ("metric", "acc", r"metric='acc' is not available for TaskSpec: choose one of"),
        ("input_length", -1, r"input_length=-1 is out of range: allowed >= 1"),
        ("num_classes", None, r"num_classes=None: class targets need their number of classes"),
    ]:
        with pytest.raises(ValueError, match=match):
            seqtasks.TaskSpec(**{**spec.to_dict(), field: value})
