"""The long-time-lag problems of Hochreiter & Schmidhuber (1997): the data contract, refused
options, a training run each; their values are checked in test_longlag_problems.py."""

from __future__ import annotations

import pytest
import torch

import seqtasks
from seqtasks.training.run import train
from tests.problem_batches import same_bits

NEW_PROBLEMS = ("adding", "multiply", "temporal_order", "memorize_long")


# ---------------------------------------------------------------------------------- data contract
CASES = [
    ("adding", {}),
    ("multiply", {"vary_length": False}),
    ("temporal_order", {"num_relevant": 3}),
    ("memorize_long", {"variant": "2b", "p": 40}),
    ("memorize_long", {"variant": "2c", "p": 10, "q": 20}),
]


@pytest.mark.parametrize(("name", "options"), CASES)
def test_reproducible_and_batch_size_invariant(name: str, options: dict[str, object]) -> None:
    reference = seqtasks.make(name, **options, seed=3, num_samples=30).generate(0, 30)
    again = seqtasks.make(name, **options, seed=3, num_samples=30).generate(0, 30)
    other = seqtasks.make(name, **options, seed=4, num_samples=30).generate(0, 30)
    assert same_bits(reference, again) and not same_bits(reference, other)
    for batch_size in (None, 7):
        items = list(seqtasks.make(name, **options, seed=3, num_samples=30, batch_size=batch_size))
        if batch_size is None:
            items = [(x[None], y[None]) for x, y in items]
        gathered = tuple(torch.cat(parts) for parts in zip(*items, strict=True))
        assert same_bits(gathered, reference)


@pytest.mark.parametrize(("name", "options"), CASES)
def test_shards_interleave_to_the_whole_epoch(name: str, options: dict[str, object]) -> None:
    whole = list(seqtasks.make(name, **options, num_samples=60, batch_size=6))  # 10 batches
    shards = [
        list(seqtasks.make(name, **options, num_samples=60, batch_size=6).shard(rank, 2))
        for rank in range(2)
    ]
    assert [len(shard) for shard in shards] == [5, 5]
    interleaved = [batch for pair in zip(*shards, strict=True) for batch in pair]
    assert all(same_bits(a, b) for a, b in zip(interleaved, whole, strict=True))


def test_registered_and_exported() -> None:
    assert set(NEW_PROBLEMS) <= set(seqtasks.available())
    assert seqtasks.make("adding").spec.input_size == 2
    assert isinstance(seqtasks.make("temporal_order"), seqtasks.TemporalOrder)
    assert isinstance(seqtasks.make("memorize_long"), seqtasks.MemorizeLong)
    assert isinstance(seqtasks.make("multiply"), seqtasks.Multiply)


# ---------------------------------------------------------------------------------- validation
BAD = [
    ("adding", TypeError, r"length must be an int, got '100' \(str\)", {"length": "100"}),
    ("adding", ValueError, r"length=19 is out of range: allowed >= 20", {"length": 19}),
    ("multiply", TypeError, r"vary_length must be a bool, got 1 \(int\)", {"vary_length": 1}),
    (
        "adding",
        ValueError,
        r"encoding='onehot' is not available for adding: choose one of \['real'\]",
        {"encoding": "onehot"},
    ),
    (
        "multiply",
        ValueError,
        r"framing='one_to_one' is not available for multiply: choose one of \['many_to_one'\]",
        {"framing": "one_to_one"},
    ),
    (
        "temporal_order",
        ValueError,
        r"num_relevant=4 is out of range: allowed 2 \.\. 3",
        {"num_relevant": 4},
    ),
    ("temporal_order", ValueError, r"length=60 is out of range: allowed >= 61", {"length": 60}),
    (
        "temporal_order",
        ValueError,
        r"length=76 is out of range: allowed >= 77",
        {"length": 76, "num_relevant": 3},
    ),
    (
        "temporal_order",
        TypeError,
        r"vary_length must be a bool, got 'yes' \(str\)",
        {"vary_length": "yes"},
    ),
    (
        "temporal_order",
        ValueError,
        r"encoding='real' is not available for temporal_order",
        {"encoding": "real"},
    ),
    (
        "memorize_long",
        ValueError,
        r"variant='2d' is not available for memorize_long: choose one of \['2a', '2b', '2c'\]",
        {"variant": "2d"},
    ),
    ("memorize_long", ValueError, r"p=1 is out of range: allowed 2 \.\. ", {"p": 1}),
    (
        "memorize_long",
        ValueError,
        r"p=0 is out of range: allowed 1 \.\. ",
        {"variant": "2c", "p": 0},
    ),
    ("memorize_long", ValueError, r"q=0 is out of range: allowed >= 1", {"variant": "2c", "q": 0}),
    (
        "memorize_long",
        ValueError,
        r"max_extra=-1 is out of range: allowed >= 0",
        {"variant": "2c", "max_extra": -1},
    ),
    (
        "memorize_long",
        ValueError,
        r"q=10 applies to variant='2c' only; variant='2b' sequences are p \+ 1 = 101 symbols",
        {"variant": "2b", "q": 10},
    ),
    (
        "memorize_long",
        ValueError,
        r"framing='one_to_one' needs variant='2a': in variant='2c' only the last symbol",
        {"variant": "2c", "framing": "one_to_one"},
    ),
    ("memorize_long", TypeError, r"p must be an int, got 2\.5 \(float\)", {"p": 2.5}),
]


@pytest.mark.parametrize(("name", "error", "match", "options"), BAD)
def test_bad_options_are_refused(
    name: str, error: type[Exception], match: str, options: dict[str, object]
) -> None:
    with pytest.raises(error, match=match):
        seqtasks.make(name, **options)


# ---------------------------------------------------------------------------------- training
@pytest.mark.parametrize(
    "overrides",
    [
        ("task=adding",),
        ("task=multiply", "task.length=20"),
        ("task=temporal_order", "task.num_relevant=3", "task.encoding=index"),
        ("task=memorize_long", "task.variant=2c", "task.p=10", "task.q=10"),
    ],
    ids=NEW_PROBLEMS,
)
def test_fast_dev_run(compose_config, overrides: tuple[str, ...]) -> None:
    summary = train(compose_config(*overrides, "+trainer.fast_dev_run=true", "report.plots=false"))
    name = overrides[0].removeprefix("task=")
    assert summary["task"] == name and summary["steps"] == 1
    assert "test/accuracy" in summary["test"] and isinstance(summary["solved"], bool)
