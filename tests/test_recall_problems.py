"""associative_recall and selective_copy, checked value by value against their definitions."""

from __future__ import annotations

import re

import pytest
import torch

import seqtasks
from seqtasks import IGNORE_INDEX
from seqtasks.associative_recall import AssociativeRecall
from seqtasks.selective_copy import SelectiveCopy

NO = IGNORE_INDEX


def batch(name: str, count: int, **options: object) -> tuple[object, torch.Tensor, torch.Tensor]:
    dataset = seqtasks.make(name, num_samples=count, encoding="index", **options)
    return (dataset, *dataset.generate(0, count))


def table_rows(doc: str) -> dict[str, list[str]]:
    """The rows of the first reStructuredText table of a docstring, by their first cell."""
    rows = {}
    for line in doc.splitlines():
        cells = line.split()
        if cells and not set(cells[0]) <= {"="}:
            rows.setdefault(cells[0], cells[1:])
    return rows


# ---------------------------------------------------------------------------------- MQAR
def mqar_sample(
    pairs: list[tuple[int, int]], slots: list[int], fill: list[int]
) -> tuple[list[int], list[int]]:
    """One one-to-one sample written out from the definition: the block ``k1 v1 ...``, then key
    ``i`` at step ``2n + 2 (slot_i - 1)`` with its value as target; ``fill`` elsewhere."""
    x = [k_or_v for pair in pairs for k_or_v in pair] + list(fill)
    y = [NO] * len(x)
    for (key, value), slot in zip(pairs, slots, strict=True):
        step = 2 * len(pairs) + 2 * (slot - 1)
        x[step], y[step] = key, value
    return x, y


def test_mqar_worked_example_of_the_docstring() -> None:
    x, y = mqar_sample([(5, 9), (2, 14)], slots=[2, 1], fill=[0] * 8)
    rows = table_rows(AssociativeRecall.__doc__)
    assert x == [5, 9, 2, 14, 2, 0, 5, 0, 0, 0, 0, 0] and rows["x"] == [str(v) for v in x]
    assert rows["y"] == ["-" if v == NO else str(v) for v in y]


