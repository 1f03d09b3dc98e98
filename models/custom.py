"""Any ``nn.Module`` as a seqtasks model: the project's loss, metrics, logging and checkpoints.

The contract a network meets, whatever the problem (shapes from the problem's ``TaskSpec``):

- ``forward(inputs)`` receives ``(B, T, F)`` float32 (``onehot``, ``scaled`` and ``real``
  encodings; ``F = spec.input_size``) or ``(B, T)`` int64 symbol ids below ``spec.vocab_size``
  (``index`` encoding);
- it returns logits ``(B, *spec.target_shape, spec.num_classes)`` for class targets, or values
  ``(B, *spec.target_shape)`` for real targets: no softmax, the loss is cross-entropy on logits.

Example (from Python)::

    import lightning as L
    from seqtasks import models
    from seqtasks.training.datamodule import SequenceDataModule

    data = SequenceDataModule("echo", {"lag": 3})
    net = MyNet(spec=data.spec, width=64)
    model = models.wrap(net, data.spec, lr=3e-3)
    L.Trainer(max_steps=200).fit(model, datamodule=data)

From the command line the harness builds the network itself, passing ``spec=`` and the options:
``python train.py task=echo model=custom model.net._target_=mypkg.MyNet +model.net.width=64``.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

import torch
from torch import nn

from seqtasks import TaskSpec
from seqtasks.base import FRAMINGS
from seqtasks.models.base import OutputCheckError, SequenceModel


def class_path(obj: Any) -> str:
    """``module.Class`` of an object's class."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def build_net(net_config: dict[str, Any], spec: TaskSpec) -> nn.Module:
    """Instantiate ``net_config`` (Hydra's ``_target_`` convention) with ``spec=`` added.

    ``_target_`` is imported as ``python -m`` would: from ``sys.path``, then the current directory
    (appended last, so that nothing of ours is shadowed). Raises ``ValueError`` naming the path
    when ``_target_`` is missing or cannot be imported, and
    ``TypeError`` when the class refuses its arguments or does not return an ``nn.Module``.
    """
    from hydra.utils import get_object, instantiate

    target = net_config.get("_target_")
    if not isinstance(target, str) or target in ("", "???"):
        raise ValueError(
            f"model.net._target_={target!r}: give the dotted path of your nn.Module class, "
            "e.g. model.net._target_=mypkg.nets.MyNet"
        )
    here = os.getcwd()  # console scripts (seqtasks-train, ...) leave it off sys.path
    if here not in sys.path:
        sys.path.append(here)  # last: a user's models.py or training.py never shadows ours
    hydra_log = logging.getLogger("hydra.utils")  # it logs the failure our message reports
    level = hydra_log.level
    hydra_log.setLevel(logging.CRITICAL)
    try:
        get_object(target)
    except Exception as error:
        cause = _missing_class(target) or error.__cause__ or error
        raise ValueError(
            f"model.net._target_={target!r} cannot be imported (from sys.path, which has the "
            f"current directory {here}): {cause}"
        ) from None
    finally:
        hydra_log.setLevel(level)
    options = {key: value for key, value in net_config.items() if key != "_target_"}
    try:
        # _partial_ first: Hydra would turn a dataclass argument into a config node
        net = instantiate(net_config, _partial_=True, _convert_="all")(spec=spec)
    except Exception as error:
        cause = error.__cause__ or error
        raise TypeError(
            f"model.net: {target}(spec=..., **{options}) failed: {cause} (the harness passes "
            "spec=, the problem's TaskSpec, and the model.net options)"
        ) from None
    if not isinstance(net, nn.Module):
        raise TypeError(
            f"model.net._target_={target!r} built a {class_path(net)}, not an nn.Module"
        )
    return net


