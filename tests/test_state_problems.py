"""induction_heads and parity value by value; the four new problems across workers and ranks;
targets with no answer (``ignore_index``) in the loss and metrics."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

import seqtasks
from seqtasks import IGNORE_INDEX
from seqtasks.induction_heads import InductionHeads
from seqtasks.models.metrics import ClassScore, score_classes
from seqtasks.models.transformer import CausalTransformer
from seqtasks.parity import Parity

NO = IGNORE_INDEX
NEW = [
    ("associative_recall", {"length": 16, "num_pairs": 3, "vocab": 40}),
    ("associative_recall", {"framing": "many_to_one", "length": 9, "vocab": 10}),
    ("selective_copy", {"length": 20, "num_tokens": 4}),
    ("selective_copy", {"framing": "seq2seq", "length": 12, "num_tokens": 2, "vocab": 5}),
    ("induction_heads", {"length": 12}),
    ("parity", {"length": 10, "min_length": 3, "framing": "one_to_one"}),
    ("parity", {"length": 10}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(NEW)]


def batch(name: str, count: int, **options: object) -> tuple[object, torch.Tensor, torch.Tensor]:
    dataset = seqtasks.make(name, num_samples=count, encoding="index", **options)
    return (dataset, *dataset.generate(0, count))


def table_row(doc: str, first: str) -> list[str]:
    """The cells after ``first`` in the docstring's table row that starts with it."""
    for line in doc.splitlines():
        if line.split()[:1] == [first]:
            return line.split()[1:]
    raise AssertionError(f"no row {first!r}")


# ---------------------------------------------------------------------------------- induction
def induction_sample(symbols: list[int], trigger_step: int, vocab: int) -> tuple[list[int], int]:
    """The definition: ``symbols`` with the trigger at ``trigger_step`` and at the end."""
    x = list(symbols)
    x[trigger_step] = x[-1] = vocab - 1
    return x, x[trigger_step + 1]


def test_induction_worked_example_of_the_docstring() -> None:
    x, y = induction_sample([3, 0, 1, 4, 1, 4, 2, 0], trigger_step=2, vocab=6)
    assert x == [3, 0, 5, 4, 1, 4, 2, 5] and y == 4
    assert table_row(InductionHeads.__doc__, "x") == [*map(str, x), "``4``"]


@pytest.mark.parametrize(("length", "vocab"), [(64, 16), (3, 3), (256, 16), (30, 1000)])
def test_induction_rows_follow_the_definition(length: int, vocab: int) -> None:
    _, x, y = batch("induction_heads", 500, length=length, vocab=vocab)
    assert x.shape == (500, length) and y.shape == (500,)
    steps = []
    for row_x, target in zip(x.tolist(), y.tolist(), strict=True):
        triggers = [t for t, s in enumerate(row_x) if s == vocab - 1]
        assert len(triggers) == 2 and triggers[1] == length - 1 and triggers[0] <= length - 3
        steps.append(triggers[0])
        assert (row_x, target) == induction_sample(row_x, triggers[0], vocab)
        assert 0 <= target < vocab - 1
    if length <= 64:
        assert set(steps) == set(range(length - 2))  # every step before the last two occurs


def test_induction_symbols_and_steps_are_uniform() -> None:
    count = 30_000
    _, x, y = batch("induction_heads", count, length=6, vocab=5)
    first = (x[:, :-1] == 4).to(torch.int64).argmax(dim=1)
    assert torch.all((torch.bincount(first, minlength=4).double() / count - 0.25).abs() < 0.015)
    assert torch.all((torch.bincount(y, minlength=4).double() / count - 0.25).abs() < 0.015)


def test_induction_spec_does_not_change_with_length() -> None:
    short, long = (seqtasks.make("induction_heads", length=n).spec for n in (64, 1024))
    same = ("input_size", "num_classes", "target_layout", "target_length", "chance")
    assert all(getattr(short, f) == getattr(long, f) for f in same)
    assert short.num_classes == 15 and short.chance == 1 / 15 and long.input_length == 1024


