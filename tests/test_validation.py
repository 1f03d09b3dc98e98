"""Every bad option is refused, with a message naming the option, the value and what is allowed."""

from __future__ import annotations

import re

import pytest

import seqtasks
from seqtasks import Echo

FIVE = ["ramp", "memorize", "echo", "subsequence", "classify"]  # the specification's problems
ALL_PROBLEMS = re.escape(str(seqtasks.available()))


def case(name: str, error: type[Exception], match: str, **options: object) -> object:
    """One bad construction: ``make(name, **options)`` raises ``error`` matching ``match``."""
    label = name + "-" + "-".join(f"{k}={v!r}" for k, v in options.items())
    return pytest.param(name, options, error, match, id=label)


BAD_OPTIONS = [
    # names and options
    case("nope", ValueError, rf"unknown problem 'nope': choose one of {ALL_PROBLEMS}"),
    case("Echo", ValueError, r"unknown problem 'Echo'"),
    case(
        "echo", TypeError, r"echo has no option 'lagg'.*allowed options .*'lag'.*'position'", lagg=1
    ),
    case("ramp", TypeError, r"ramp has no option 'vocab'.*allowed options .*'window'", vocab=10),
    # echo: where the echoed value is
    case("echo", ValueError, r"lag=10 is out of range: allowed 0 \.\. 9", lag=10),
    case("echo", ValueError, r"lag=-1 is out of range: allowed 0 \.\. 9", lag=-1),
    case("echo", ValueError, r"lag=4 is out of range: allowed 0 \.\. 3", lag=4, length=4),
    case("echo", ValueError, r"position=10 is out of range: allowed 0 \.\. 9", position=10),
    case("echo", ValueError, r"position=-2 is out of range: allowed 0 \.\. 9", position=-2),
    case(
        "echo",
        ValueError,
        r"lag or position, not both: got lag=1 and position=2",
        lag=1,
        position=2,
    ),
    # ramp: window
    case("ramp", ValueError, r"window=10 is out of range: allowed 1 \.\. 9", window=10),
    case("ramp", ValueError, r"window=12 is out of range: allowed 1 \.\. 9", window=12),
    case("ramp", ValueError, r"window=0 is out of range: allowed 1 \.\. 9", window=0),
    case(
        "ramp",
        ValueError,
        r"window=5 is out of range: allowed 1 \.\. 4",
        window=5,
        length=5,
        framing="one_to_one",
    ),
    # subsequence: start and size
    case(
        "subsequence",
        ValueError,
        r"start=5 is out of range: allowed 0 \.\. 4",
        framing="seq2seq",
        start=5,
    ),
    case(
        "subsequence",
        ValueError,
        r"size=4 is out of range: allowed 1 \.\. 3",
        framing="seq2seq",
        start=2,
        size=4,
    ),
    case(
        "subsequence",
        ValueError,
        r"size=0 is out of range: allowed 1 \.\. 5",
        framing="seq2seq",
        size=0,
    ),
    case(
        "subsequence",
        ValueError,
        r"start=1 applies to framing='seq2seq' only; "
        r"framing='many_to_one'",
        start=1,
    ),
    case(
        "subsequence",
        ValueError,
        r"size=2 applies to framing='seq2seq' only; "
        r"framing='one_to_one'",
        framing="one_to_one",
        size=2,
    ),
    # sizes
    case("echo", ValueError, r"vocab=1 is out of range: allowed 2 \.\. ", vocab=1),
    case("subsequence", ValueError, r"vocab=0 is out of range: allowed 2 \.\. ", vocab=0),
    case("echo", ValueError, r"vocab=2147483648 is out of range", vocab=2**31),
    case("echo", ValueError, r"length=0 is out of range: allowed >= 1", length=0),
    case("subsequence", ValueError, r"length=-3 is out of range: allowed >= 1", length=-3),
    case("classify", ValueError, r"length=0 is out of range: allowed >= 1", length=0),
    case("ramp", ValueError, r"length=1 is out of range: allowed 2 \.\. 1048576", length=1),
    case("memorize", ValueError, r"length=2 is out of range: allowed >= 3", length=2),
    case(
        "memorize", ValueError, r"num_sequences=0 is out of range: allowed 1 \.\. ", num_sequences=0
    ),
    # framings and encodings a problem does not have
    case(
        "echo",
        ValueError,
        r"framing='one_to_one' is not available for echo: choose one of "
        r"\['many_to_one'\]",
        framing="one_to_one",
    ),
    case(
        "memorize",
        ValueError,
        r"framing='seq2seq' is not available for memorize: choose one "
        r"of \['one_to_one', 'many_to_one'\]",
        framing="seq2seq",
    ),
    case(
        "ramp",
        ValueError,
        r"framing='many-to-one' is not available for ramp",
        framing="many-to-one",
    ),
    case(
        "classify",
        ValueError,
        r"encoding='onehot' is not available for classify: choose one "
        r"of \['real'\]",
        encoding="onehot",
    ),
    case("ramp", ValueError, r"encoding='index' is not available for ramp", encoding="index"),
    case(
        "echo",
        ValueError,
        r"encoding='real' is not available for echo: choose one of "
        r"\['onehot', 'index', 'scaled'\]",
        encoding="real",
    ),
    # types
    case("echo", TypeError, r"length must be an int, got '10' \(str\)", length="10"),
    case("echo", TypeError, r"lag must be an int, got True \(bool\)", lag=True),
    case("memorize", TypeError, r"length must be an int, got 5\.0 \(float\)", length=5.0),
    case("subsequence", TypeError, r"vocab must be an int, got '10' \(str\)", vocab="10"),
    case("ramp", TypeError, r"window must be an int, got 2\.0 \(float\)", window=2.0),
    case(
        "memorize",
        TypeError,
        r"num_sequences must be an int, got False \(bool\)",
        num_sequences=False,
    ),
    case(
        "classify", TypeError, r"threshold must be a number, got 'half' \(str\)", threshold="half"
    ),
    case("classify", TypeError, r"threshold must be a number, got True \(bool\)", threshold=True),
    case("echo", TypeError, r"seed must be an int, got '0' \(str\)", seed="0"),
    case("echo", TypeError, r"batch_size must be an int, got 2\.5 \(float\)", batch_size=2.5),
    case("echo", TypeError, r"num_samples must be an int, got '100' \(str\)", num_samples="100"),
    # common options
    case(
        "echo",
        ValueError,
        r"split='dev' is not available: choose one of "
        r"\['train', 'val', 'test'\]",
        split="dev",
    ),
    case("classify", ValueError, r"split='Train' is not available", split="Train"),
    case(
        "echo", ValueError, r"seed=-1 is out of range: allowed 0 \.\. 9223372036854775807", seed=-1
    ),
    case("ramp", ValueError, r"seed=9223372036854775808 is out of range", seed=2**63),
    case(
        "memorize",
        ValueError,
        r"num_samples=0 is out of range: allowed 1 \.\. 9223372036854775807",
        num_samples=0,
    ),
    case(
        "echo",
        ValueError,
        r"batch_size=0 is out of range: allowed 1 \.\. 9223372036854775807",
        batch_size=0,
    ),
    case(
        "subsequence", ValueError, r"batch_size=-4 is out of range: allowed 1 \.\. ", batch_size=-4
    ),
    case("echo", ValueError, r"device='toaster' is not a torch device", device="toaster"),
    # classify threshold: a fraction of the length, strictly between 0 and 1
    case(
        "classify",
        ValueError,
        r"threshold=0 is out of range: allowed 0\.0 < threshold < 1\.0",
        threshold=0,
    ),
    case(
        "classify",
        ValueError,
        r"threshold=1\.5 is out of range: allowed 0\.0 < threshold < 1",
        threshold=1.5,
    ),
    case("classify", ValueError, r"threshold=-0\.25 is out of range", threshold=-0.25),
    case("classify", ValueError, r"threshold=nan is out of range", threshold=float("nan")),
]


@pytest.mark.parametrize(("name", "options", "error", "match"), BAD_OPTIONS)
def test_bad_option_is_refused(
    name: str, options: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        seqtasks.make(name, **options)


def test_the_cases_are_many_and_varied() -> None:
    assert len(BAD_OPTIONS) >= 25
    problems = {param.values[0] for param in BAD_OPTIONS}
    assert set(FIVE) <= problems


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
        (-1, 0, ValueError, r"epoch=-1 is out of range: allowed >= 0"),
        (0, -2, ValueError, r"start_batch=-2 is out of range: allowed >= 0"),
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
    with pytest.raises(ValueError, match=rf"unknown problem 'nope': choose one of {ALL_PROBLEMS}"):
        seqtasks.options("nope")
    assert seqtasks.available()[:5] == FIVE
