"""The Transformers: output shapes, causality, the free-running protocol, refusals and training."""

from __future__ import annotations

import inspect
import math
from dataclasses import replace
from pathlib import Path

import lightning as L
import pytest
import torch
from omegaconf import OmegaConf
from torch.utils._python_dispatch import TorchDispatchMode

import seqtasks
from seqtasks.models.transformer import CausalTransformer, Seq2SeqTransformer, sinusoids
from seqtasks.training.datamodule import SequenceDataModule

CONFIG = Path(__file__).resolve().parents[1] / "training" / "conf" / "model" / "transformer.yaml"
# (problem, options): every framing x encoding, class and real targets
CASES = [
    *[
        ("subsequence", {"framing": framing, "encoding": encoding})
        for framing in ("one_to_one", "many_to_one", "seq2seq")
        for encoding in ("onehot", "index", "scaled")
    ],
    ("echo", {"encoding": "index"}),
    ("classify", {}),  # real inputs, per-step classes
    ("ramp", {"framing": "one_to_one"}),  # real inputs, per-step reals
    ("ramp", {"framing": "many_to_one"}),  # real inputs, one real after the last step
]


def model_for(spec: seqtasks.TaskSpec, **options) -> CausalTransformer | Seq2SeqTransformer:
    cls = Seq2SeqTransformer if spec.framing == "seq2seq" else CausalTransformer
    return cls(spec.to_dict(), **options)


def batch(name: str, size: int = 6, seed: int = 0, **options) -> tuple:
    task = seqtasks.make(name, batch_size=size, num_samples=size, seed=seed, **options)
    inputs, targets = next(iter(task))
    return task.spec, inputs, targets


@pytest.mark.parametrize(("name", "options"), CASES)
def test_output_shape_is_the_specs(name, options):
    torch.manual_seed(0)
    spec, inputs, targets = batch(name, **options)
    model = model_for(spec)
    expected = (*targets.shape, spec.num_classes) if spec.target == "classes" else targets.shape
    assert model(inputs).shape == expected == model.expected_output_shape(len(inputs))
    assert model.forward_train(inputs, targets).shape == expected
    model.check_output(inputs)  # the harness's own check passes


def test_sinusoidal_positions_take_their_defined_values():
    table = sinusoids(50, 7)  # an odd width ends with a sine
    t = torch.arange(50.0)
    for i in range(4):
        rate = 10000.0 ** (-2 * i / 7)
        assert torch.allclose(table[:, 2 * i], torch.sin(t * rate), atol=1e-5)
        if 2 * i + 1 < 7:
            assert torch.allclose(table[:, 2 * i + 1], torch.cos(t * rate), atol=1e-5)
    assert torch.equal(table[0], torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]))


@pytest.mark.parametrize("position", ["sinusoidal", "learned", "none"])
@pytest.mark.parametrize("encoding", ["onehot", "index"])
def test_one_to_one_is_causal(position, encoding):
    torch.manual_seed(0)
    spec, inputs, _ = batch("subsequence", framing="one_to_one", encoding=encoding, length=8)
    model = model_for(spec, position=position).eval()
    changed = inputs.clone()
    t = 4
    changed[:, t + 1 :] = batch("subsequence", framing="one_to_one", encoding=encoding, length=8,
                                seed=1)[1][:, t + 1 :]  # fmt: skip
    assert not torch.equal(changed[:, t + 1], inputs[:, t + 1])
    with torch.no_grad():
        before, after = model(inputs), model(changed)  # (B, T, C)
    assert torch.allclose(before[:, : t + 1], after[:, : t + 1], atol=1e-6)
    assert not torch.allclose(before[:, t + 1 :], after[:, t + 1 :], atol=1e-3)


def test_sinusoidal_runs_longer_than_trained_and_agrees_on_the_shared_prefix():
    torch.manual_seed(0)
    spec, short, _ = batch("subsequence", framing="one_to_one", length=6)
    _, long, _ = batch("subsequence", framing="one_to_one", length=40)
    long[:, :6] = short
    model = model_for(spec).eval()
    with torch.no_grad():
        assert model(long).shape == (6, 40, spec.num_classes)
        assert torch.allclose(model(long)[:, :6], model(short), atol=1e-5)