# ---------------------------------------------------------------------------------- parity
def parity_sample(bits: list[int], length: int) -> tuple[list[int], list[int], int]:
    """The definition: ``bits`` left-padded with 0 bits; running parity, no answer on padding."""
    pad = length - len(bits)
    running = [sum(bits[: i + 1]) % 2 for i in range(len(bits))]
    return [0] * pad + bits, [NO] * pad + running, sum(bits) % 2


def test_parity_worked_example_of_the_docstring() -> None:
    x, y, last = parity_sample([1, 1, 0, 1], length=6)
    assert (x, y, last) == ([0, 0, 1, 1, 0, 1], [NO, NO, 1, 0, 0, 1], 1)
    assert table_row(Parity.__doc__, "x") == [str(v) for v in x]
    assert table_row(Parity.__doc__, "y,")[1:] == ["-" if v == NO else str(v) for v in y]


@pytest.mark.parametrize(("length", "min_length"), [(40, 1), (10, None), (7, 7), (300, 100)])
def test_parity_rows_follow_the_definition(length: int, min_length: int | None) -> None:
    options = dict(length=length, min_length=min_length)
    _, x, y = batch("parity", 400, framing="one_to_one", **options)
    _, x_last, y_last = batch("parity", 400, **options)
    assert torch.equal(x, x_last) and y_last.shape == (400,)
    lowest = length if min_length is None else min_length
    lengths = []
    for row_x, row_y, last in zip(x.tolist(), y.tolist(), y_last.tolist(), strict=True):
        size = length - row_y.count(NO)
        lengths.append(size)
        assert lowest <= size <= length and set(row_x) <= {0, 1}
        assert (row_x, row_y, last) == parity_sample(row_x[length - size :], length)
    if length - lowest < 50:
        assert set(lengths) == set(range(lowest, length + 1))


def test_parity_targets_are_balanced_and_refusals() -> None:
    _, _, y = batch("parity", 4000, length=25, min_length=1)
    assert abs(float(y.double().mean()) - 0.5) < 0.03
    with pytest.raises(ValueError, match=r"min_length=41 is out of range: allowed 1 \.\. 40"):
        seqtasks.make("parity", min_length=41)
    with pytest.raises(TypeError, match=r"min_length must be an int"):
        seqtasks.make("parity", min_length=2.0)


# ---------------------------------------------------------------------------------- contract
def epoch(dataset: object, **loader: object) -> tuple[torch.Tensor, torch.Tensor]:
    items = list(DataLoader(dataset, batch_size=None, **loader))
    return torch.cat([x for x, _ in items]), torch.cat([y for _, y in items])


@pytest.mark.parametrize(("name", "options"), NEW, ids=IDS)
def test_bit_exact_across_workers_ranks_and_batch_sizes(name: str, options: dict) -> None:
    make = lambda **more: seqtasks.make(name, num_samples=24, **options, **more)  # noqa: E731
    whole = make(batch_size=24).generate(0, 24)
    workers = epoch(make(batch_size=5), num_workers=2)
    assert all(torch.equal(a, b) for a, b in zip(whole, workers, strict=True))
    ranks = [epoch(make(batch_size=4).shard(rank, 2)) for rank in (0, 1)]  # batches alternate
    for rank, (x, y) in enumerate(ranks):
        rows = torch.cat([torch.arange(b * 4, b * 4 + 4) for b in range(rank, 6, 2)])
        assert torch.equal(x, whole[0][rows]) and torch.equal(y, whole[1][rows])
    single = [make(batch_size=None).generate(i, 1) for i in (0, 23)]
    assert torch.equal(single[1][0], whole[0][23:]) and torch.equal(single[0][1], whole[1][:1])


