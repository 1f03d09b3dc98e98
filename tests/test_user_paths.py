"""What a user's own project and a Lightning user's habits need: a network imported from the
current directory, refusals of networks with nothing to train and of dropout that would not act,
and ``trainer.predict``."""

from __future__ import annotations

import os
import sys

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from seqtasks.models import FAMILIES, NetModel, wrap
from seqtasks.models.base import OutputCheckError
from seqtasks.models.custom import build_net
from seqtasks.training.datamodule import SequenceDataModule

NET = """
from torch import nn


class Net(nn.Module):
    def __init__(self, spec, width=4):
        super().__init__()
        self.head = nn.Linear(spec.input_size, spec.num_classes)

    def forward(self, x):
        return self.head(x[:, -1])
"""


def test_a_network_in_the_current_directory_is_imported_as_python_m_would(tmp_path, monkeypatch):
    package = tmp_path / "userpkg_here"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "nets.py").write_text(NET)
    (tmp_path / "models.py").write_text("raise RuntimeError('the user models.py was imported')")
    here = str(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", here)])
    spec = SequenceDataModule("echo", {"lag": 2}).spec
    net = build_net({"_target_": "userpkg_here.nets.Net", "width": 3}, spec)
    assert type(net).__name__ == "Net" and sys.path[-1] == os.getcwd()  # appended last
    from seqtasks.models import base  # ours, whatever models.py the directory holds

    assert base.__file__ != str(tmp_path / "models.py")
    with pytest.raises(ValueError, match=r"'userpkg_here.nope.Net' cannot be imported \(from "
                       r"sys.path, which has the current directory"):  # fmt: skip
        build_net({"_target_": "userpkg_here.nope.Net"}, spec)


class Buffers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("scale", torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1] * self.scale


@pytest.mark.parametrize("frozen", [False, True])
def test_a_network_with_nothing_to_train_is_refused_by_name(frozen: bool) -> None:
    spec = SequenceDataModule("echo", {"lag": 2}).spec
    net = (
        nn.Linear(spec.input_size, spec.num_classes).requires_grad_(False) if frozen else Buffers()
    )
    with pytest.raises(
        ValueError,
        match=r"net torch.nn.modules.linear.Linear has no parameters "
        r"to train \(2 parameters"
        if frozen
        else r"net .*Buffers has no parameters",
    ):
        wrap(net, spec)  # fmt: skip
    net.requires_grad_(True)
    if frozen:
        assert isinstance(NetModel(spec, net=net), NetModel)  # one trainable parameter is enough


class Refuses(nn.Module):
    def __init__(self, spec) -> None:
        super().__init__()
        self.head = nn.Linear(spec.input_size, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("this net wants index inputs")


def test_a_network_that_raises_value_error_is_reported_with_the_inputs_it_failed_on() -> None:
    spec = SequenceDataModule("echo", {"lag": 2}).spec
    message = (r"models.wrap: .*Refuses failed on inputs \(2, 10, 100\) \(torch.float32\).*"
               r"ValueError: this net wants index inputs")  # fmt: skip
    with pytest.raises(ValueError, match=message) as caught:
        wrap(Refuses(spec), spec)
    assert isinstance(caught.value.__cause__, ValueError)  # the network's own error is the cause
    model = NetModel(spec, net=Refuses(spec)).train()
    with pytest.raises(OutputCheckError):
        model.check_output(torch.zeros(2, 10, spec.input_size))
    assert model.training and model.net.training, "a failed check leaves the training mode"


class NormAndDropout(nn.Module):
    """BatchNorm statistics and dropout masks: what a training-mode pass would change."""

    def __init__(self, spec) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(spec.input_size)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(spec.input_size, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, C)
        return self.head(self.drop(self.norm(x[:, -1])))


def test_the_training_mode_check_leaves_the_statistics_and_the_random_state() -> None:
    spec = SequenceDataModule("echo", {"lag": 2}).spec
    net = NormAndDropout(spec)
    before = {key: value.clone() for key, value in net.state_dict().items()}
    torch.manual_seed(5)
    model = wrap(net, spec)  # the check in eval mode, then in training mode
    after_check = torch.rand(3)
    torch.manual_seed(5)
    assert torch.equal(after_check, torch.rand(3)), "no random number drawn by the check"
    for key, value in model.net.state_dict().items():
        assert torch.equal(value, before[key]), key  # running_mean, num_batches_tracked too
    model.check_output(torch.rand(4, 10, spec.input_size), training=True)  # asked for: it moves
    assert model.net.norm.num_batches_tracked == 1


@pytest.mark.parametrize("framing", ["many_to_one", "seq2seq"])
def test_dropout_with_one_layer_is_refused(framing: str) -> None:
    task, options = ("echo", {"lag": 2}) if framing == "many_to_one" else ("subsequence", {})
    spec = SequenceDataModule(task, {**options, "framing": framing}).spec
    lstm = FAMILIES["lstm"][framing]
    with pytest.raises(ValueError, match=r"dropout=0.5 acts between stacked layers, and "
                       r"num_layers=1 has none"):  # fmt: skip
        lstm(spec, dropout=0.5)
    assert lstm(spec, num_layers=2, dropout=0.5).hparams.dropout == 0.5
    with pytest.raises(ValueError, match=r"dropout=1.0 is out of range"):
        lstm(spec, num_layers=2, dropout=1.0)


@pytest.mark.parametrize("value", ["false", 1, 0, None])
def test_bidirectional_must_be_a_bool(value) -> None:
    spec = SequenceDataModule("echo", {"lag": 2}).spec
    for family in ("lstm", "gru", "rnn"):
        with pytest.raises(TypeError, match=rf"bidirectional must be a bool, got {value!r}"):
            FAMILIES[family]["many_to_one"](spec, bidirectional=value)


def test_trainer_predict_gives_the_outputs_for_the_test_inputs() -> None:
    data = SequenceDataModule("echo", {"lag": 2}, batch_size=16, train_samples=64, test_samples=50,
                              eval_batch_size=20)  # fmt: skip
    model = FAMILIES["gru"]["many_to_one"](data.spec, hidden_size=8)
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    batches = trainer.predict(model, datamodule=data)
    inputs, _ = data.datasets["test"].generate(0, 50)
    with torch.no_grad():
        expected = model(inputs)
    assert torch.allclose(torch.cat(batches), expected, atol=1e-6)
    alone = trainer.predict(model, dataloaders=DataLoader(inputs[:7], batch_size=7))  # no targets
    assert torch.allclose(alone[0], expected[:7], atol=1e-6)


class Sampling(nn.Module):
    """A head that samples in eval mode too: its outputs cannot roll with the batch."""

    def __init__(self, spec) -> None:
        super().__init__()
        self.head = nn.Linear(spec.input_size, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, C)
        return self.head(x[:, -1]) + torch.randn(len(x), self.head.out_features)


class NotFinite(Sampling):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x[:, -1]) * float("inf")


def test_the_custom_checks_leave_random_nets_and_callers_contexts_alone() -> None:
    spec = SequenceDataModule("echo", {"lag": 2}).spec
    wrap(Sampling(spec), spec)  # random in eval mode: the roll check does not apply
    with torch.inference_mode():  # no gradients can be asked for here: not a net's fault
        wrap(NormAndDropout(spec), spec)
    with torch.no_grad():
        wrap(NormAndDropout(spec), spec)
    with pytest.raises(ValueError, match=r"NotFinite returned 200 values that are not finite"):
        wrap(NotFinite(spec), spec)


class FirstBatches(L.Callback):
    """The first training batch of every epoch."""

    def __init__(self) -> None:
        self.seen: list[torch.Tensor] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == 0:
            self.seen.append(batch[0].clone())


@pytest.mark.filterwarnings("ignore:Your `IterableDataset` has `__len__` defined")  # by design
def test_a_plain_trainer_gets_fresh_sequences_each_epoch_through_epoch_loader() -> None:
    import seqtasks
    from seqtasks.training import epoch_loader

    def first_batches(loader_of) -> list[torch.Tensor]:
        dataset = seqtasks.make("echo", length=6, vocab=8, num_samples=8, batch_size=4)
        model = FAMILIES["gru"]["many_to_one"](dataset.spec, hidden_size=4)
        seen = FirstBatches()
        trainer = L.Trainer(max_epochs=3, logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False,
                            callbacks=[seen])  # fmt: skip
        trainer.fit(model, loader_of(dataset))
        return seen.seen

    fresh = first_batches(epoch_loader)
    assert len(fresh) == 3 and not torch.equal(fresh[0], fresh[1])
    expected = seqtasks.make("echo", length=6, vocab=8, num_samples=8, batch_size=4)
    expected.set_epoch(2)
    assert torch.equal(fresh[2], next(iter(expected))[0])  # the Trainer's epoch, not a count
    replayed = first_batches(lambda dataset: DataLoader(dataset, batch_size=None))
    assert all(torch.equal(replayed[0], later) for later in replayed[1:])  # the README's warning
    with pytest.raises(ValueError, match=r"epoch_loader needs a batched dataset"):
        epoch_loader(seqtasks.make("echo"))  # single samples: a model would get (T, F) inputs
