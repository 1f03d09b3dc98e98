"""The head read at the answered steps alone: the loss, gradients and metrics of every step's."""

from __future__ import annotations

import copy
import json

import pytest
import torch

import seqtasks
from seqtasks import models
from seqtasks.benchmarks import readout
from seqtasks.benchmarks.device_timing import gpu_form, host_syncs, step_syncs, training_step
from seqtasks.benchmarks.runner import compose_config
from seqtasks.models.base import SequenceModel
from seqtasks.training.run import build_model

SMALL = {"lstm": ["model.hidden_size=16"], "gru": ["model.hidden_size=16"],
         "rnn": ["model.hidden_size=16"], "mlp": ["model.hidden_size=16"],
         "transformer": ["model.d_model=16", "model.num_heads=2", "model.dim_feedforward=32"],
         "tcn": ["model.channels=8"], "mamba": ["model.d_model=16"], "lru": ["model.d_model=16"],
         "linear_attention": ["model.d_model=16", "model.num_heads=2"],
         "xlstm": ["model.d_model=16"]}  # fmt: skip
PARTLY = ("associative_recall", {"length": 64, "num_pairs": 4, "vocab": 128})  # 1/16 answered
ALL = ("classify", {"framing": "one_to_one", "length": 20})  # every step answered


def model_and_batch(name: str, task: str, options: dict) -> tuple[SequenceModel, tuple]:
    problem = seqtasks.make(task, **options)
    torch.manual_seed(0)
    model = build_model(compose_config([f"model={name}", *SMALL[name]]).model, problem.spec)
    return model, problem.generate(3, 8)


