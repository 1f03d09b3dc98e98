"""Value-by-value checks of the ramp, memorize and echo problems, and of the encodings;
subsequence and classify are in test_subsequence_classify.py."""

from __future__ import annotations

import re
import statistics
import warnings

import pytest
import torch

import seqtasks
from tests.problem_batches import ENCODINGS, INTEGER_PROBLEMS, batch, decode


# ---------------------------------------------------------------------------------- ramp
def test_ramp_default_is_previous_value_to_next_value() -> None:
    _, x, y = batch("ramp", count=300)
    assert x.shape == (300, 1, 1) and x.dtype == torch.float32
    assert y.shape == (300,) and y.dtype == torch.float32
    steps = torch.round(x[:, 0, 0].double() * 10).long()
    assert torch.allclose(x[:, 0, 0].double(), steps.double() / 10, atol=1e-7)
    assert set(steps.tolist()) == set(range(9))  # every value but the last (0.9) is an input
    assert torch.allclose(y.double(), (steps + 1).double() / 10, atol=1e-7)


@pytest.mark.parametrize("length", [10, 7, 23])
def test_ramp_window_of_four_is_contiguous_and_predicts_next(length: int) -> None:
    _, x, y = batch("ramp", count=400, length=length, window=4)
    values = x.squeeze(-1).double()  # (B, 4)
    starts = torch.round(values[:, 0] * length).long()
    expected = (starts[:, None] + torch.arange(4)).double() / length
    assert torch.allclose(values, expected, atol=1e-7)  # contiguous, step 1/length
    assert torch.allclose(y.double(), (starts + 4).double() / length, atol=1e-7)
    assert set(starts.tolist()) == set(range(length - 4))  # the target never runs off the ramp


def test_ramp_one_to_one_default_is_the_whole_ramp() -> None:
    _, x, y = batch("ramp", count=5, framing="one_to_one")
    ramp = [i / 10 for i in range(10)]
    for row_x, row_y in zip(x, y, strict=True):
        assert row_x.squeeze(-1).tolist() == pytest.approx(ramp[:-1], abs=1e-7)
        assert row_y.tolist() == pytest.approx(ramp[1:], abs=1e-7)


def test_ramp_one_to_one_window_targets_are_next_values() -> None:
    _, x, y = batch("ramp", count=200, framing="one_to_one", window=3, length=8)
    values = x.squeeze(-1)
    assert y.shape == (200, 3)
    assert torch.allclose(y[:, :-1], values[:, 1:])
    assert torch.allclose(y[:, -1].double(), values[:, -1].double() + 1 / 8, atol=1e-7)
    assert float(y.max()) == pytest.approx(7 / 8)


@pytest.mark.parametrize(
    ("framing", "window"), [("many_to_one", 1), ("many_to_one", 4), ("one_to_one", 9)]
)
def test_ramp_spec(framing: str, window: int) -> None:
    spec = seqtasks.make("ramp", framing=framing, window=window).spec
    assert (spec.input_size, spec.vocab_size, spec.num_classes) == (1, None, None)
    assert (spec.target, spec.metric, spec.input_length) == ("reals", "mse", window)
    per_step = framing == "one_to_one"
    assert spec.target_layout == ("per_step" if per_step else "last")
    assert spec.target_shape == ((window,) if per_step else ())
    # chance: MSE of the best constant, every start equally likely
    starts = range(10 - window)
    if per_step:
        targets = [(s + k) / 10 for s in starts for k in range(1, window + 1)]
    else:
        targets = [(s + window) / 10 for s in starts]
    assert spec.chance == pytest.approx(statistics.pvariance(targets))
    assert spec.is_solved(spec.solved_threshold) and not spec.is_solved(spec.chance)


# ---------------------------------------------------------------------------------- memorize
def full_sequences(x: torch.Tensor, y: torch.Tensor, framing: str) -> list[list[int]]:
    """The complete sequences behind decoded inputs and targets."""
    last = y[:, -1] if framing == "one_to_one" else y
    return torch.cat([x, last[:, None]], dim=1).tolist()


