"""Value-by-value checks of every problem, of the encodings and of the counter-based generator."""

from __future__ import annotations

import random
import statistics

import pytest
import torch

import seqtasks
from seqtasks import _random
from seqtasks.base import SequenceTask

INTEGER_PROBLEMS = ("memorize", "echo", "subsequence")
ENCODINGS = ("onehot", "index", "scaled")


def batch(
    name: str, count: int = 64, **options: object
) -> tuple[SequenceTask, torch.Tensor, torch.Tensor]:
    """A dataset and its first ``count`` samples as one batch."""
    dataset = seqtasks.make(name, num_samples=count, **options)
    inputs, targets = dataset.generate(0, count)
    return dataset, inputs, targets


def decode(inputs: torch.Tensor, encoding: str, vocab: int) -> torch.Tensor:
    """Symbol ids ``(B, T)`` int64 back from encoded inputs, checking the encoding on the way."""
    if encoding == "onehot":
        assert inputs.dtype == torch.float32 and inputs.shape[-1] == vocab
        assert torch.all((inputs == 0) | (inputs == 1))
        assert torch.all(inputs.sum(dim=-1) == 1)  # exactly one 1 per step
        return inputs.argmax(dim=-1)
    if encoding == "index":
        assert inputs.dtype == torch.int64 and inputs.dim() == 2
        return inputs
    assert encoding == "scaled"
    assert inputs.dtype == torch.float32 and inputs.shape[-1] == 1
    assert torch.all((inputs >= 0) & (inputs <= 1))
    symbols = torch.round(inputs.squeeze(-1).double() * (vocab - 1)).long()
    expected = symbols.to(torch.float32) / (vocab - 1)
    assert torch.equal(inputs.squeeze(-1), expected)
    return symbols


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


# ---------------------------------------------------------------------------------- subsequence
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(
    ("framing", "layout"), [("many_to_one", "last"), ("one_to_one", "per_step")]
)
def test_subsequence_whole_sequence_framings(framing: str, layout: str, encoding: str) -> None:
    dataset, x, y = batch("subsequence", count=100, framing=framing, encoding=encoding)
    symbols = decode(x, encoding, 10)
    assert symbols.shape == (100, 5) and y.shape == (100, 5) and y.dtype == torch.int64
    assert torch.equal(y, symbols)
    assert dataset.spec.target_layout == layout and dataset.spec.target_length == 5


@pytest.mark.parametrize(
    ("options", "start", "size"),
    [
        ({}, 0, 3),
        ({"start": 0, "size": 3}, 0, 3),
        ({"start": 2, "size": 2}, 2, 2),
        ({"start": 1}, 1, 3),
        ({"start": 4}, 4, 1),
        ({"start": 0, "size": 5}, 0, 5),
        ({"size": 1}, 0, 1),
    ],
)
def test_subsequence_seq2seq_slices(options: dict[str, int], start: int, size: int) -> None:
    dataset, x, y = batch("subsequence", count=100, framing="seq2seq", encoding="index", **options)
    assert y.shape == (100, size) and dataset.spec.target_shape == (size,)
    assert torch.equal(y, x[:, start : start + size])
    assert dataset.spec.target_layout == "sequence"


def test_subsequence_first_three_by_hand() -> None:
    _, x, y = batch("subsequence", count=20, framing="seq2seq", start=0, size=3, encoding="index")
    for row_x, row_y in zip(x.tolist(), y.tolist(), strict=True):
        assert row_y == [row_x[0], row_x[1], row_x[2]]


def test_subsequence_spec_and_values() -> None:
    dataset, x, _ = batch("subsequence", count=500, vocab=13, length=9, encoding="index")
    assert set(x.flatten().tolist()) == set(range(13))
    spec = dataset.spec
    assert (spec.input_size, spec.num_classes, spec.input_length) == (13, 13, 9)
    assert spec.chance == pytest.approx(1 / 13)


# ---------------------------------------------------------------------------------- classify
@pytest.mark.parametrize(
    ("options", "limit"), [({}, 2.5), ({"length": 20, "threshold": 0.5}, 10.0)]
)
def test_classify_labels_follow_the_running_sum(options: dict[str, float], limit: float) -> None:
    dataset, x, y = batch("classify", count=300, **options)
    length = dataset.length
    assert x.shape == (300, length, 1) and x.dtype == torch.float32
    assert y.shape == (300, length) and y.dtype == torch.int64
    values = x.squeeze(-1)
    assert float(values.min()) >= 0.0 and float(values.max()) < 1.0
    assert torch.equal(values * 2**24, torch.floor(values * 2**24))  # on the 2**-24 grid
    for row_x, row_y in zip(values.tolist()[:50], y.tolist()[:50], strict=True):
        running, expected = 0.0, []
        for value in row_x:  # float64 sums, including the current step
            running += value
            expected.append(int(running >= limit))
        assert row_y == expected
    assert torch.equal(y, (values.double().cumsum(1) >= limit).long())
    assert torch.all(y[:, 1:] >= y[:, :-1])  # 0 ... 0 1 ... 1
    assert set(y.flatten().tolist()) == {0, 1}
    assert int(y[:, -1].sum()) > 0 and int(y[:, 0].sum()) == 0  # both kinds of sequence