def gradients(model: SequenceModel, loss: torch.Tensor) -> list[torch.Tensor]:
    model.zero_grad(set_to_none=True)
    loss.backward()
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_the_answered_steps_loss_is_every_steps_loss_with_its_gradients(name: str) -> None:
    model, (inputs, targets) = model_and_batch(name, *PARTLY)
    answered = targets != -100
    assert 0 < answered.sum() < answered.numel() / 8  # a few steps answered, the rest ignored
    output, scored, mask = model.scored_outputs(inputs, targets, training=True)
    assert output.shape == (int(answered.sum()), 128) and torch.equal(mask, answered)
    assert torch.equal(scored, targets[answered])  # in the order of the steps
    twin = copy.deepcopy(model)
    expected = model.loss(model(inputs), targets)  # the head on every step, ignore_index
    got = twin.training_loss(inputs, targets)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
    for mine, theirs in zip(gradients(twin, got), gradients(model, expected), strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_with_every_step_answered_the_loss_and_gradients_are_the_same_bits(name: str) -> None:
    # rows measured before the answered-steps readout stay reproducible on such problems
    model, (inputs, targets) = model_and_batch(name, *ALL)
    twin = copy.deepcopy(model)
    expected = model.loss(model(inputs), targets)
    got = twin.training_loss(inputs, targets)
    assert torch.equal(got, expected)
    for mine, theirs in zip(gradients(twin, got), gradients(model, expected), strict=True):
        assert torch.equal(mine, theirs)


@pytest.mark.parametrize("name", ["lstm", "transformer", "mamba"])
def test_the_metrics_from_the_answered_steps_are_every_steps_metrics(name: str) -> None:
    model, (inputs, targets) = model_and_batch(name, *PARTLY)
    model.eval()
    with torch.no_grad():
        whole = model(inputs)  # (B, T, C)
        output, _, answered = model.scored_outputs(inputs, targets, training=False)
    # right on 70% of the answered steps, every one of sample 0's: some samples whole, some not
    right = torch.rand(targets.shape, generator=torch.Generator().manual_seed(0)) < 0.7
    right[0] = True
    wrong = (targets.clamp(min=0) + 1) % whole.shape[-1]  # (B, T)
    chosen = torch.where(right, targets.clamp(min=0), wrong)  # (B, T)
    whole = whole.scatter(-1, chosen[..., None], 1e4)  # (B, T, C): argmax is ``chosen``
    output = whole[answered]  # the same logits, read at the answered steps
    expected, got = model.metric_collection("val"), model.metric_collection("val")
    model.update_metrics(expected, whole, targets)
    model.update_metrics(got, output, targets, answered)
    values = {key: float(value) for key, value in expected.compute().items()}
    assert 0 < values["val/accuracy"] < 1 and 0 < values["val/exact_match"] < 1
    assert {key: float(value) for key, value in got.compute().items()} == values


@pytest.mark.parametrize("name", ["mlp_window", "custom"])
def test_a_model_read_whole_scores_its_whole_output(name: str) -> None:
    problem = seqtasks.make(*PARTLY[:1], **PARTLY[1])
    overrides = [f"model={name}"]
    if name == "custom":
        overrides.append("model.net._target_=tests.user_nets.TinyGRU")
    model = build_model(compose_config(overrides).model, problem.spec)
    inputs, targets = problem.generate(0, 4)
    output, scored, answered = model.scored_outputs(inputs, targets, training=True)
    assert answered is None and scored is targets and output.shape == (4, 64, 128)
    assert models.resolve(name, "one_to_one").step_readout is SequenceModel.step_readout


@pytest.mark.parametrize(("family", "change"), [
    ("lstm", "forward"), ("lstm", "forward_train"), ("lstm", "hook"), ("lstm", "shape_output"),
    ("mamba", "forward"), ("mamba", "read_out"), ("mamba", "shape_output"),
])  # fmt: skip
def test_a_users_own_forward_is_what_the_loss_reads(family: str, change: str) -> None:
    # a subclass's forward, a part of it (or a forward hook) that changes the logits must not
    # be bypassed
    model, (inputs, targets) = model_and_batch(family, *PARTLY)
    base_class, plain = type(model), model.training_loss(inputs, targets)
    sharper = {"forward": lambda self, x: 3 * base_class.forward(self, x),
               "forward_train": lambda self, x, y: 3 * base_class.forward(self, x),
               "read_out": lambda self, f: 3 * base_class.read_out(self, f),
               "shape_output": lambda self, y: 3 * base_class.shape_output(self, y)}  # fmt: skip
    if change == "hook":
        model.register_forward_hook(lambda module, args, output: 3 * output)
    else:
        model.__class__ = type("Sharper", (base_class,), {change: sharper[change]})
    assert not model.step_readout_is_forward()
    expected = model.loss(model.forward_train(inputs, targets), targets)  # the whole output
    assert not torch.allclose(expected, plain), "the change must change the loss"
    output, scored, answered = model.scored_outputs(inputs, targets, training=True)
    assert answered is None and scored is targets and output.shape == (8, 64, 128)  # read whole
    torch.testing.assert_close(model.training_loss(inputs, targets), expected)
    if change != "hook":  # a subclass that states its readout again keeps it
        model.__class__ = type("Readout", (model.__class__,), {"step_readout": lambda self, x: 0})
        assert model.step_readout_is_forward()


def test_the_benchmark_writes_both_ways_side_by_side(tmp_path) -> None:
    argv = ["--models", "rnn", "--problems", "pairs", "--batch", "2", "--eval-batch", "2",
            "--rounds", "1", "--out", str(tmp_path)]  # fmt: skip
    assert readout.main(argv) == 0
    rows = json.loads((tmp_path / "readout.json").read_text())["rows"]
    assert [(r["pass"], r["answered_fraction"]) for r in rows] == [
        ("training", 1 / 64), ("validation", 1 / 64)]  # fmt: skip
    assert all(r["every_step_ms"] > 0 and r["answered_ms"] > 0 for r in rows)
    text = (tmp_path / "readout.md").read_text()
    assert text.startswith("`python -m seqtasks.benchmarks.readout --models rnn")


def test_the_form_a_gpu_runs_reads_every_step_without_a_host_sync() -> None:
    # on an accelerator, boolean indexing would wait for the count of answered steps
    model, (inputs, targets) = model_and_batch("lstm", *PARTLY)
    optimizer = torch.optim.AdamW(model.parameters())
    step = training_step(model, optimizer, iter([(inputs, targets)] * 2), clip=None)
    assert step_syncs(step, optimizer, torch.device("cpu")) == []  # in gpu_form
    with gpu_form():
        output, _, answered = model.scored_outputs(inputs, targets, training=True)
    assert answered is None and output.shape == (8, 64, 128)
    with host_syncs(torch.device("cpu"), tensor_form=False) as check:
        model.training_loss(inputs, targets)
    assert check.found == ["aten.index by a boolean mask"]  # the CPU's path: no wait there
