"""Value-by-value checks of the subsequence and classify problems."""

from __future__ import annotations

import pytest
import torch

import seqtasks
from tests.problem_batches import ENCODINGS, batch, decode


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