@pytest.mark.parametrize("position", ["sinusoidal", "learned", "none"])
def test_positions_tell_equal_steps_apart_unless_none(position):
    torch.manual_seed(0)
    spec, inputs, _ = batch("subsequence", framing="one_to_one", encoding="index", length=6)
    inputs[:] = 3  # the same symbol at every step
    with torch.no_grad():
        outputs = model_for(spec, position=position).eval()(inputs)  # (B, T, C)
    same = torch.allclose(outputs[:, 1:], outputs[:, :1].expand_as(outputs[:, 1:]), atol=1e-5)
    assert same == (position == "none")  # without positions, causal attention over equal steps


class OpNames(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.add(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("framing", ["one_to_one", "many_to_one"])
def test_validation_runs_the_layers_as_training_does(framing: str) -> None:
    # not PyTorch's inference fast path, which computes a whole masked T x T softmax
    torch.manual_seed(0)
    spec, inputs, _ = batch("subsequence", framing=framing, length=12)
    model = model_for(spec)  # dropout 0: training and evaluation compute the same function
    with torch.no_grad():
        trained_way = model.train()(inputs)
        with OpNames() as ops:
            evaluated = model.eval()(inputs)
    assert "_transformer_encoder_layer_fwd" not in ops.names
    assert "_native_multi_head_attention" not in ops.names
    torch.testing.assert_close(evaluated, trained_way, rtol=0, atol=0)


def test_many_to_one_reads_every_step_through_the_last():
    torch.manual_seed(0)
    spec, inputs, _ = batch("echo", lag=9, length=10)  # the echoed step is the first
    model = model_for(spec).eval()
    changed = inputs.clone()
    changed[:, 0] = changed[:, 0].roll(1, dims=-1)  # another symbol at step 0 only
    with torch.no_grad():
        assert not torch.allclose(model(inputs), model(changed), atol=1e-4)


@pytest.mark.parametrize("encoding", ["onehot", "index"])
def test_free_running_equals_teacher_forcing_on_its_own_choices(encoding):
    torch.manual_seed(0)
    spec, inputs, targets = batch("subsequence", framing="seq2seq", encoding=encoding, size=32)
    model = model_for(spec)
    optimiser = model.configure_optimizers()
    for _ in range(5):  # away from the symmetric start, so that choices differ between samples
        loss = model.loss(model.forward_train(inputs, targets), targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        free = model(inputs)  # (B, K, C)
        choices = free.argmax(dim=-1)  # (B, K)
        assert torch.allclose(model.forward_train(inputs, choices), free, atol=1e-5)
        other = (choices + 1) % spec.num_classes  # different fed-back symbols
        forced = model.forward_train(inputs, other)
    assert torch.allclose(forced[:, 0], free[:, 0], atol=1e-5)  # step 0 sees only the start
    assert not torch.allclose(forced[:, 1:], free[:, 1:], atol=1e-3)  # later steps see the feed


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"d_model": 30, "num_heads": 4}, ValueError, "d_model=30 is not divisible by num_heads=4"),
        ({"num_heads": 0}, ValueError, "num_heads=0"),
        ({"num_layers": 1.5}, TypeError, "num_layers must be an int"),
        ({"dim_feedforward": -2}, ValueError, "dim_feedforward=-2"),
        ({"dropout": 1.0}, ValueError, "dropout=1.0"),
        ({"position": "rotary"}, ValueError, "position='rotary'"),
        ({"max_positions": 0}, ValueError, "max_positions=0"),
        ({"lr": 0.0}, ValueError, "lr=0.0"),
        ({"weight_decay": -1.0}, ValueError, "weight_decay=-1.0"),
    ],
)
@pytest.mark.parametrize("framing", ["many_to_one", "seq2seq"])
def test_bad_options_are_refused_by_name(framing, options, error, message):
    spec = seqtasks.make("subsequence", framing=framing).spec
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        model_for(spec, **options)


