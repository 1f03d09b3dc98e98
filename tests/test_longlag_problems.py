"""The long-time-lag problems of Hochreiter & Schmidhuber (1997), checked value by value."""

from __future__ import annotations

import math
import statistics

import pytest
import torch

import seqtasks
from seqtasks.base import SequenceTask
from seqtasks.memorize_long import CDF_SCALE, extra_step_edges
from tests.problem_batches import same_bits

SYMBOLS = "abcdXYEB_"  # temporal order ids 0..8


def batch(name: str, count: int = 2000, **options: object) -> tuple[SequenceTask, ...]:
    dataset = seqtasks.make(name, num_samples=count, **options)
    return (dataset, *dataset.generate(0, count))


# ---------------------------------------------------------------------------------- adding
def split_pairs(x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    """(values, markers, padding) of each padded sequence: it starts at its first marker."""
    rows = []
    for values, markers in zip(x[..., 0], x[..., 1], strict=True):
        start = int(torch.nonzero(markers)[0])
        assert torch.all(values[:start] == 0) and torch.all(markers[:start] == 0)  # padding
        rows.append((values[start:], markers[start:], start))
    return rows


@pytest.mark.parametrize(("name", "low"), [("adding", -1.0), ("multiply", 0.0)])
@pytest.mark.parametrize("length", [100, 20, 37])
def test_marked_pairs_value_by_value(name: str, low: float, length: int) -> None:
    dataset, x, y = batch(name, length=length)
    spec = dataset.spec
    steps = length + length // 10
    assert x.shape == (2000, steps, 2) and x.dtype == torch.float32
    assert y.shape == (2000,) and y.dtype == torch.float32
    assert (spec.input_length, spec.input_size, spec.tolerance) == (steps, 2, 0.04)
    assert (spec.metric, spec.target, spec.framing) == ("accuracy", "reals", "many_to_one")
    lengths, positions, rare = set(), set(), 0
    first_pair_value = 0.0 if name == "adding" else 1.0
    for i, (values, markers, _) in enumerate(split_pairs(x)):
        lengths.add(len(values))
        marked = torch.nonzero(markers == 1).flatten().tolist()  # ascending
        assert len(marked) == 2 and marked[0] < 10 and marked[1] < length // 2
        positions.update(marked)
        expected = torch.zeros_like(markers)
        expected[[0, -1]] = -1.0
        expected[marked] = 1.0
        assert torch.equal(markers, expected)  # -1 on the first (unless marked) and last pair
        assert float(values.min()) >= low and float(values[1:].max()) < 1.0  # step 0: X1 = 1.0
        x1, x2 = (float(v) for v in values[marked])
        target = 0.5 + (x1 + x2) / 4 if name == "adding" else x1 * x2
        assert float(y[i]) == pytest.approx(target, abs=1e-7)
        rare += marked[0] == 0 and x1 == first_pair_value
    assert lengths == set(range(length, steps + 1))  # every length T .. T + T//10
    assert positions == set(range(length // 2))
    # the first mark is at step 0 in 1 of 10 sequences, and then X1 is 0 (adding) or 1 (multiply)
    assert 140 <= rare <= 260


def test_marked_pairs_fixed_length() -> None:
    for name in ("adding", "multiply"):
        dataset, x, _ = batch(name, count=300, length=40, vary_length=False)
        assert x.shape == (300, 40, 2) and dataset.spec.input_length == 40
        assert torch.all(x[:, -1, 1] == -1) and torch.all(x[:, 0, 1] != 0)  # no padding
        assert torch.all((x[:, :, 1] == 1).sum(dim=1) == 2)


def test_marked_pairs_solved_thresholds_and_chance() -> None:
    adding, _, y_add = batch("adding", count=20_000)
    multiply, _, y_mul = batch("multiply", count=20_000)
    assert adding.spec.solved_threshold == 1.0 and multiply.spec.solved_threshold == 0.93
    assert adding.spec.is_solved(1.0) and not adding.spec.is_solved(0.999)
    # the best constant predictions (0.5, and the tolerance itself) reach the stated chance
    assert float(((y_add - 0.5).abs() < 0.04).double().mean()) == pytest.approx(
        adding.spec.chance, abs=0.01
    )
    assert float(((y_mul - 0.04).abs() < 0.04).double().mean()) == pytest.approx(
        multiply.spec.chance, abs=0.01
    )
    for y, spec in ((y_add, adding.spec), (y_mul, multiply.spec)):
        grid = torch.linspace(0, 1, 101)
        best = max(float(((y - c).abs() < 0.04).double().mean()) for c in grid)
        assert best <= spec.chance + 0.01
    assert adding.spec.chance == pytest.approx(0.9 * (1 - 1.84**2 / 4) + 0.1 * 0.16)
    assert multiply.spec.chance == pytest.approx(0.9 * 0.08 * (1 - math.log(0.08)) + 0.008)


# ---------------------------------------------------------------------------------- temporal order
def decode_symbols(x: torch.Tensor) -> list[str]:
    return ["".join(SYMBOLS[int(s)] for s in row) for row in x.argmax(dim=-1)]


@pytest.mark.parametrize(
    ("num_relevant", "windows"),
    [(2, [(10, 20), (50, 60)]), (3, [(10, 20), (33, 43), (66, 76)])],
)
def test_temporal_order_value_by_value(num_relevant: int, windows: list[tuple[int, int]]) -> None:
    dataset, x, y = batch("temporal_order", num_relevant=num_relevant)
    assert x.shape == (2000, 110, 9) and dataset.spec.num_classes == 2**num_relevant
    lengths, positions, classes = set(), set(), set()
    for text, label in zip(decode_symbols(x), y.tolist(), strict=True):
        sequence = text.lstrip("_")  # left padding, then E ... B
        lengths.add(len(sequence))
        assert "_" not in sequence and sequence[0] == "E" and sequence[-1] == "B"
        relevant = [t for t, s in enumerate(sequence, start=1) if s in "XY"]  # t counted from 1
        assert len(relevant) == num_relevant
        assert all(low <= t <= high for t, (low, high) in zip(relevant, windows, strict=True))
        assert set(sequence[1:-1]) - set("XY") <= set("abcd")
        order = "".join(sequence[t - 1] for t in relevant)
        assert label == int(order.replace("X", "0").replace("Y", "1"), 2)  # XX=Q=0 .. YY=U=3
        positions.update((i, t) for i, t in enumerate(relevant))
        classes.add(label)
    assert lengths == set(range(100, 111))
    assert classes == set(range(2**num_relevant))
    expected = {(i, t) for i, (low, high) in enumerate(windows) for t in range(low, high + 1)}
    assert positions == expected  # every position of every window occurs


def test_temporal_order_fixed_length_and_encodings() -> None:
    decoded = []
    for encoding in ("onehot", "index", "scaled"):
        dataset, x, _ = batch(
            "temporal_order", count=50, length=80, vary_length=False, encoding=encoding, seed=5
        )
        assert dataset.vocab_size == 8 and dataset.spec.input_length == 80  # no padding symbol
        if encoding == "onehot":
            x = x.argmax(dim=-1)
        elif encoding == "scaled":
            x = torch.round(x.squeeze(-1) * 7).long()
        decoded.append(x)
    assert torch.equal(decoded[0], decoded[1]) and torch.equal(decoded[1], decoded[2])
    assert torch.all(decoded[0][:, 0] == 6) and torch.all(decoded[0][:, -1] == 7)  # E ... B


# ---------------------------------------------------------------------------------- memorize_long
def test_memorize_long_2a_is_memorize_at_length_p_plus_1() -> None:
    for framing in ("one_to_one", "many_to_one"):
        long = batch("memorize_long", count=100, p=30, framing=framing, encoding="index")
        short = batch("memorize", count=100, length=31, framing=framing, encoding="index")
        assert same_bits(long[1:], short[1:])
        assert long[0].spec.num_classes == 31 and long[0].spec.input_length == 30
    _, x, y = batch("memorize_long", count=100, p=100, framing="one_to_one", encoding="index")
    assert torch.equal(x[:, 1:], torch.arange(99).expand(100, -1))  # a_1 .. a_99 = ids 0 .. 98
    assert torch.equal(y[:, :-1], x[:, 1:]) and torch.equal(y[:, -1], x[:, 0])
    assert set(x[:, 0].tolist()) == {99, 100}  # x, y


def test_memorize_long_2b_random_middle() -> None:
    dataset, x, y = batch("memorize_long", count=500, variant="2b", p=50, encoding="index")
    assert x.shape == (500, 50) and y.shape == (500,) and dataset.vocab_size == 51
    assert torch.equal(y, x[:, 0]) and set(y.tolist()) == {49, 50}
    middle = x[:, 1:]
    assert int(middle.min()) == 0 and int(middle.max()) == 48  # a_1 .. a_49
    assert len({tuple(row) for row in middle.tolist()}) == 500  # no two middles alike


def test_memorize_long_2c_structure_and_lengths() -> None:
    p, q, extra = 20, 30, 50
    dataset, x, y = batch("memorize_long", count=4000, variant="2c", p=p, encoding="index")
    e, b, pad = p, p + 1, p + 4
    assert dataset.q == p and x.shape == (4000, p + extra + 3)  # default q = p
    dataset, x, y = batch("memorize_long", count=4000, variant="2c", p=p, q=q, encoding="index")
    assert x.shape == (4000, q + extra + 3) and dataset.vocab_size == p + 5
    extras = []
    for row, target in zip(x.tolist(), y.tolist(), strict=True):
        sequence = row[row.index(b) :]
        assert all(s == pad for s in row[: row.index(b)])
        assert sequence[1] == target and target in (p + 2, p + 3)  # x or y, remembered
        assert sequence[-1] == e and all(0 <= s < p for s in sequence[2:-1])
        extras.append(len(sequence) - q - 3)
    counts = torch.bincount(torch.tensor(extras), minlength=extra + 1).double()
    assert len(counts) == extra + 1 and counts[0] > 0  # 0 <= k <= max_extra
    weights = torch.tensor([0.9**k for k in range(extra + 1)], dtype=torch.float64)
    mean = float((weights * torch.arange(extra + 1)).sum() / weights.sum())
    assert statistics.fmean(extras) == pytest.approx(mean, abs=0.4)  # truncated geometric
    assert counts[0] / 4000 == pytest.approx(float(weights[0] / weights.sum()), abs=0.02)
    _, x, _ = batch("memorize_long", count=50, variant="2c", p=5, q=8, max_extra=0)
    assert x.shape == (50, 11, 9)  # fixed length q + 3, no padding symbol


@pytest.mark.parametrize("max_extra", [0, 1, 50, 219, 220, 400, 8000])
def test_memorize_long_2c_cdf_edges_are_the_full_sum_cut_where_no_draw_reaches(max_extra) -> None:
    """The k draw's edges: the running sums of all max_extra + 1 weights, less the tail at or
    above the grid's top, which no draw reaches (so k is the same for every draw)."""
    weights = [0.9**k for k in range(max_extra + 1)]
    total, running, full = sum(weights), 0.0, []
    for weight in weights[:-1]:
        running += weight
        full.append(round(running / total * CDF_SCALE))
    edges = extra_step_edges(max_extra)
    assert edges == full[: len(edges)] and all(e >= CDF_SCALE for e in full[len(edges) :])
    assert len(edges) <= 220  # bounded work, whatever max_extra is
