"""What every model shares: the loss and metrics a problem's spec asks for, steps and optimiser."""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection

from seqtasks import TaskSpec
from seqtasks._validate import check_float, check_int
from seqtasks.models.metrics import ClassScore, WeightedMean, WithinTolerance
from seqtasks.models.optim import adamw
from seqtasks.models.python_scalars import PythonScalars

Batch = tuple[torch.Tensor, torch.Tensor]
FINITE_CHECK_EVERY = 10  # steps between checks that the loss is finite (each check syncs a GPU)
# a per-step head reads the answered steps alone on the CPU (SequenceModel.scored_outputs); on an
# accelerator counting them would make the host wait each step, so it reads every step there
ANSWERED_STEPS_ON_CPU = True  # False: every step on the CPU too (the device benchmark's check)
STAGES = ("val", "test")  # the stages scored with metrics
EMBEDDING_SIZE = 32  # the symbol embedding's default size (index encoding only)
FORWARD_PARTS = ("forward", "forward_train", "read_out", "shape_output")  # see step_readout


class OutputCheckError(ValueError):
    """:meth:`SequenceModel.check_output`'s refusal: a failed forward pass or a wrong output."""


def check_sizes(**sizes: Any) -> None:
    """Layer sizes and counts must be ints >= 1."""
    for name, value in sizes.items():
        check_int(name, value, 1)