def test_memorize_default_sequences_repeat_the_first_symbol() -> None:
    dataset, x, y = batch("memorize", count=64, encoding="index")
    assert x.shape == (64, 4) and y.shape == (64, 4)
    sequences = full_sequences(x, y, "one_to_one")
    assert {tuple(s) for s in sequences} == {(3, 0, 1, 2, 3), (4, 0, 1, 2, 4)}
    assert [3, 1, 2, 3, 3] not in sequences  # the listing's assignment bug is not reproduced
    assert torch.equal(y[:, :-1], x[:, 1:])  # one_to_one: the next symbol at every step
    assert torch.equal(y[:, -1], x[:, 0])
    rows = {(tuple(a), tuple(b)) for a, b in zip(x.tolist(), y.tolist(), strict=True)}
    assert rows == {((3, 0, 1, 2), (0, 1, 2, 3)), ((4, 0, 1, 2), (0, 1, 2, 4))}
    assert dataset.vocab_size == 5


def test_memorize_many_to_one_target_is_the_last_symbol() -> None:
    _, x, y = batch("memorize", count=64, framing="many_to_one", encoding="index")
    assert x.shape == (64, 4) and y.shape == (64,)
    assert set(map(tuple, x.tolist())) == {(3, 0, 1, 2), (4, 0, 1, 2)}
    assert torch.equal(y, x[:, 0])


@pytest.mark.parametrize("framing", ["one_to_one", "many_to_one"])
@pytest.mark.parametrize(("length", "num_sequences"), [(3, 2), (8, 4), (6, 1), (12, 7)])
def test_memorize_markers_never_in_the_middle(
    framing: str, length: int, num_sequences: int
) -> None:
    dataset, x, y = batch(
        "memorize",
        count=400,
        encoding="index",
        framing=framing,
        length=length,
        num_sequences=num_sequences,
    )
    assert dataset.vocab_size == length - 2 + num_sequences
    sequences = torch.tensor(full_sequences(x, y, framing))  # (B, L)
    assert sequences.shape == (400, length)
    middle = list(range(length - 2))
    assert all(row == middle for row in sequences[:, 1:-1].tolist())
    assert torch.equal(sequences[:, 0], sequences[:, -1])
    markers = set(sequences[:, 0].tolist())
    assert markers == set(range(length - 2, length - 2 + num_sequences))  # all sequences occur
    assert not markers & set(middle)


@pytest.mark.parametrize(
    ("framing", "metric", "chance"),
    [("one_to_one", "exact_match", 0.0), ("many_to_one", "accuracy", 0.5)],
)
def test_memorize_spec(framing: str, metric: str, chance: float) -> None:
    spec = seqtasks.make("memorize", framing=framing).spec
    assert (spec.input_size, spec.vocab_size, spec.num_classes) == (5, 5, 5)
    assert (spec.target, spec.metric, spec.input_length) == ("classes", metric, 4)
    assert spec.target_shape == ((4,) if framing == "one_to_one" else ())
    assert spec.chance == pytest.approx(chance)
    assert seqtasks.make("memorize", encoding="scaled").spec.input_size == 1
    # with 4 sequences of 6, one target at the end: each marker is 1/4 of them
    many = seqtasks.make("memorize", length=6, num_sequences=4, framing="many_to_one")
    assert many.spec.chance == pytest.approx(0.25)


# ---------------------------------------------------------------------------------- echo
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(
    ("options", "position"),
    [
        ({}, 4),
        ({"lag": 0}, 9),
        ({"lag": 1}, 8),
        ({"lag": 5}, 4),
        ({"position": 0}, 0),
        ({"position": 7}, 7),
        ({"lag": 9}, 0),
    ],
)
def test_echo_target_is_the_value_at_the_position(
    encoding: str, options: dict[str, int], position: int
) -> None:
    dataset, x, y = batch("echo", count=200, encoding=encoding, **options)
    symbols = decode(x, encoding, 100)
    assert symbols.shape == (200, 10)
    assert y.shape == (200,) and y.dtype == torch.int64
    assert torch.equal(y, symbols[:, position])
    assert (dataset.position, dataset.lag) == (position, 9 - position)
    assert int(symbols.min()) >= 0 and int(symbols.max()) < 100
    # the target is not trivially some other column
    other = (position + 1) % 10
    assert not torch.equal(y, symbols[:, other])