# ---------------------------------------------------------------------------------- scoring
def test_score_classes_worked_example() -> None:
    targets = torch.tensor([[NO, 3, 5], [NO, NO, 2]])
    predictions = torch.tensor([[0, 3, 4], [7, 7, 2]])
    assert [int(v) for v in score_classes(predictions, targets, NO)] == [2, 3, 1, 2]
    nothing = torch.tensor([[NO, NO, NO]])  # a sample with no answer counts nowhere
    both = torch.cat([targets, nothing]), torch.cat([predictions, torch.tensor([[1, 1, 1]])])
    assert [int(v) for v in score_classes(both[1], both[0], NO)] == [2, 3, 1, 2]
    accuracy, exact = ClassScore(NO, per_sample=False), ClassScore(NO, per_sample=True)
    for metric in (accuracy, exact):
        metric.update(predictions, targets)
        metric.update(predictions[1:], targets[1:])  # a second batch adds up
    assert float(accuracy.compute()) == pytest.approx(3 / 4)
    assert float(exact.compute()) == pytest.approx(2 / 3)


def test_model_loss_and_metrics_leave_out_targets_with_no_answer() -> None:
    dataset, x, y = batch("associative_recall", 16, length=16, num_pairs=3, vocab=40)
    torch.manual_seed(0)
    model = CausalTransformer(dataset.spec, d_model=16, num_heads=2, num_layers=1)
    logits = model(x)  # (B, T, C)
    answered = y != NO
    expected = F.cross_entropy(logits[answered], y[answered])
    assert torch.allclose(model.loss(logits, y), expected)
    changed = logits.clone()
    changed[~answered] = torch.randn_like(changed[~answered]) * 50  # no answer: no effect
    assert torch.allclose(model.loss(changed, y), expected)
    right = logits.argmax(-1)[answered] == y[answered]
    metrics = model.metric_collection("val")
    model.update_metrics(metrics, changed, y)
    scores = {k: float(v) for k, v in metrics.compute().items()}
    assert scores["val/accuracy"] == pytest.approx(float(right.double().mean()))
    perfect = torch.where(answered, y, 0)  # every answered target right, the others wrong
    metrics.reset()
    model.update_metrics(metrics, F.one_hot(perfect, 40).float(), y)
    assert {k: float(v) for k, v in metrics.compute().items()} == {
        "val/accuracy": 1.0, "val/exact_match": 1.0}  # fmt: skip


@pytest.mark.parametrize(
    "overrides",
    [
        ("task=associative_recall", "model=transformer", "task.length=16", "task.vocab=20"),
        ("task=selective_copy", "model=lstm", "task.length=12", "task.num_tokens=2"),
        ("task=induction_heads", "model=lstm", "report.eval_lengths=[8,32]", "task.length=16"),
        ("task=parity", "model=lstm", "task.framing=one_to_one"),
    ],
    ids=["associative_recall", "selective_copy", "induction_heads", "parity"],
)
def test_fast_dev_run(compose_config, overrides: tuple[str, ...]) -> None:
    from seqtasks.training.run import train  # the training harness only where it is needed

    summary = train(compose_config(*overrides, "+trainer.fast_dev_run=true", "report.plots=false"))
    assert summary["task"] == overrides[0].removeprefix("task=") and summary["steps"] == 1
    assert 0.0 <= summary["test"]["test/accuracy"] <= 1.0
    if "report.eval_lengths=[8,32]" in overrides:
        assert set(summary["lengths"]) == {"8", "32"}


def test_exact_match_leaves_out_samples_with_no_answer() -> None:
    exact = ClassScore(NO, per_sample=True)
    exact.update(torch.tensor([[0, 0], [0, 0]]), torch.tensor([[1, 1], [NO, NO]]))
    assert float(exact.compute()) == 0.0  # wrong on the one sample that asks anything


def test_accuracy_and_exact_match_stay_apart_after_equal_first_batches() -> None:
    spec = seqtasks.make("associative_recall", length=16, num_pairs=2, vocab=20).spec
    metrics = CausalTransformer(spec, d_model=8, num_heads=2, num_layers=1).metric_collection("v")
    first = torch.tensor([[1, NO], [2, NO]])  # one answer a sample, both right: equal states
    metrics.update(torch.tensor([[1, 0], [2, 0]]), first)
    metrics.update(torch.tensor([[1, 0], [2, 0]]), torch.tensor([[1, 1], [2, 2]]))  # 2 of 4 right
    scores = {name: float(value) for name, value in metrics.compute().items()}
    assert scores == pytest.approx({"v/accuracy": 4 / 6, "v/exact_match": 2 / 4})
