"""Every model family on every framing and encoding; initialisations checked value by value."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn

import seqtasks
from seqtasks import models
from seqtasks.models.init import effective_bias
from seqtasks.training.datamodule import SequenceDataModule
from seqtasks.training.run import ConfigError, train
from seqtasks.training.run import build_model as build

ROOT = Path(__file__).resolve().parents[1]
# subsequence serves every framing with integer inputs: each family x framing x encoding
ENCODED = [
    (family, framing, encoding)
    for family, serves in models.FAMILIES.items()
    for framing in serves
    for encoding in ("onehot", "index")
]
GATED = [
    ("lstm", "many_to_one"),
    ("lstm", "one_to_one"),
    ("lstm", "seq2seq"),
    ("gru", "many_to_one"),
    ("gru", "seq2seq"),
]


def recurrent_layers(model: nn.Module) -> list[nn.RNNBase]:
    return [module for module in model.modules() if isinstance(module, nn.RNNBase)]


@pytest.mark.parametrize(("model", "framing", "encoding"), ENCODED)
def test_fast_dev_run_every_family_framing_and_encoding(compose_config, model, framing, encoding):
    cfg = compose_config(
        "task=subsequence", f"task.framing={framing}", f"task.encoding={encoding}",
        f"model={model}", "+trainer.fast_dev_run=true", "report.plots=false",
    )  # fmt: skip
    summary = train(cfg)
    assert summary["steps"] == 1 and summary["framing"] == framing
    assert "test/accuracy" in summary["test"]


@pytest.mark.parametrize(("family", "framing"), GATED)
@pytest.mark.parametrize("value", [3.0, -0.5])
def test_forget_bias_sets_the_effective_keep_gate_bias(compose_config, family, framing, value):
    cfg = compose_config(f"model={family}", "model.init=forget_bias", f"model.forget_bias={value}")
    model = build(cfg.model, seqtasks.make("subsequence", framing=framing).spec)
    for layer in recurrent_layers(model):
        assert torch.all(effective_bias(layer) == value)
        hidden = layer.hidden_size
        assert torch.all(layer.bias_hh_l0[hidden : 2 * hidden] == 0.0)
        other = (layer.bias_ih_l0 + layer.bias_hh_l0)[2 * hidden :]  # other gates untouched
        assert not torch.all(other == value)


def test_forget_bias_defaults_to_one_like_keras(compose_config):
    cfg = compose_config("task=echo", "model.init=forget_bias")
    (layer,) = recurrent_layers(build(cfg.model, seqtasks.make("echo").spec))
    assert torch.all(effective_bias(layer) == 1.0)


@pytest.mark.parametrize(("family", "framing"), GATED)
def test_chrono_draws_log_uniform_keep_bias_and_opposite_input_bias(compose_config, family,
                                                                   framing):  # fmt: skip
    spec = seqtasks.make("echo", length=60, lag=40, framing="many_to_one").spec
    if framing != "many_to_one":
        spec = seqtasks.make("subsequence", length=60, framing=framing).spec
    torch.manual_seed(0)
    model = build(compose_config(f"model={family}", "model.init=chrono").model, spec)
    for layer in recurrent_layers(model):
        keep = effective_bias(layer)  # (H,)
        u = keep.exp()  # u ~ U[1, T_max - 1] with T_max = 60
        assert u.min() >= 1 - 1e-5 and u.max() <= 59 + 1e-4
        assert u.max() - u.min() > 40, "spread over [1, T_max - 1], not a constant"
        assert abs(u.mean().item() - 30) < 6  # mean of U[1, 59] over 128 units
        if family == "lstm":
            assert torch.allclose(effective_bias(layer, gate="input"), -keep)


def test_chrono_t_max_option_and_multilayer(compose_config):
    cfg = compose_config("task=echo", "model.init=chrono", "model.t_max=5", "model.num_layers=2")
    (layer,) = recurrent_layers(build(cfg.model, seqtasks.make("echo").spec))
    for index in range(2):
        u = effective_bias(layer, layer=index).exp()
        assert u.min() >= 1 - 1e-5 and u.max() <= 4 + 1e-5
        assert layer.hidden_size == 128


def test_pytorch_init_leaves_the_draw(compose_config):
    cfg = compose_config("task=echo", "model.init=pytorch")
    (layer,) = recurrent_layers(build(cfg.model, seqtasks.make("echo").spec))
    bound = 1 / math.sqrt(layer.hidden_size)
    assert layer.bias_ih_l0.abs().max() <= bound and layer.bias_hh_l0.abs().max() <= bound


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=rnn", "model.init=chrono"], r"init='chrono': a tanh RNN has no gates"),
        (["model.init=banana"], r"init='banana'.*pytorch.*forget_bias.*chrono"),
        (["model.forget_bias=3"], r"forget_bias=3 is used only with init='forget_bias'"),
        (["model.init=pytorch", "model.t_max=9"], r"t_max=9 is used only with init='chrono'"),
        (["model.t_max=1"], r"t_max"),
    ],
)
def test_bad_initialisation_is_refused(compose_config, overrides, message):
    with pytest.raises(ConfigError, match=message):
        train(compose_config("task=echo", *overrides))


# ---------------------------------------------------------------------------- a user's network
USER = "tests.user_nets"


def test_custom_module_trains_from_the_command_line(tmp_path):
    command = [
        sys.executable, "train.py", "task=echo", "task.lag=2", "task.length=4", "task.vocab=5",
        "model=custom", f"model.net._target_={USER}.TinyGRU", "+model.net.width=24",
        "trainer.max_steps=300", "trainer.enable_progress_bar=false", "report.plots=false",
        "data.train_samples=3200", "data.batch_size=32", f"hydra.run.dir={tmp_path}",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = (tmp_path / "summary.json").read_text()
    assert f'"model": "{USER}.TinyGRU"' in summary
    assert '"solved": true' in summary
    reloaded = models.NetModel.load_from_checkpoint(tmp_path / "checkpoints/best.ckpt")
    assert isinstance(reloaded.net, nn.Module) and reloaded.net.gru.hidden_size == 24


def test_custom_module_trains_from_python():
    from tests.user_nets import TinyGRU

    torch.manual_seed(0)
    data = SequenceDataModule("memorize", {"length": 4}, batch_size=32, train_samples=1024)
    model = models.wrap(TinyGRU(spec=data.spec, width=16), data.spec, lr=1e-2)
    trainer = L.Trainer(max_steps=150, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(model, datamodule=data)
    (result,) = trainer.test(model, datamodule=data, verbose=False)
    assert result["test/exact_match"] == 1.0
    with pytest.raises(ValueError, match=r"exactly one of net .*load_from_checkpoint\(path, net="):
        models.NetModel(data.spec)  # what reloading a wrapped network without its net calls


def test_an_unknown_framing_is_named_when_resolving_a_model():
    with pytest.raises(ValueError, match=r"unknown framing 'bogus': choose one of \['one_to_one'"):
        models.resolve("lstm", "bogus")
    with pytest.raises(ValueError, match=r"unknown framing"):
        models.resolve("custom", "bogus")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (f"{USER}.WrongShape", r"returned shape \(8, 1\).*expected floats of shape \(8, 100\)"),
        # a subprocess each (about 5 s): the other refusals run with -m slow
        pytest.param(
            "nowhere.nets.Net",
            r"model.net._target_='nowhere.nets.Net' cannot be imported",
            marks=pytest.mark.slow,
        ),
        pytest.param(
            f"{USER}.Missing",
            rf"cannot be imported .*: module {USER} has no 'Missing' \(its nn.Module classes: "
            r"\[.*'WrongShape'",
            marks=pytest.mark.slow,
        ),
        pytest.param(f"{USER}.NoSpec", r"NoSpec\(spec=.*failed.*spec", marks=pytest.mark.slow),
    ],
)
def test_bad_custom_module_is_refused_before_training(tmp_path, target, message):
    command = [sys.executable, "train.py", "task=echo", "model=custom",
               f"model.net._target_={target}", f"hydra.run.dir={tmp_path / 'run'}"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert __import__("re").search(message, done.stderr), done.stderr[-1500:]
    assert not (tmp_path / "run").exists(), "a refused run leaves nothing behind"


def test_custom_without_target_is_refused(compose_config):
    with pytest.raises(ConfigError, match=r"model.net._target_"):
        train(compose_config("task=echo", "model=custom"))


def test_wrap_refuses_what_is_not_a_module():
    spec = seqtasks.make("echo").spec
    with pytest.raises(TypeError, match=r"net must be a torch\.nn\.Module"):
        models.wrap(lambda x: x, spec)  # type: ignore[arg-type]


def test_wrap_refuses_a_wrong_output_shape_as_the_command_line_does():
    from tests.user_nets import WrongShape

    spec = seqtasks.make("echo").spec
    net, state = WrongShape(spec), torch.get_rng_state()
    with pytest.raises(ValueError, match=r"models.wrap: .*WrongShape returned shape \(2, 1\).*"
                       r"expected floats of shape \(2, 100\)"):  # fmt: skip
        models.wrap(net, spec)
    assert torch.equal(torch.get_rng_state(), state), "the check leaves the global RNG alone"


def test_wrap_refuses_a_network_that_fails_on_the_problems_inputs():
    spec = seqtasks.make("echo").spec  # 100 one-hot features a step
    with pytest.raises(ValueError, match=r"models.wrap: torch.nn.modules.linear.Linear failed on "
                       r"inputs \(2, 10, 100\) \(torch.float32\).*mat1 and mat2"):  # fmt: skip
        models.wrap(nn.Linear(7, 100), spec)


@pytest.mark.parametrize("name", seqtasks.available())
def test_wrap_checks_with_inputs_of_every_problems_shape_and_encoding(name):
    from seqtasks.models.custom import example_inputs

    for encoding in seqtasks.registry.PROBLEMS[name].encodings:
        dataset = seqtasks.make(name, encoding=encoding, split="val", num_samples=2)
        inputs, _ = dataset.generate(0, 2)
        example = example_inputs(dataset.spec)
        assert (example.shape, example.dtype) == (inputs.shape, inputs.dtype), encoding


@pytest.mark.parametrize("family", ["lstm", "transformer", "mlp_window"])
def test_the_evaluation_loss_is_the_mean_over_every_answered_target(family: str) -> None:
    # parity's one_to_one batches answer different numbers of steps (its lengths vary)
    data = seqtasks.make("parity", framing="one_to_one", length=40, min_length=1, split="val",
                         num_samples=60, batch_size=16)  # fmt: skip
    answered = [int((targets != data.spec.ignore_index).sum()) for _, targets in data]
    assert len(set(answered)) > 1, "the batches must differ for the test to mean anything"
    torch.manual_seed(0)
    model = models.resolve(family, "one_to_one")(data.spec)
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False,
                        enable_checkpointing=False, accelerator="cpu")  # fmt: skip
    logged = trainer.validate(model, torch.utils.data.DataLoader(data, batch_size=None),
                              verbose=False)[0]  # fmt: skip
    inputs, targets = data.generate(0, 60)
    with torch.no_grad():
        logits = model(inputs)  # (B, T, C)
    expected = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           targets.reshape(-1), ignore_index=-100)  # fmt: skip
    assert logged["val/loss"] == pytest.approx(float(expected), rel=1e-5)


class NanOnSecondBatch(nn.Module):
    """Per-step logits, nan on the second batch it sees: a model diverging on part of a set."""

    def __init__(self, spec) -> None:
        super().__init__()
        self.head, self.calls = nn.Linear(spec.input_size, spec.num_classes), 0

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, T, C)
        self.calls += 1
        logits = self.head(inputs)
        return logits * float("nan") if self.calls == 2 else logits


def test_a_nan_loss_on_one_batch_makes_the_evaluation_loss_nan() -> None:
    data = seqtasks.make("parity", framing="one_to_one", split="val", num_samples=48,
                         batch_size=16)  # fmt: skip
    model = models.NetModel(data.spec, net=NanOnSecondBatch(data.spec))
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False,
                        enable_checkpointing=False, accelerator="cpu")  # fmt: skip
    loader = torch.utils.data.DataLoader(data, batch_size=None)
    logged = trainer.validate(model, loader, verbose=False)[0]
    assert math.isnan(logged["val/loss"]), "a diverged batch is not dropped from the mean"
    assert data.spec.is_solved(torch.tensor(1.0)) and not data.spec.is_solved(torch.tensor(0.5))
