"""Every bad option of a problem is refused, with a message naming the option, the value and
what is allowed; bad calls on a dataset are in test_validation_calls.py."""

from __future__ import annotations

import re

import pytest

import seqtasks

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