class SequenceModel(L.LightningModule, metaclass=PythonScalars):
    """Base LightningModule: dimensions, loss and metrics come only from the problem's spec.

    Subclasses build their layers from ``self.spec`` and implement :meth:`forward`, which returns
    logits ``(B, *target_shape, num_classes)`` for class targets or values ``(B, *target_shape)``
    for real targets. Losses are cross-entropy on raw logits and mean squared error. Logged
    metrics, per stage ``val`` and ``test``: ``loss``; ``accuracy`` (fraction of answered target
    values right, micro-averaged) and ``exact_match`` (fraction of samples with every answered
    target value right) for classes; ``mse`` and ``mae`` for reals, and ``accuracy`` (fraction
    within ``spec.tolerance``) for reals with a tolerance (adding, multiply). Class targets equal to
    ``spec.ignore_index`` carry no answer: the loss and both metrics leave them out
    (:func:`~seqtasks.models.metrics.score_classes` scores every batch).
    """

    framings: tuple[str, ...] = ()  # the framings this model serves

    def __init__(self, spec: TaskSpec | dict[str, Any], lr: float, weight_decay: float) -> None:
        super().__init__()
        if not isinstance(spec, TaskSpec | Mapping):
            raise TypeError(f"spec must be a TaskSpec (a dataset's .spec) or its dict, not "
                            f"{type(spec).__name__}: pass dataset.spec")  # fmt: skip
        self.spec = spec if isinstance(spec, TaskSpec) else TaskSpec(**spec)
        if self.spec.framing not in self.framings:
            raise ValueError(
                f"model {type(self).__name__} serves framings {list(self.framings)}, not "
                f"{self.spec.framing!r} ({self.spec.name})"
            )
        self.lr = check_float("lr", lr, 0.0, math.inf)
        self.weight_decay = check_float("weight_decay", weight_decay, 0.0, math.inf, from_low=True)
        self.metrics = nn.ModuleDict({stage: self.metric_collection(stage) for stage in STAGES})
        self.losses = nn.ModuleDict({stage: WeightedMean() for stage in STAGES})  # see _evaluate

    def save_hyperparameters(self, *args: Any, **kwargs: Any) -> None:
        """Lightning's, called from the subclass's ``__init__``; the spec is kept as a plain dict
        (a frozen ``TaskSpec`` in ``hparams`` breaks Lightning's collection helpers and
        checkpoints; its dict reloads into the same spec)."""
        kwargs.setdefault("frame", inspect.currentframe().f_back)
        super().save_hyperparameters(*args, **kwargs)
        for hparams in (self._hparams, self._hparams_initial):  # the logger saves the initial
            if isinstance(hparams.get("spec"), TaskSpec):
                hparams["spec"] = hparams["spec"].to_dict()

    # ------------------------------------------------------------------ building blocks
    @property
    def display_name(self) -> str:
        """The model's name in summaries and reports."""
        return type(self).__name__

    @property
    def classes(self) -> bool:
        return self.spec.target == "classes"

    @property
    def outputs_per_target(self) -> int:
        """Output units per target value: the number of classes, or 1 for a real value."""
        return self.spec.num_classes if self.classes else 1

    def input_layer(self, embedding_size: int, *, only_use: bool = True) -> tuple[nn.Module, int]:
        """An embedding for symbol ids (``index`` encoding), else identity; and its output size.

        Where the embedding is ``embedding_size``'s only use (``only_use``) and the inputs are not
        ids, a size other than the default is refused: it would be silently ignored."""
        if self.spec.encoding == "index":
            return nn.Embedding(self.spec.vocab_size, embedding_size), embedding_size
        if only_use and embedding_size != EMBEDDING_SIZE:
            ids = " or use encoding='index' (task.encoding=index)" if self.spec.vocab_size else ""
            raise ValueError(
                f"embedding_size={embedding_size} sizes the embedding of index inputs, but this "
                f"problem's inputs are encoding={self.spec.encoding!r} (input_size="
                f"{self.spec.input_size}, taken as they are): leave embedding_size at "
                f"{EMBEDDING_SIZE}{ids}"
            )
        return nn.Identity(), self.spec.input_size

    def shape_output(self, flat: torch.Tensor) -> torch.Tensor:
        """``(B, K * outputs_per_target)`` or ``(B, K, outputs_per_target)`` -> target layout."""
        batch, shape = flat.shape[0], self.spec.target_shape
        if self.spec.target_layout == "per_step" and flat.dim() == 3:
            shape = (flat.shape[1],)  # a per-step head serves any length
        if self.classes:
            return flat.reshape(batch, *shape, self.spec.num_classes)
        return flat.reshape(batch, *shape)

    def metric_collection(self, stage: str) -> MetricCollection:
        """Fresh metrics for this problem, logged as ``{stage}/accuracy`` and so on."""
        if self.classes:
            ignore = self.spec.ignore_index
            metrics = {
                "accuracy": ClassScore(ignore, per_sample=False),
                "exact_match": ClassScore(ignore, per_sample=True),
            }
        else:
            metrics = {"mse": MeanSquaredError(), "mae": MeanAbsoluteError()}
            if self.spec.tolerance is not None:
                metrics["accuracy"] = WithinTolerance(self.spec.tolerance)
        # no compute groups: they merge accuracy and exact_match on equal first-batch states
        return MetricCollection(metrics, prefix=f"{stage}/", compute_groups=False)

    def expected_output_shape(self, batch: int, spec: TaskSpec | None = None) -> tuple[int, ...]:
        """What ``forward`` must return for ``batch`` samples of ``spec`` (else the problem's)."""
        shape = (batch, *(spec or self.spec).target_shape)  # another length: its target shape
        return (*shape, self.spec.num_classes) if self.classes else shape

    def check_output(self, inputs: torch.Tensor, spec: TaskSpec | None = None,
                     training: bool = False, grad: bool = False) -> torch.Tensor:  # fmt: skip
        """One forward pass on ``inputs`` (of ``spec``, else the problem's; eval mode unless
        ``training``; gradients if ``grad``): its output, or :class:`OutputCheckError`."""
        was_training = self.training
        name = self.display_name + (" in training mode" if training else "")
        self.train(training)
        try:
            with torch.set_grad_enabled(grad):
                output = self(inputs)
        except Exception as error:  # a user's network may raise anything (a wrong width)
            raise OutputCheckError(
                f"{name} failed on inputs {tuple(inputs.shape)} ({inputs.dtype}), "
                f"the shape of {self.spec.name}'s inputs (encoding {self.spec.encoding}): "
                f"{type(error).__name__}: {error} (forward(inputs) is called with the inputs alone)"
            ) from error
        finally:
            self.train(was_training)
        expected = self.expected_output_shape(len(inputs), spec)
        layout = "(batch, *target_shape, num_classes)" if self.classes else "(batch, *target_shape)"
        if not isinstance(output, torch.Tensor):
            raise OutputCheckError(
                f"{name} returned a {type(output).__name__}, not a tensor of shape "
                f"{expected} = {layout}"
            )
        if tuple(output.shape) != expected or not output.is_floating_point():
            raise OutputCheckError(
                f"{name} returned shape {tuple(output.shape)} ({output.dtype}) for "
                f"inputs {tuple(inputs.shape)}; expected floats of shape {expected} = {layout} "
                f"for {self.spec.name}'s {self.spec.target}"
            )
        return output

    # ------------------------------------------------------------------ loss and steps
    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.classes:  # targets equal to ignore_index carry no answer and add no loss
            logits = output.reshape(-1, output.shape[-1])  # (N, C)
            classes = target.reshape(-1)  # (N,)
            return F.cross_entropy(logits, classes, ignore_index=self.spec.ignore_index)
        return F.mse_loss(output, target)

    def step_readout(self, inputs: torch.Tensor) -> tuple[torch.Tensor, nn.Module] | None:
        """For a ``one_to_one`` model whose outputs are a head applied to each step's features on
        their own: the features ``(B, T, H)`` and that head (``(N, H) -> (N, C)``). None (the
        default): the outputs are only read whole, from :meth:`forward`."""
        return None

    def step_readout_is_forward(self) -> bool:
        """Whether :meth:`step_readout` computes what ``self(inputs)`` does: not where a subclass
        overrides one of ``FORWARD_PARTS`` and not it, nor with a forward hook."""
        parts = [name for name in ("step_readout", *FORWARD_PARTS) if hasattr(type(self), name)]
        owner = {name: next(c for c in type(self).__mro__ if name in vars(c)) for name in parts}
        kept = all(issubclass(owner["step_readout"], part) for part in owner.values())
        return kept and not (self._forward_hooks or self._forward_pre_hooks)

    def scored_outputs(
        self, inputs: torch.Tensor, targets: torch.Tensor, training: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The outputs the loss and metrics read, their targets, and where the targets sit.
        Per-step class targets through a :meth:`step_readout`, on the CPU: the head runs on the
        answered steps alone, giving logits ``(N, C)``, targets ``(N,)`` and the ``(B, T)`` mask
        of the answered steps: the loss and metrics of the head on every step, at the cost of the
        answered ones (MQAR at length 1,024, vocabulary 2,048: 1/16 of the logits). Otherwise
        (other devices, ``ANSWERED_STEPS_ON_CPU``) the whole output (teacher-forced in
        ``training``), the targets and None."""
        on_cpu = ANSWERED_STEPS_ON_CPU and inputs.device.type == "cpu"
        by_step = self.classes and on_cpu and self.step_readout_is_forward()
        readout = self.step_readout(inputs) if by_step else None
        if readout is None:
            output = self.forward_train(inputs, targets) if training else self(inputs)
            return output, targets, None
        features, head = readout  # (B, T, H)
        answered = targets != self.spec.ignore_index  # (B, T)
        return head(features[answered]), targets[answered], answered  # (N, C), (N,), (B, T)

    def training_loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The loss a training step minimises on one batch."""
        output, scored_targets, _ = self.scored_outputs(inputs, targets, training=True)
        return self.loss(output, scored_targets)

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        inputs, targets = batch
        loss = self.training_loss(inputs, targets)
        if batch_idx % FINITE_CHECK_EVERY == 0 and not torch.isfinite(loss):
            raise FloatingPointError(
                f"training diverged: loss is {loss.item()} at step {self.global_step}; "
                f"lower the learning rate (model.lr={self.lr}) or clip gradients"
            )
        every = (self.global_step + 1) % self.trainer.log_every_n_steps == 0
        if every or self.trainer.should_stop:  # the steps Lightning writes (after a stop: each,
            self.log("train/loss", loss, prog_bar=True)  # min_steps); logging costs every step
        return loss

    def forward_train(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The output used for the training loss (teacher-forced decoders override this)."""
        return self(inputs)

    def _evaluate(self, batch: Batch, stage: str) -> None:
        inputs, targets = batch
        output, scored_targets, answered = self.scored_outputs(inputs, targets, training=False)
        loss = self.loss(output, scored_targets)
        # the loss of every target the epoch answers (all ranks), whatever each batch answers
        weight = ((scored_targets != self.spec.ignore_index).sum() if self.classes
                  else scored_targets.new_tensor(scored_targets.numel()))  # fmt: skip
        self.losses[stage].update(loss, weight)
        self.log(f"{stage}/loss", self.losses[stage], batch_size=len(targets))
        metrics = self.metrics[stage]
        self.update_metrics(metrics, output, targets, answered)
        self.log_dict(metrics, batch_size=len(targets))

    def update_metrics(
        self,
        metrics: MetricCollection,
        output: torch.Tensor,
        targets: torch.Tensor,
        answered: torch.Tensor | None = None,
    ) -> None:
        """Score a batch's ``output`` against ``targets`` in ``metrics``; with ``answered`` (the
        mask from :meth:`scored_outputs`), ``output`` holds the answered targets' outputs only."""
        predictions = self.predict_from_output(output)  # (B, ...) or (N,)
        if answered is not None:  # the unanswered steps' zeros are never scored
            predictions = torch.zeros_like(targets).masked_scatter_(answered, predictions)
        metrics.update(predictions, targets)  # (B, ...) each

    def predict_from_output(self, output: torch.Tensor) -> torch.Tensor:
        """Class ids or real values, shaped like the targets."""
        return output.argmax(dim=-1) if self.classes else output

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def predict_step(self, batch: Batch | torch.Tensor, batch_idx: int) -> torch.Tensor:
        """``trainer.predict``: the output for a batch's inputs (``(inputs, targets)`` or inputs
        alone); :meth:`predict_from_output` turns it into class ids or values."""
        inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self(inputs)  # (B, *target_shape, C) or (B, *target_shape)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """AdamW, fused where it runs, decaying the weight matrices alone (:mod:`.optim`)."""
        return adamw(self, self.lr, self.weight_decay)
