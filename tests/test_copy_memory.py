"""The copy-memory task, checked value by value against its definition."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import seqtasks
from seqtasks.base import MAX_STEPS
from seqtasks.copy_memory import CopyMemory


def batch(count: int = 500, **options: object) -> tuple[CopyMemory, torch.Tensor, torch.Tensor]:
    dataset = seqtasks.make("copy_memory", num_samples=count, encoding="index", **options)
    return (dataset, *dataset.generate(0, count))


def expected_sample(memory: list[int], delay: int, variant: str) -> tuple[list[int], list[int]]:
    """Input and target of one sample, written out from the definition step by step."""
    size = len(memory)
    after = [9] * size if variant == "bai" else [0] * size
    x = memory + [0] * (delay - 1) + [9] + after
    y = [0] * (delay + size) + memory
    return x, y


@pytest.mark.parametrize("variant", ["bai", "arjovsky"])
@pytest.mark.parametrize(("delay", "symbols"), [(100, 10), (1, 10), (7, 3), (30, 1)])
def test_values_follow_the_definition(delay: int, symbols: int, variant: str) -> None:
    dataset, x, y = batch(delay=delay, symbols=symbols, variant=variant)
    length = delay + 2 * symbols
    assert x.shape == (500, length) and y.shape == (500, length)
    assert x.dtype == y.dtype == torch.int64
    assert dataset.marker_step == symbols + delay - 1
    for row_x, row_y in zip(x.tolist(), y.tolist(), strict=True):
        memory = row_x[:symbols]
        assert all(1 <= s <= 8 for s in memory), memory
        assert (row_x, row_y) == expected_sample(memory, delay, variant)


def test_worked_example_of_the_docstring() -> None:
    x, y = expected_sample([5, 2, 8], delay=4, variant="bai")
    assert x == [5, 2, 8, 0, 0, 0, 9, 9, 9, 9] and y == [0, 0, 0, 0, 0, 0, 0, 5, 2, 8]
    x, _ = expected_sample([5, 2, 8], delay=4, variant="arjovsky")
    assert x == [5, 2, 8, 0, 0, 0, 9, 0, 0, 0]
    assert "5     2     8     0     0     0     9     9     9     9" in CopyMemory.__doc__


def test_bai_et_al_size_t_plus_20_with_the_marker_at_t_plus_9() -> None:
    _, x, y = batch(count=50, delay=1000)
    assert x.shape == (50, 1020)
    assert torch.all(x[:, 10:1009] == 0) and torch.all(x[:, 1009:] == 9)  # the last 11 are 9s
    assert torch.all(y[:, :1010] == 0) and torch.equal(y[:, 1010:], x[:, :10])


def test_symbols_are_uniform_over_1_to_8_and_independent() -> None:
    _, x, _ = batch(count=8000, delay=2)
    memory = x[:, :10]  # (8000, 10)
    counts = torch.bincount(memory.flatten(), minlength=9)
    assert counts[0] == 0 and torch.all((counts[1:] / memory.numel() - 1 / 8).abs() < 0.01)
    same_as_first = (memory[:, 1:] == memory[:, :1]).float().mean()  # 1/8 if independent
    assert abs(float(same_as_first) - 1 / 8) < 0.01
    repeats = 8000 - len({tuple(row) for row in memory.tolist()})
    assert repeats <= 3  # of 8**10 sequences: 0.03 pairs of 8,000 alike on average


@pytest.mark.parametrize("encoding", ["onehot", "index", "scaled"])
def test_encodings_and_spec(encoding: str) -> None:
    dataset = seqtasks.make("copy_memory", delay=20, encoding=encoding, num_samples=8)
    x, y = dataset.generate(0, 8)
    symbols = seqtasks.make("copy_memory", delay=20, encoding="index", num_samples=8)
    index, target = symbols.generate(0, 8)
    assert torch.equal(y, target)
    spec = dataset.spec
    assert (spec.input_length, spec.target_length, spec.num_classes) == (40, 40, 10)
    assert (spec.framing, spec.target_layout, spec.vocab_size) == ("one_to_one", "per_step", 10)
    assert (spec.metric, spec.solved_threshold) == ("exact_match", 0.99)
    if encoding == "onehot":
        assert x.shape == (8, 40, 10) and torch.equal(x.argmax(-1), index)
        assert torch.all(x.sum(-1) == 1)
    elif encoding == "scaled":
        assert x.shape == (8, 40, 1) and torch.allclose(x[..., 0] * 9, index.float())
    else:
        assert x.shape == (8, 40)


def memoryless_log_probs(dataset: CopyMemory, count: int) -> torch.Tensor:
    """The best model without memory: blank until the marker, then 1..8 equally: (B, L, 10)."""
    length, recall = dataset.spec.input_length, dataset.marker_step + 1
    probs = torch.zeros(length, 10)
    probs[:recall, 0] = 1.0
    probs[recall:, 1:9] = 1 / 8
    return probs.log().expand(count, -1, -1)


@pytest.mark.parametrize(("delay", "symbols"), [(1000, 10), (100, 10), (5, 2)])
def test_memoryless_loss_is_s_ln8_over_t_plus_2s(delay: int, symbols: int) -> None:
    dataset, _, y = batch(count=64, delay=delay, symbols=symbols)
    log_probs = memoryless_log_probs(dataset, 64)
    loss = F.cross_entropy(log_probs.reshape(-1, 10), y.reshape(-1))  # the models' own loss
    assert float(loss) == pytest.approx(symbols * math.log(8) / (delay + 2 * symbols), rel=1e-6)
    assert dataset.memoryless_loss == pytest.approx(float(loss), rel=1e-6)
    if delay == 1000:
        assert round(dataset.memoryless_loss, 4) == 0.0204  # Bai et al.'s LSTM row: no recall


def test_chance_is_zero_and_the_memoryless_exact_match_8_to_the_minus_s() -> None:
    dataset, _, y = batch(count=8000, delay=5, symbols=1)
    assert dataset.spec.chance == 0.0  # one class at every step: never blanks and symbol both
    guess = torch.zeros_like(y)
    guess[:, -1] = 3  # blanks right, one fixed guess for the recalled symbol
    exact = (guess == y).all(dim=1).float().mean()
    assert abs(float(exact) - 1 / 8) < 0.01
    per_step = (guess == y).float().mean()  # why per-step accuracy is not the criterion
    assert float(per_step) == pytest.approx((5 + 1 + 1 / 8) / 7, abs=0.01)
    assert not dataset.spec.is_solved(float(exact))
    assert seqtasks.make("copy_memory").spec.chance == 0.0


def test_reproducible_fresh_training_epochs_fixed_evaluation_sets() -> None:
    def draw(**options: object) -> torch.Tensor:
        return seqtasks.make("copy_memory", delay=10, num_samples=64, **options).generate(0, 64)[0]

    assert torch.equal(draw(seed=3), draw(seed=3))
    assert not torch.equal(draw(seed=3), draw(seed=4))
    train = seqtasks.make("copy_memory", delay=10, num_samples=64)
    first = train.generate(0, 64)[0]
    train.set_epoch(1)
    assert not torch.equal(first, train.generate(0, 64)[0])
    val = seqtasks.make("copy_memory", delay=10, num_samples=64, split="val")
    fixed = val.generate(0, 64)[0]
    val.set_epoch(5)
    assert torch.equal(fixed, val.generate(0, 64)[0])
    whole = seqtasks.make("copy_memory", delay=10, num_samples=64, batch_size=64)
    parts = seqtasks.make("copy_memory", delay=10, num_samples=64, batch_size=5)
    assert torch.equal(torch.cat([x for x, _ in whole]), torch.cat([x for x, _ in parts]))


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"delay": 0}, ValueError, r"delay=0 is out of range: allowed >= 1"),
        ({"delay": -5}, ValueError, r"delay=-5 is out of range: allowed >= 1"),
        ({"delay": 2.5}, TypeError, r"delay must be an int, got 2.5 \(float\)"),
        ({"delay": True}, TypeError, r"delay must be an int, got True \(bool\)"),
        ({"symbols": 0}, ValueError, r"symbols=0 is out of range: allowed >= 1"),
        ({"symbols": "10"}, TypeError, r"symbols must be an int, got '10' \(str\)"),
        ({"variant": "tcn"}, ValueError,
         r"variant='tcn' is not available for copy_memory: choose one of \['bai', 'arjovsky'\]"),
        ({"framing": "many_to_one"}, ValueError,
         r"framing='many_to_one' is not available for copy_memory: choose one of \['one_to_one'\]"),
        ({"encoding": "real"}, ValueError, r"encoding='real' is not available for copy_memory"),
        ({"delay": MAX_STEPS}, ValueError,
         rf"delay={MAX_STEPS}, symbols=10.* above the limit of MAX_STEPS"),
        ({"delay": 1000, "num_samples": 10**6, "batch_size": 10**6}, ValueError,
         r"batch_size=1000000 is too large for samples of 10200 values \(delay=1000, symbols=10\)"),
        ({"length": 10}, TypeError, r"copy_memory has no option 'length': allowed options are"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_with_the_value_and_what_is_allowed(
    options: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        seqtasks.make("copy_memory", **options)
