"""The data contract: a sample is a pure function of (seed, split, epoch, index)."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import pytest
import torch
from torch.utils.data import DataLoader

import seqtasks
from seqtasks.base import SequenceTask

# one entry per problem, plus framings and encodings with other target layouts
CASES: list[tuple[str, dict[str, object]]] = [
    ("ramp", {}),
    ("ramp", {"framing": "one_to_one", "window": 4}),
    ("memorize", {}),
    ("memorize", {"framing": "many_to_one", "encoding": "index"}),
    ("echo", {}),
    ("subsequence", {"framing": "seq2seq", "encoding": "scaled"}),
    ("classify", {}),
]
CASE_IDS = [name + "".join(f"-{v}" for v in options.values()) for name, options in CASES]
# problems whose samples are all different, so that a sample can be found by its value
UNIQUE_CASES = [
    ("echo", {}),
    ("classify", {}),
    ("subsequence", {"vocab": 1000, "length": 6, "encoding": "index"}),
]


def gather(dataset: SequenceTask) -> tuple[torch.Tensor, torch.Tensor]:
    """One epoch of ``dataset`` as one batch, whether it yields batches or single samples."""
    items = list(dataset)
    inputs = [x if dataset.batch_size is not None else x[None] for x, _ in items]
    targets = [y if dataset.batch_size is not None else y[None] for _, y in items]
    return torch.cat(inputs), torch.cat(targets)


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal dtype, shape and bit patterns (so that -0.0 != 0.0 and NaN == NaN)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == torch.float32:
        return torch.equal(a.view(torch.int32), b.view(torch.int32))
    return torch.equal(a, b)


def same_data(a: tuple[torch.Tensor, ...], b: tuple[torch.Tensor, ...]) -> bool:
    return len(a) == len(b) and all(same_bits(x, y) for x, y in zip(a, b, strict=True))


def make(case: tuple[str, dict[str, object]], **options: object) -> SequenceTask:
    name, base = case
    return seqtasks.make(name, **{**base, **options})


def row_index(inputs: torch.Tensor, targets: torch.Tensor) -> dict[bytes, int]:
    """Sample position by value, for data whose samples are all different."""
    index = {}
    for i, (x, y) in enumerate(zip(inputs, targets, strict=True)):
        index[x.numpy().tobytes() + y.numpy().tobytes()] = i
    assert len(index) == len(inputs), "samples are not unique: cannot identify them"
    return index


# ---------------------------------------------------------------------------------- seeds
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_same_seed_gives_identical_bits(case: tuple[str, dict[str, object]]) -> None:
    first = gather(make(case, seed=11, num_samples=50, batch_size=16))
    again = gather(make(case, seed=11, num_samples=50, batch_size=16))
    assert same_data(first, again)
    other = gather(make(case, seed=12, num_samples=50, batch_size=16))
    assert not same_data(first, other)


def test_large_seeds_are_accepted_and_distinct() -> None:
    top = seqtasks.make("echo", seed=2**63 - 1, num_samples=20).generate(0, 20)
    below = seqtasks.make("echo", seed=2**63 - 2, num_samples=20).generate(0, 20)
    assert not same_data(top, below)


# ---------------------------------------------------------------------------------- batching
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_sample_is_the_same_whatever_the_batch_size(case: tuple[str, dict[str, object]]) -> None:
    reference = make(case, num_samples=100).generate(0, 100)
    for batch_size in (None, 1, 7, 64, 100, 500):
        dataset = make(case, num_samples=100, batch_size=batch_size)
        assert same_data(gather(dataset), reference), batch_size
        assert len(dataset) == len(list(dataset))


def test_batches_are_contiguous_and_nearly_equal() -> None:
    dataset = seqtasks.make("echo", num_samples=100, batch_size=7)
    sizes = [len(y) for _, y in dataset]
    assert len(sizes) == len(dataset) == 15  # ceil(100 / 7)
    assert sum(sizes) == 100 and max(sizes) <= 7 and max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("case", CASES[::2], ids=CASE_IDS[::2])
def test_generate_is_a_slice_of_the_epoch(case: tuple[str, dict[str, object]]) -> None:
    dataset = make(case, num_samples=60, batch_size=9)
    inputs, targets = gather(dataset)
    for start, count in ((0, 60), (13, 20), (59, 1), (0, 1)):
        x, y = dataset.generate(start, count)
        assert same_bits(x, inputs[start : start + count])
        assert same_bits(y, targets[start : start + count])


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_single_samples_through_a_batching_dataloader(case: tuple[str, dict[str, object]]) -> None:
    dataset = make(case, num_samples=70)
    batches = list(DataLoader(dataset, batch_size=32))
    assert [len(y) for _, y in batches] == [32, 32, 6]
    spec = dataset.spec
    assert batches[0][1].shape == (32, *spec.target_shape)
    x = torch.cat([x for x, _ in batches])
    y = torch.cat([y for _, y in batches])
    assert same_data((x, y), dataset.generate(0, 70))


# ---------------------------------------------------------------------------------- workers
@pytest.mark.parametrize("batch_size", [5, None])
def test_dataloader_workers_keep_samples_and_order(batch_size: int | None) -> None:
    dataset = seqtasks.make("subsequence", num_samples=40, batch_size=batch_size)
    alone = list(DataLoader(dataset, batch_size=None, num_workers=0))
    workers = list(DataLoader(dataset, batch_size=None, num_workers=2))
    assert len(workers) == len(alone) == len(dataset)
    for (x0, y0), (x2, y2) in zip(alone, workers, strict=True):
        assert same_bits(x0, x2) and same_bits(y0, y2)
    assert same_data(gather(dataset), dataset.generate(0, 40))


def test_dataloader_workers_on_a_shard() -> None:
    dataset = seqtasks.make("classify", num_samples=50, batch_size=4).shard(1, 2)
    alone = list(DataLoader(dataset, batch_size=None, num_workers=0))
    workers = list(DataLoader(dataset, batch_size=None, num_workers=2))
    assert len(alone) == len(workers) == len(dataset) > 0
    assert all(same_data(a, b) for a, b in zip(alone, workers, strict=True))


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_set_epoch_reaches_persistent_workers(context: str) -> None:
    # a persistent worker keeps its copy of the dataset across epochs: set_epoch in the main
    # process still selects the epoch it generates (and a resumed epoch's start batch)
    dataset = seqtasks.make("echo", num_samples=24, batch_size=4)
    loader = DataLoader(dataset, batch_size=None, num_workers=2, persistent_workers=True,
                        multiprocessing_context=context)  # fmt: skip
    for epoch, start_batch in [(0, 0), (1, 0), (2, 3), (1, 0)]:
        dataset.set_epoch(epoch, start_batch)
        seen = torch.cat([x for x, _ in loader])
        assert same_bits(seen, dataset.generate(4 * start_batch, 24 - 4 * start_batch)[0])


def test_a_copied_dataset_keeps_its_own_epoch() -> None:
    dataset = seqtasks.make("echo", num_samples=8, batch_size=4)
    dataset.set_epoch(3, start_batch=1)
    copies = [copy.copy(dataset), copy.deepcopy(dataset), pickle.loads(pickle.dumps(dataset))]
    assert all((each.epoch, each.start_batch) == (3, 1) for each in copies)
    for epoch, each in enumerate(copies, start=5):
        each.set_epoch(epoch)
    assert (dataset.epoch, dataset.start_batch) == (3, 1)
    with pytest.raises(ValueError, match=r"epoch=9223372036854775808"):  # the cell holds int64
        dataset.set_epoch(2**63)


def test_without_shared_memory_a_dataset_still_works(monkeypatch) -> None:
    def no_shm(*args, **kwargs):
        raise OSError(30, "Read-only file system: '/dev/shm'")

    monkeypatch.setattr("seqtasks._shared.multiprocessing.RawArray", no_shm)
    dataset = seqtasks.make("echo", num_samples=8, batch_size=4)
    dataset.set_epoch(2, start_batch=1)
    assert len(list(dataset)) == 1 and dataset.epoch == 2
    alone = list(DataLoader(dataset, batch_size=None, num_workers=2))
    assert same_data(alone[0], dataset.generate(4, 4))
    assert pickle.loads(pickle.dumps(dataset)).epoch == 2


# ---------------------------------------------------------------------------------- shards
@pytest.mark.parametrize("world_size", [1, 2, 3])
@pytest.mark.parametrize("batch_size", [7, 1, None])
@pytest.mark.parametrize("case", UNIQUE_CASES, ids=[name for name, _ in UNIQUE_CASES])
def test_shards_cover_the_epoch_exactly_once(
    case: tuple[str, dict[str, object]], batch_size: int | None, world_size: int
) -> None:
    num_samples = 102  # divisible by 2 and 3: batches of one are possible
    index = row_index(*make(case, num_samples=num_samples).generate(0, num_samples))
    seen: list[int] = []
    counts = []
    for rank in range(world_size):
        dataset = make(case, num_samples=num_samples, batch_size=batch_size)
        dataset.shard(rank, world_size)
        items = list(dataset)
        assert len(dataset) == len(items)
        counts.append(len(items))
        positions = []
        for x, y in items:
            if batch_size is None:
                x, y = x[None], y[None]
            batch = [
                index[a.numpy().tobytes() + b.numpy().tobytes()] for a, b in zip(x, y, strict=True)
            ]
            assert batch == list(range(batch[0], batch[0] + len(batch)))  # contiguous
            positions += batch
        assert positions == sorted(positions)  # each rank sees its samples in epoch order
        seen += positions
    assert sorted(seen) == list(range(num_samples))  # all samples, none twice
    if batch_size is not None:
        assert len(set(counts)) == 1  # every rank gets the same number of batches


def test_shard_returns_the_dataset_and_changes_its_length() -> None:
    dataset = seqtasks.make("echo", num_samples=90, batch_size=10)
    assert len(dataset) == 9
    assert dataset.shard(2, 3) is dataset
    assert len(dataset) == 3
    assert dataset.shard(0, 1) is dataset and len(dataset) == 9


# ---------------------------------------------------------------------------------- epochs
def test_training_data_changes_each_epoch_evaluation_data_does_not() -> None:
    def epoch_data(split: str, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        dataset = seqtasks.make("echo", split=split, num_samples=40, batch_size=8)
        dataset.set_epoch(epoch)
        return gather(dataset)

    train = [epoch_data("train", e) for e in range(3)]
    assert not same_data(train[0], train[1]) and not same_data(train[1], train[2])
    assert same_data(train[1], epoch_data("train", 1))  # an epoch can be replayed
    for split in ("val", "test"):
        fixed = epoch_data(split, 0)
        assert same_data(fixed, epoch_data(split, 1)) and same_data(fixed, epoch_data(split, 7))
        assert not same_data(fixed, train[0])
    assert not same_data(epoch_data("val", 0), epoch_data("test", 0))


def test_set_epoch_reaches_generate_and_single_samples() -> None:
    dataset = seqtasks.make("classify", num_samples=30)
    first = dataset.generate(0, 30)
    dataset.set_epoch(1)
    assert not same_data(first, dataset.generate(0, 30))
    assert same_data(gather(dataset), dataset.generate(0, 30))


def test_set_epoch_during_a_pass_does_not_change_that_pass() -> None:
    dataset = seqtasks.make("echo", num_samples=40, batch_size=8)
    expected = list(dataset)
    iterator = iter(dataset)
    first = next(iterator)
    dataset.set_epoch(5)
    rest = list(iterator)
    assert all(same_data(a, b) for a, b in zip([first, *rest], expected, strict=True))


# ---------------------------------------------------------------------------------- device
def test_cpu_device() -> None:
    for device in ("cpu", torch.device("cpu")):
        x, y = seqtasks.make("memorize", device=device, num_samples=4, batch_size=4).generate(0, 4)
        assert x.device.type == "cpu" and y.device.type == "cpu"


def test_default_epoch_sizes() -> None:
    assert len(seqtasks.make("echo")) == 10_000
    assert len(seqtasks.make("echo", split="val")) == 1_000
    assert len(seqtasks.make("echo", split="test", batch_size=100)) == 10


# ---------------------------------------------------------------------------------- imports
def test_import_does_not_pull_in_training_libraries() -> None:
    code = (
        "import sys, seqtasks; "
        "heavy = sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('lightning', 'pytorch_lightning', 'hydra', 'omegaconf', "
        "'models', 'training', 'matplotlib')); "
        "print(heavy); assert not heavy, heavy; assert 'torch' in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
