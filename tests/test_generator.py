"""The counter-based generator: SplitMix64 against an independent reference and its published
outputs, the range and spread of its draws, draws as pure functions of their counters."""

from __future__ import annotations

import random

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from seqtasks import _random


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


@given(start=st.integers(0, 2**62), count=st.integers(1, 300), step=st.integers(1, 10**6),
       stream=st.integers(-(2**63), 2**63 - 1))  # fmt: skip
def test_range_keys_are_the_keys_of_the_indices(start, count, step, stream) -> None:
    stop = min(start + count * step, 2**63 - 1)
    indices = torch.arange(start, stop, step)
    expected = _random.sample_keys(stream, indices)
    assert torch.equal(_random.range_keys(stream, start, len(indices), step), expected)


@given(high=st.integers(1, 2**31 - 1) | st.sampled_from([2**k for k in range(31)]),
       draw=st.integers(0, 7), count=st.integers(1, 9), seed=st.integers(0, 2**63 - 1))  # fmt: skip
def test_integers_are_the_multiply_high_of_the_words(high, draw, count, seed) -> None:
    """integers() (also its shortcut for powers of two, and integers_each) from bits()."""
    keys = _random.range_keys(_random.stream_key(seed, 0, 0), 0, 64)
    words = _random.bits(keys, draw, count)
    expected = (((words >> 32) & 0xFFFFFFFF) * high) >> 32  # (B, count)
    assert torch.equal(_random.integers(keys, draw, count, high), expected)
    each = _random.integers_each(keys, (draw, draw + 1), (high, 3))
    assert torch.equal(each[:, 0], expected[:, 0])
    assert torch.equal(each[:, 1], _random.integers(keys, draw + 1, 1, 3)[:, 0])


@given(shifts=st.lists(st.integers(0, 50), min_size=1, max_size=20), draw=st.integers(0, 5))
def test_shifted_keys_move_every_word(shifts, draw) -> None:
    keys = _random.range_keys(12345, 10**9, len(shifts))
    steps = torch.tensor(shifts)
    moved = _random.bits(_random.shift_keys(keys, steps), draw, 60)  # (B, 60)
    words = _random.bits(keys, draw, 60)
    for row, shift in enumerate(shifts):
        assert torch.equal(moved[row, shift:], words[row, : 60 - shift])


def test_unit_scales_only_by_powers_of_two() -> None:
    grid = torch.tensor([[0, 1, 2**24 - 1]])
    assert _random.unit(grid, 2.0).tolist() == [[0.0, 2.0**-23, 2.0 - 2.0**-23]]
    with pytest.raises(ValueError, match=r"scale=3.0 is not a power of two"):
        _random.unit(grid, 3.0)
