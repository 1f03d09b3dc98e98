"""Edges of the data contract: where an epoch may resume, and targets that own their memory."""

from __future__ import annotations

import pytest
import torch

import seqtasks
from seqtasks.listing import effective_options
from seqtasks.registry import options
from tests.test_contract import same_data

# every problem, framing and encoding: a target taken from the inputs must not stay a view of them
EVERY_LAYOUT = [
    (name, framing, encoding)
    for name in seqtasks.available()
    for framing in seqtasks.make(name).framings
    for encoding in seqtasks.make(name).encodings
]


@pytest.mark.parametrize("start_batch", [0, 1, 3, 5])
@pytest.mark.parametrize(("rank", "world_size"), [(0, 1), (1, 2)])
def test_start_batch_skips_exactly_the_first_batches(
    start_batch: int, rank: int, world_size: int
) -> None:
    dataset = seqtasks.make("echo", num_samples=100, batch_size=10).shard(rank, world_size)
    dataset.set_epoch(2)
    whole = list(dataset)
    dataset.set_epoch(2, start_batch=start_batch)
    resumed = list(dataset)
    assert len(resumed) == len(whole) - start_batch
    assert len(dataset) == len(whole)  # the epoch keeps its length; the first batches are done
    assert all(same_data(a, b) for a, b in zip(resumed, whole[start_batch:], strict=True))
    dataset.set_epoch(3)  # the next epoch starts from its first batch again
    assert len(list(dataset)) == len(whole)


def test_a_start_batch_past_the_epoch_is_refused_by_name() -> None:
    dataset = seqtasks.make("echo", num_samples=100, batch_size=10).shard(1, 2)  # 5 batches
    dataset.set_epoch(1, start_batch=5)  # the whole epoch done: nothing left to yield
    assert list(dataset) == [] and len(dataset) == 5
    with pytest.raises(ValueError, match=r"start_batch=6: allowed 0 to 5 \(this rank's\)"):
        dataset.set_epoch(2, start_batch=6)
    assert (dataset.epoch, dataset.start_batch) == (1, 5), "a refused call changes nothing"


def test_a_shard_with_fewer_batches_than_the_start_batch_is_refused_by_name() -> None:
    dataset = seqtasks.make("echo", num_samples=100, batch_size=10)  # 10 batches on one rank
    dataset.set_epoch(0, start_batch=8)
    with pytest.raises(ValueError, match=r"start_batch=8 is past the 5 batches of each of 2 ranks"):
        dataset.shard(0, 2)  # the epoch would silently be empty
    assert (dataset.rank, dataset.world_size, len(dataset)) == (0, 1, 10), "nothing changed"
    dataset.set_epoch(0, start_batch=5)
    assert list(dataset.shard(1, 2)) == [] and len(dataset) == 5  # 5 of 5 done: allowed


@pytest.mark.parametrize(("name", "framing", "encoding"), EVERY_LAYOUT)
@pytest.mark.parametrize("batch_size", [1, 4, None])
def test_targets_never_share_memory_with_inputs(name, framing, encoding, batch_size) -> None:
    dataset = seqtasks.make(name, framing=framing, encoding=encoding, num_samples=4,
                            batch_size=batch_size)  # fmt: skip
    for inputs, targets in [dataset.generate(0, 1), dataset.generate(0, 4), next(iter(dataset))]:
        kept = targets.clone()
        inputs.fill_(-7 if inputs.dtype == torch.int64 else float("nan"))  # no symbol, no value
        assert torch.equal(targets, kept), "editing the inputs edited the targets"


@pytest.mark.parametrize(("name", "framing", "encoding"), EVERY_LAYOUT[::2])
def test_the_recorded_options_rebuild_the_same_dataset(name, framing, encoding) -> None:
    given = {key: value for key, value in options(name).items()
             if key not in ("split", "seed", "num_samples", "batch_size", "device")}  # fmt: skip
    dataset = seqtasks.make(name, **{**given, "framing": framing, "encoding": encoding})
    recorded = effective_options(dataset, {**given, "framing": framing, "encoding": encoding})
    assert None not in recorded.values()
    rebuilt = seqtasks.make(name, **recorded)
    assert rebuilt.spec == dataset.spec
    assert same_data(rebuilt.generate(0, 3), dataset.generate(0, 3))