class NetModel(SequenceModel):
    """A user's network in the project's LightningModule: loss, metrics, logging, checkpoints.

    Give either ``net`` (a module) or ``net_config`` (a ``{"_target_": "pkg.Class", ...}`` dict,
    built with ``spec=``). A model built from ``net_config`` reloads with
    ``NetModel.load_from_checkpoint(path)`` wherever ``pkg.Class`` is importable; one built from a
    module object needs it again: ``NetModel.load_from_checkpoint(path, net=MyNet(...))``.
    For ``seq2seq`` problems the network maps inputs to the whole target sequence's logits; there
    is no teacher forcing.
    """

    framings = FRAMINGS

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        net: nn.Module | None = None,
        net_config: dict[str, Any] | None = None,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        if (net is None) == (net_config is None):
            raise ValueError(
                "NetModel needs exactly one of net (an nn.Module) and net_config; a checkpoint of "
                "a network wrapped from Python reloads with it: load_from_checkpoint(path, net=...)"
            )
        if net is None:
            net = build_net(dict(net_config), self.spec)
        elif not isinstance(net, nn.Module):
            raise TypeError(f"net must be a torch.nn.Module, not {class_path(net)}")
        if not any(parameter.requires_grad for parameter in net.parameters()):
            count = sum(1 for _ in net.parameters())
            raise ValueError(
                f"net {class_path(net)} has no parameters to train ({count} parameters, none with "
                "requires_grad=True): give it at least one trainable nn.Parameter"
            )
        self.save_hyperparameters(ignore=["net"])
        self.net = net

    @property
    def display_name(self) -> str:
        return class_path(self.net)

    @property
    def state_size(self) -> int | None:
        """The net's own ``state_size`` attribute, where it has one; else None (unknown)."""
        size = getattr(self.net, "state_size", None)
        return size if isinstance(size, int) else None

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.net(inputs)  # (B, *target_shape, C) or (B, *target_shape)

    def check_output(self, inputs: torch.Tensor, spec: TaskSpec | None = None,
                     training: bool = False, grad: bool = False) -> torch.Tensor:  # fmt: skip
        """The output check, then what a user's net may get wrong besides its shape: values that
        are not finite; samples that mix (rolling the batch must roll the outputs: an ``nn.LSTM``
        without ``batch_first=True`` reads ``(B, T, F)`` as ``(T, B, F)``; not checked for a net
        whose eval output is random); and, in training mode (a net may return other things while
        it trains), an output no parameter acts on (not checked under ``torch.inference_mode``).
        The later passes fork the random state and the training pass puts the buffers back: the
        run's BatchNorm statistics and dropout masks are those of a run without the check."""
        output = super().check_output(inputs, spec, training, grad)
        if training:
            return output
        if not torch.isfinite(output).all():
            raise OutputCheckError(
                f"{self.display_name} returned {int((~torch.isfinite(output)).sum())} values that "
                f"are not finite (nan or inf) for inputs {tuple(inputs.shape)}: training would "
                "diverge at its first step"
            )
        devices = [inputs.device.index or 0] if inputs.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            steady = torch.equal(super().check_output(inputs, spec), output)  # not random
            rolled = super().check_output(inputs.roll(1, dims=0), spec)
        if steady and not torch.allclose(rolled, output.roll(1, dims=0), rtol=1e-3, atol=1e-5):
            raise OutputCheckError(
                f"{self.display_name}: one sample's output depends on the other samples of the "
                f"batch (rolling the batch of inputs {tuple(inputs.shape)} did not roll the "
                "outputs): a layer reads the batch axis as time or mixes samples, e.g. nn.LSTM, "
                "nn.GRU or nn.MultiheadAttention without batch_first=True"
            )
        buffers = [buffer.clone() for buffer in self.buffers()]
        try:
            with torch.random.fork_rng(devices=devices):
                trained = super().check_output(inputs, spec, training=True, grad=True)
        finally:
            with torch.no_grad():
                for buffer, saved in zip(self.buffers(), buffers, strict=True):
                    buffer.copy_(saved)
        if not trained.requires_grad and not torch.is_inference_mode_enabled():
            raise OutputCheckError(
                f"{self.display_name} in training mode returned an output that no parameter "
                "acts on (requires_grad=False: detached, or computed under torch.no_grad): "
                "nothing would train"
            )
        return output


def _missing_class(target: str) -> str | None:
    """Why ``target`` failed when its module imports but lacks the class (a misspelt name):
    Python's own message then says the module "is not a package"."""
    module_name, _, name = target.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception:
        return None
    if hasattr(module, name):
        return None
    nets = sorted(key for key, value in vars(module).items()
                  if isinstance(value, type) and issubclass(value, nn.Module)
                  and value.__module__ == module.__name__)  # fmt: skip
    return f"module {module_name} has no {name!r} (its nn.Module classes: {nets})"


def example_inputs(spec: TaskSpec, batch: int = 2) -> torch.Tensor:
    """Valid inputs of ``spec``: its shape, dtype and encoding (the global RNG is untouched)."""
    generator = torch.Generator().manual_seed(0)
    steps = spec.input_length
    if spec.encoding == "index":  # (B, T) int64 symbol ids
        return torch.randint(0, spec.vocab_size or 1, (batch, steps), generator=generator)
    if spec.encoding == "onehot":  # (B, T, F) one-hot float32
        symbols = torch.randint(0, spec.input_size, (batch, steps), generator=generator)
        return nn.functional.one_hot(symbols, spec.input_size).float()
    return torch.rand(batch, steps, spec.input_size, generator=generator)  # (B, T, F) reals


def wrap(net: nn.Module, spec: TaskSpec, lr: float = 3e-3, weight_decay: float = 0.0) -> NetModel:
    """Wrap any ``nn.Module`` that meets the contract above into a trainable LightningModule.

    As the command line does before training, forward passes on a batch of the problem's inputs
    (:meth:`NetModel.check_output`) check the output: a wrong shape raises ``ValueError`` naming
    the module, the shape it returned and the one expected, and a network that fails on the
    inputs, mixes samples or trains nothing is refused the same way.
    """
    model = NetModel(spec, net=net, lr=lr, weight_decay=weight_decay)
    parameter = next(net.parameters(), None)
    inputs = example_inputs(model.spec)
    if parameter is not None:
        inputs = inputs.to(parameter.device)
    try:
        model.check_output(inputs)
    except OutputCheckError as error:
        raise ValueError(f"models.wrap: {error}") from error.__cause__
    return model