def test_a_framing_it_cannot_serve_is_refused():
    with pytest.raises(ValueError, match=r"serves framings \['seq2seq'\], not 'one_to_one'"):
        Seq2SeqTransformer(seqtasks.make("subsequence", framing="one_to_one").spec)
    with pytest.raises(ValueError, match=r"not 'seq2seq'"):
        CausalTransformer(seqtasks.make("subsequence", framing="seq2seq").spec)


def test_seq2seq_refuses_real_targets():
    spec = seqtasks.make("subsequence", framing="seq2seq").spec
    reals = replace(spec, target="reals", num_classes=None)
    with pytest.raises(ValueError, match="Seq2SeqTransformer needs class targets"):
        Seq2SeqTransformer(reals)


def test_learned_positions_refuse_inputs_longer_than_the_table():
    spec, inputs, _ = batch("subsequence", framing="one_to_one", length=9)
    with pytest.raises(ValueError, match="max_positions=8 positions, but the problem has 9 steps"):
        model_for(spec, position="learned", max_positions=8)  # refused when made
    short = batch("subsequence", framing="one_to_one", length=8)[0]
    model = model_for(short, position="learned", max_positions=8)  # and a longer input then
    with pytest.raises(ValueError, match="max_positions=8 positions, but the input has 9 steps"):
        model(inputs)
    seq2seq = batch("subsequence", framing="seq2seq", length=6, size=6)[0]  # 6 steps, 6 targets
    assert model_for(seq2seq, position="learned", max_positions=6)
    with pytest.raises(ValueError, match="max_positions=5 positions, but the problem has 6 steps"):
        model_for(seq2seq, position="learned", max_positions=5)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("echo", {"vocab": 10, "length": 5, "lag": 2}),
        ("classify", {}),
        ("subsequence", {"framing": "seq2seq"}),
        ("ramp", {}),
    ],
)
def test_a_few_training_steps_reduce_the_loss(name, options):
    torch.manual_seed(0)
    task = seqtasks.make(name, batch_size=64, num_samples=64 * 30, **options)
    model = model_for(task.spec)
    optimiser = model.configure_optimizers()
    losses = []
    for inputs, targets in task:
        loss = model.loss(model.forward_train(inputs, targets), targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert all(math.isfinite(value) for value in losses)
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("echo", {"encoding": "index"}),
        ("subsequence", {"framing": "one_to_one"}),
        ("subsequence", {"framing": "seq2seq", "encoding": "index"}),
        ("adding", {"length": 20}),
    ],
)
@pytest.mark.filterwarnings("ignore:Your `IterableDataset` has `__len__` defined")  # by design
def test_lightning_fast_dev_run_and_checkpoint_reload(tmp_path, name, options):
    data = SequenceDataModule(name, options, batch_size=16, train_samples=64, val_samples=32,
                              test_samples=32, eval_batch_size=32)  # fmt: skip
    model = model_for(seqtasks.make(name, **options).spec, num_layers=1)
    trainer = L.Trainer(fast_dev_run=True, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu")  # fmt: skip
    trainer.fit(model, datamodule=data)
    (result,) = trainer.test(model, datamodule=data, verbose=False)
    assert trainer.global_step == 1 and "test/loss" in result
    trainer.save_checkpoint(tmp_path / "model.ckpt")
    reloaded = type(model).load_from_checkpoint(tmp_path / "model.ckpt").eval()
    inputs, _ = next(iter(data.test_dataloader()))
    model.eval()
    with torch.no_grad():
        assert torch.equal(reloaded(inputs), model(inputs))
    assert reloaded.hparams["num_layers"] == 1


@pytest.mark.parametrize("cls", [CausalTransformer, Seq2SeqTransformer])
def test_config_lists_every_option_with_its_default(cls):
    config = OmegaConf.to_container(OmegaConf.load(CONFIG))
    assert config.pop("name") == "transformer"
    parameters = inspect.signature(cls.__init__).parameters
    defaults = {key: p.default for key, p in parameters.items() if key not in ("self", "spec")}
    assert config == defaults
