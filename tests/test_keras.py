"""A problem in a Keras 3 loop (torch backend): the README's block learns, each epoch draws
fresh sequences through the ``set_epoch`` callback, and ``ignore_class`` leaves unanswered
targets out of the loss as our own loss does."""

from __future__ import annotations

import os
import re

os.environ["KERAS_BACKEND"] = "torch"  # before keras is first imported

import keras
import pytest
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

import seqtasks
from tests.test_readme import README

# keras' torch backend converts tensors with np.array(x), which NumPy 2 flags (keras' own code)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_the_readme_block_runs_and_learns(capsys) -> None:
    snippet = README.split("<!-- snippet: keras")[1].split("```python\n")[1].split("```")[0]
    exec(compile(snippet, "README.md", "exec"), {"__name__": "readme"})
    accuracy = float(re.search(r"validation accuracy ([0-9.]+)", capsys.readouterr().out)[1])
    assert accuracy > 0.9, "the README's Keras block should learn echo at lag 1"


class RecordedLoader(DataLoader):
    """A DataLoader that keeps the first batch of every pass Keras makes over it."""

    firsts: list[torch.Tensor]

    def __iter__(self):
        iterator = super().__iter__()
        first = next(iterator)
        self.firsts.append(first[0].clone())
        yield first
        yield from iterator


def test_each_epoch_draws_fresh_sequences_and_validation_stays_fixed() -> None:
    train_set = seqtasks.make("echo", lag=2, batch_size=16, num_samples=64)
    val_set = seqtasks.make("echo", lag=2, split="val", batch_size=32, num_samples=32)
    train, val = (
        RecordedLoader(train_set, batch_size=None),
        RecordedLoader(val_set, batch_size=None),
    )
    train.firsts, val.firsts = [], []
    spec = train_set.spec
    layers = [keras.layers.LSTM(4), keras.layers.Dense(spec.num_classes)]
    model = keras.Sequential([keras.Input((spec.input_length, spec.input_size)), *layers])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    fresh = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: train_set.set_epoch(e))
    model.fit(train, validation_data=val, epochs=3, shuffle=False, callbacks=[fresh], verbose=0)
    assert len(val.firsts) == 3  # the training loader also once before: Keras peeks at a batch
    for epoch, seen in enumerate(train.firsts[-3:]):  # epoch e's batches are set_epoch(e)'s
        train_set.set_epoch(epoch)
        assert torch.equal(seen, next(iter(DataLoader(train_set, batch_size=None)))[0])
    assert not torch.equal(train.firsts[-3], train.firsts[-2])
    assert all(torch.equal(first, val.firsts[0]) for first in val.firsts)


def test_ignore_class_leaves_out_what_our_loss_leaves_out() -> None:
    dataset = seqtasks.make("associative_recall", length=16, num_pairs=3, vocab=40, batch_size=8)
    _, targets = next(iter(DataLoader(dataset, batch_size=None)))  # (8, 16), mostly ignored
    assert (targets == seqtasks.IGNORE_INDEX).any() and (targets != seqtasks.IGNORE_INDEX).any()
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(*targets.shape, dataset.spec.num_classes, generator=generator)
    ignored = seqtasks.IGNORE_INDEX
    ours = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=ignored)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=ignored)
    assert float(loss(targets, logits)) == pytest.approx(float(ours), rel=1e-5)


def test_the_readmes_answered_accuracy_scores_the_answered_targets_only() -> None:
    snippet = README.split("<!-- snippet: keras-answered")[1].split("```python\n")[1]
    namespace: dict = {"__name__": "readme"}
    exec(compile(snippet.split("```")[0], "README.md", "exec"), namespace)
    dataset = seqtasks.make("selective_copy", length=16, num_tokens=4, vocab=8, num_samples=64)
    _, targets = dataset.generate(0, 64)  # (64, 16), 3 in 4 of them -100
    answered = targets != dataset.spec.ignore_index
    logits = F.one_hot(targets.clamp(min=0), dataset.spec.num_classes).float()  # (64, 16, C)
    wrong = answered.nonzero()[::2]  # every other answered target gets another class
    logits[wrong[:, 0], wrong[:, 1]] = logits[wrong[:, 0], wrong[:, 1]].roll(1, dims=-1)
    metric = namespace["AnsweredAccuracy"](name="accuracy")
    metric.update_state(targets, logits)
    expected = 1 - len(wrong) / int(answered.sum())
    assert float(metric.result()) == pytest.approx(expected)
    keras_accuracy = keras.metrics.SparseCategoricalAccuracy()
    keras_accuracy.update_state(targets, logits)  # counts the unanswered as wrong: not this
    assert float(keras_accuracy.result()) < expected - 0.3