@pytest.mark.parametrize(
    ("length", "num_pairs", "vocab", "random_non_queries"),
    [(64, 4, 128, True), (16, 2, 32, False), (20, 5, 21, True), (12, 1, 8192, False)],
)
def test_mqar_rows_follow_the_definition(length, num_pairs, vocab, random_non_queries) -> None:
    _, x, y = batch("associative_recall", 300, length=length, num_pairs=num_pairs, vocab=vocab,
                    random_non_queries=random_non_queries)  # fmt: skip
    assert x.shape == y.shape == (300, length)
    half, n = vocab // 2, num_pairs
    for row_x, row_y in zip(x.tolist(), y.tolist(), strict=True):
        keys, values = row_x[0 : 2 * n : 2], row_x[1 : 2 * n : 2]
        assert len(set(keys)) == n and all(1 <= k < half for k in keys)
        assert len(set(values)) == n and all(half <= v < vocab for v in values)
        queries = [t for t in range(length) if row_y[t] != NO]
        assert len(queries) == n and all(t >= 2 * n and (t - 2 * n) % 2 == 0 for t in queries)
        slots = [1 + (queries[[row_x[t] for t in queries].index(k)] - 2 * n) // 2 for k in keys]
        fill = [v if t not in queries else 0 for t, v in enumerate(row_x)][2 * n :]
        assert (row_x, row_y) == mqar_sample(list(zip(keys, values, strict=True)), slots, fill)
        if random_non_queries:
            assert all(0 <= v < vocab for v in fill)
        else:
            assert set(fill) <= {0}


def test_mqar_random_non_queries_cover_the_vocabulary() -> None:
    _, x, y = batch("associative_recall", 400, length=32, num_pairs=2, vocab=40)
    fill = x[:, 4:][y[:, 4:] == NO]
    assert set(fill.tolist()) == set(range(40))


@pytest.mark.parametrize("power_a", [0.01, 0.5, 2.0])
def test_mqar_gap_slots_follow_the_power_law(power_a: float) -> None:
    count, slots = 40_000, 5  # length 12, one pair: slots 1 .. 5
    _, _, y = batch("associative_recall", count, length=12, num_pairs=1, vocab=16,
                    power_a=power_a)  # fmt: skip
    step = (y != NO).to(torch.int64).argmax(dim=1)  # (B,)
    seen = torch.bincount((step - 2) // 2, minlength=slots).double() / count
    weights = torch.arange(1, slots + 1, dtype=torch.float64) ** (power_a - 1)
    expected = weights / weights.sum()
    assert torch.all((seen - expected).abs() < 4 * (expected / count) ** 0.5 + 1e-9), seen


def test_mqar_second_slot_is_drawn_among_those_left() -> None:
    count = 40_000
    _, x, y = batch("associative_recall", count, length=12, num_pairs=2, vocab=16, power_a=0.5)
    w = [g**-0.5 for g in range(1, 5)]  # slots 1 .. 4
    first_key = x[:, 0]
    step_of_first = (x[:, 4:] == first_key[:, None]) & (y[:, 4:] != NO)
    slot_first = step_of_first.to(torch.int64).argmax(dim=1) // 2  # (B,) 0-based
    seen = torch.bincount(slot_first, minlength=4).double() / count
    # key 1 takes the first draw: p(g) = w_g / sum(w)
    expected = torch.tensor(w, dtype=torch.float64) / sum(w)
    assert torch.all((seen - expected).abs() < 0.015), seen


def test_mqar_keys_and_values_are_uniform() -> None:
    _, x, _ = batch("associative_recall", 6000, length=16, num_pairs=2, vocab=20)
    keys, values = x[:, 0:4:2].reshape(-1), x[:, 1:4:2].reshape(-1)
    for symbols, pool in ((keys, range(1, 10)), (values, range(10, 20))):
        counts = torch.bincount(symbols, minlength=20)[list(pool)].double()
        mean = len(symbols) / len(pool)
        assert torch.all((counts - mean).abs() < 5 * mean**0.5), counts


def test_mqar_many_to_one_queries_one_key_at_the_end() -> None:
    _, x, y = batch("associative_recall", 500, framing="many_to_one", length=11, num_pairs=3,
                    vocab=16, random_non_queries=False)  # fmt: skip
    assert y.shape == (500,)
    asked = []
    for row_x, target in zip(x.tolist(), y.tolist(), strict=True):
        keys, values = row_x[0:6:2], row_x[1:6:2]
        assert row_x[6:10] == [0] * 4 and row_x[10] in keys
        asked.append(keys.index(row_x[10]))
        assert target == values[asked[-1]]
    assert set(asked) == {0, 1, 2}


def test_mqar_spec_and_chance() -> None:
    spec = seqtasks.make("associative_recall").spec
    assert (spec.encoding, spec.input_length, spec.num_classes) == ("index", 64, 128)
    assert (spec.target_layout, spec.metric, spec.ignore_index) == ("per_step", "accuracy", -100)
    assert spec.chance == 1 / 64 and spec.solved_threshold == 0.99
    many = seqtasks.make("associative_recall", framing="many_to_one", length=9, vocab=11).spec
    assert many.target_shape == () and many.chance == 1 / 6


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"length": 63}, "length=63"),
        ({"length": 64, "num_pairs": 17}, "num_pairs=17"),
        ({"framing": "many_to_one", "length": 8, "num_pairs": 4}, "num_pairs=4"),
        ({"vocab": 64}, "vocab=64"),
        ({"length": 200}, "length=200"),
        ({"power_a": 0.0}, "power_a=0.0"),
        ({"framing": "many_to_one", "power_a": 0.5}, "power_a=0.5 applies to framing='one_to_one'"),
        ({"random_non_queries": 1}, "random_non_queries"),
    ],
)
def test_mqar_refuses_what_the_definition_cannot_meet(options, named) -> None:
    with pytest.raises((ValueError, TypeError), match=re.escape(named)):
        seqtasks.make("associative_recall", **options)