def test_echo_length_and_vocab_scale() -> None:
    _, x, y = batch("echo", count=300, encoding="index", length=30, vocab=7, lag=20)
    assert x.shape == (300, 30)
    assert torch.equal(y, x[:, 30 - 1 - 20])
    assert set(x.flatten().tolist()) == set(range(7))


def test_echo_spec() -> None:
    spec = seqtasks.make("echo", vocab=50, length=12, encoding="onehot").spec
    assert (spec.input_size, spec.vocab_size, spec.num_classes) == (50, 50, 50)
    assert (spec.target_layout, spec.target_length, spec.target_shape) == ("last", 1, ())
    assert spec.input_length == 12
    assert spec.chance == pytest.approx(1 / 50)
    assert seqtasks.make("echo", encoding="index").spec.input_size == 100
    assert seqtasks.make("echo", encoding="scaled").spec.input_size == 1


# ---------------------------------------------------------------------------------- shared
@pytest.mark.parametrize("name", INTEGER_PROBLEMS)
def test_encodings_show_the_same_symbols(name: str) -> None:
    decoded = []
    for encoding in ENCODINGS:
        dataset, x, _ = batch(name, count=50, encoding=encoding, seed=3)
        assert (
            x.shape[1:]
            == {
                "onehot": (dataset.spec.input_length, dataset.vocab_size),
                "index": (dataset.spec.input_length,),
                "scaled": (dataset.spec.input_length, 1),
            }[encoding]
        )
        decoded.append(decode(x, encoding, dataset.vocab_size))
    assert torch.equal(decoded[0], decoded[1]) and torch.equal(decoded[1], decoded[2])
    assert int(decoded[0].min()) >= 0 and int(decoded[0].max()) < dataset.vocab_size


FRAMING_CASES = [
    (name, framing, encoding)
    for name in seqtasks.available()
    for framing in seqtasks.make(name).framings
    for encoding in seqtasks.make(name).encodings
]


@pytest.mark.parametrize(("name", "framing", "encoding"), FRAMING_CASES)
def test_shapes_and_dtypes_match_the_spec(name: str, framing: str, encoding: str) -> None:
    dataset, x, y = batch(name, count=6, framing=framing, encoding=encoding)
    spec = dataset.spec
    assert (spec.name, spec.framing, spec.encoding) == (name, framing, encoding)
    assert y.shape == (6, *spec.target_shape)
    assert y.dtype == (torch.int64 if spec.target == "classes" else torch.float32)
    if spec.target == "classes":  # targets equal to ignore_index carry no answer
        answered = y[y != spec.ignore_index]
        assert int(answered.min()) >= 0 and int(answered.max()) < spec.num_classes
    if encoding == "index":
        assert x.shape == (6, spec.input_length) and x.dtype == torch.int64
    else:
        assert x.shape == (6, spec.input_length, spec.input_size) and x.dtype == torch.float32
    assert 0 <= spec.chance <= 1
    sample_x, sample_y = next(iter(dataset))
    assert sample_x.shape == x.shape[1:] and sample_y.shape == spec.target_shape


@pytest.mark.parametrize(
    ("name", "options", "shown"),
    [
        ("ramp", {"window": 9, "seed": 3}, "ramp(window=9): a constant prediction already scores "
         "mse 0, which meets the solved criterion"),
        ("ramp", {"framing": "one_to_one", "length": 2}, "ramp(framing='one_to_one', length=2)"),
        ("memorize", {"framing": "many_to_one", "num_sequences": 1}, "scores accuracy 1, which"),
        ("selective_copy", {"vocab": 3, "split": "test"}, "selective_copy(vocab=3): a constant"),
    ],
)  # fmt: skip
def test_a_problem_a_constant_prediction_solves_is_made_with_a_warning(name, options, shown):
    with pytest.warns(UserWarning, match=re.escape(shown)):
        dataset = seqtasks.make(name, **options)
    assert dataset.spec.is_solved(dataset.spec.chance)


@pytest.mark.parametrize(("name", "framing", "encoding"), FRAMING_CASES)
def test_no_default_problem_is_solved_by_a_constant(name: str, framing: str, encoding: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = seqtasks.make(name, framing=framing, encoding=encoding).spec
    assert not spec.is_solved(spec.chance)