def test_classify_threshold_default_is_a_quarter_of_the_length() -> None:
    dataset = seqtasks.make("classify", length=10)
    assert dataset.threshold * dataset.length == pytest.approx(2.5)
    spec = dataset.spec
    assert (spec.input_size, spec.vocab_size, spec.num_classes) == (1, None, 2)
    assert (spec.target_layout, spec.target_shape, spec.encoding) == ("per_step", (10,), "real")
    _, _, y = batch("classify", count=4000)
    ones = float(y.double().mean())
    assert spec.chance == pytest.approx(max(ones, 1 - ones), abs=0.01)
    assert 0.5 <= spec.chance < 1.0


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


# ---------------------------------------------------------------------------------- generator
def reference_mix(value: int) -> int:
    """SplitMix64's output function, written out independently of the package."""
    mask = (1 << 64) - 1
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & mask
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & mask
    return value ^ (value >> 31)


def to_signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


EDGE_VALUES = [
    0,
    1,
    2,
    3,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**62,
    2**63 - 1,
    2**63,
    2**63 + 1,
    2**64 - 2,
    2**64 - 1,
    _random.GOLDEN,
]


def test_mix64_matches_the_python_reference() -> None:
    rng = random.Random(20240601)
    values = EDGE_VALUES + [1 << k for k in range(64)] + [rng.getrandbits(64) for _ in range(5000)]
    tensor = torch.tensor([to_signed(v) for v in values], dtype=torch.int64)
    mixed = _random.mix64(tensor).tolist()
    for value, got in zip(values, mixed, strict=True):
        expected = _random.mix64_int(value)
        assert expected == reference_mix(value)
        assert got & _random.MASK64 == expected, hex(value)


def test_mix64_int_reproduces_published_splitmix64_outputs() -> None:
    state, outputs = 1234567, []
    for _ in range(5):
        state = (state + _random.GOLDEN) & _random.MASK64
        outputs.append(_random.mix64_int(state))
    assert outputs == [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
        4593380528125082431,
        16408922859458223821,
    ]
    assert _random.mix64_int(_random.GOLDEN) == 0xE220A8397B1DCDAF  # first output of seed 0


def keys(count: int, seed: int = 7) -> torch.Tensor:
    return _random.sample_keys(_random.stream_key(seed, 0, 0), torch.arange(count))


def chi_square(counts: torch.Tensor) -> float:
    expected = counts.sum() / len(counts)
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.mark.parametrize("high", [1, 2, 3, 7, 10, 100, 2**31 - 1])
def test_integers_range(high: int) -> None:
    values = _random.integers(keys(2000), 0, 50, high)
    assert values.shape == (2000, 50) and values.dtype == torch.int64
    assert int(values.min()) >= 0 and int(values.max()) < high
    if high <= 100:
        assert set(values.flatten().tolist()) == set(range(high))
    else:
        assert int(values.max()) > high // 2 and int(values.min()) < high // 2


def test_integers_roughly_uniform() -> None:
    values = _random.integers(keys(10_000), 3, 20, 10).flatten()  # 200k draws in 10 bins
    statistic = chi_square(torch.bincount(values, minlength=10).double())
    assert statistic < 40  # 9 degrees of freedom: P(chi2 > 40) < 1e-5


@pytest.mark.parametrize("high", [0, -1, 2**31])
def test_integers_rejects_unsupported_high(high: int) -> None:
    with pytest.raises(ValueError, match=f"high={high}"):
        _random.integers(keys(2), 0, 1, high)


def test_uniform_range_grid_and_spread() -> None:
    values = _random.uniform(keys(10_000), 0, 20).flatten()
    assert values.dtype == torch.float32
    assert float(values.min()) >= 0.0 and float(values.max()) < 1.0
    assert torch.equal(values * 2**24, torch.floor(values * 2**24))
    assert float(values.double().mean()) == pytest.approx(0.5, abs=0.005)
    counts = torch.histc(values, bins=20, min=0.0, max=1.0).double()
    assert chi_square(counts) < 60  # 19 degrees of freedom: P(chi2 > 60) < 1e-5


def test_draws_are_counters() -> None:
    sample_keys = keys(100)
    # a longer draw starts with the shorter one: values depend on their coordinates only
    assert torch.equal(_random.bits(sample_keys, 2, 5)[:, :3], _random.bits(sample_keys, 2, 3))
    assert torch.equal(
        _random.bits(sample_keys[10:20], 2, 5), _random.bits(sample_keys, 2, 5)[10:20]
    )
    # different draws, streams and indices give different words
    assert not torch.equal(_random.bits(sample_keys, 0, 4), _random.bits(sample_keys, 1, 4))
    assert len(set(_random.bits(sample_keys, 0, 4).flatten().tolist())) == 400
    streams = {
        _random.stream_key(seed, split, epoch)
        for seed in range(3)
        for split in range(3)
        for epoch in range(3)
    }
    assert len(streams) == 27