# ---------------------------------------------------------------------------------- copying
def copy_sample(data: list[int], places: list[int], length: int, vocab: int) -> tuple[list, list]:
    """One one-to-one selective-copying sample written out from the definition."""
    n, blank, marker = len(data), vocab - 2, vocab - 1
    x = [blank] * (length - n - 1) + [marker] + [blank] * n
    for place, symbol in zip(places, data, strict=True):
        x[place] = symbol
    return x, [NO] * (length - n) + data


def test_selective_copy_worked_example_of_the_docstring() -> None:
    x, y = copy_sample([3, 0, 2], [1, 4, 5], length=11, vocab=6)
    rows = table_rows(SelectiveCopy.__doc__)
    assert x == [4, 3, 4, 4, 0, 2, 4, 5, 4, 4, 4] and rows["x"] == [str(v) for v in x]
    assert rows["y"] == ["-" if v == NO else str(v) for v in y]


@pytest.mark.parametrize(
    ("length", "num_tokens", "vocab", "selective"),
    [(64, 8, 16, True), (256, 16, 16, True), (7, 3, 3, True), (20, 4, 10, False)],
)
def test_selective_copy_rows_follow_the_definition(length, num_tokens, vocab, selective) -> None:
    options = dict(length=length, num_tokens=num_tokens, vocab=vocab, selective=selective)
    dataset, x, y = batch("selective_copy", 200, **options)
    _, _, data = batch("selective_copy", 200, framing="seq2seq", **options)
    assert dataset.marker_step == length - num_tokens - 1
    assert x.shape == y.shape == (200, length) and data.shape == (200, num_tokens)
    for row_x, row_y, row_data in zip(x.tolist(), y.tolist(), data.tolist(), strict=True):
        places = [t for t in range(length - num_tokens - 1) if row_x[t] != vocab - 2]
        assert len(places) == num_tokens and all(0 <= s < vocab - 2 for s in row_data)
        if not selective:
            assert places == list(range(num_tokens))
        assert (row_x, row_y) == copy_sample(row_data, places, length, vocab)


def test_selective_copy_places_are_uniform() -> None:
    count, length, n = 20_000, 13, 3  # places among the first 9 steps
    _, x, _ = batch("selective_copy", count, length=length, num_tokens=n, vocab=5)
    seen = (x[:, :9] != 3).double().mean(dim=0)  # (9,): how often each step holds data
    assert torch.all((seen - n / 9).abs() < 0.015), seen
    pairs = ((x[:, 0] != 3) & (x[:, 1] != 3)).double().mean()  # both of two given steps
    assert abs(float(pairs) - (3 / 9) * (2 / 8)) < 0.01


def test_selective_copy_spec_and_refusals() -> None:
    spec = seqtasks.make("selective_copy").spec
    assert (spec.input_length, spec.num_classes, spec.target_layout) == (32, 14, "per_step")
    assert spec.chance == 1 / 14 and spec.metric == "accuracy"
    seq = seqtasks.make("selective_copy", framing="seq2seq", num_tokens=5).spec
    assert (seq.target_layout, seq.target_shape) == ("sequence", (5,))
    with pytest.raises(ValueError, match=r"num_tokens=8 does not fit in length=16"):
        seqtasks.make("selective_copy", length=16)
    with pytest.raises(ValueError, match=r"vocab=2 is out of range"):
        seqtasks.make("selective_copy", vocab=2)


def test_a_length_above_max_steps_is_refused_before_anything_is_built(monkeypatch) -> None:
    # the query slots' weights have length/2 entries: a refused length must not build them first
    def no_tensors(*args, **kwargs):
        raise AssertionError("a tensor was built before the length was refused")

    monkeypatch.setattr("seqtasks.associative_recall.torch.arange", no_tensors)
    length = 2 * seqtasks.MAX_STEPS
    with pytest.raises(ValueError, match=rf"length={length}.*MAX_STEPS"):
        seqtasks.make("associative_recall", length=length, vocab=length + 1)
