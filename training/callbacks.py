"""Callbacks of a training run: stop once solved, count the sequences trained on, keep the best."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from seqtasks import TaskSpec


class StopWhenSolved(L.Callback):
    """Stops training once ``in_a_row`` validations in a row meet the problem's solved criterion.

    Uses :meth:`TaskSpec.is_solved`, the same rule the final summary applies to the test set,
    and asks the trainer to stop on every rank (the metric is already reduced across ranks).
    ``solved_at_step`` is the step training stopped at. With ``in_a_row=1`` (the default) that is
    the first validation that meets the criterion; more validations in a row keep a model that
    only just touched the threshold on the validation set from being stopped there.
    """

    def __init__(self, spec: TaskSpec, in_a_row: int = 1) -> None:
        if isinstance(in_a_row, bool) or not isinstance(in_a_row, int) or in_a_row < 1:
            raise ValueError(f"solved_in_a_row={in_a_row!r}: allowed an integer >= 1")
        self.spec, self.in_a_row = spec, in_a_row
        self.monitor = f"val/{spec.metric}"
        self.solved_at_step: int | None = None
        self.streak = 0  # validations in a row that met the criterion

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        self.streak = self.streak + 1 if self.spec.is_solved(value) else 0
        if self.streak >= self.in_a_row:
            self.solved_at_step = trainer.global_step
            trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        return {"solved_at_step": self.solved_at_step, "streak": self.streak}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.solved_at_step = state_dict["solved_at_step"]
        self.streak = state_dict.get("streak", 0)


class SampleCounter(L.Callback):
    """Counts the training sequences seen by this rank (kept in checkpoints, so resumes add up)."""

    def __init__(self) -> None:
        self.samples = 0

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:  # fmt: skip
        self.samples += len(batch[1])

    def total(self, trainer: L.Trainer) -> int:
        """Sequences seen by all ranks together."""
        count = torch.tensor(self.samples, device=trainer.strategy.root_device)
        return int(trainer.strategy.reduce(count, reduce_op="sum"))

    def state_dict(self) -> dict[str, Any]:
        return {"samples": self.samples}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.samples = state_dict["samples"]


class BestOrLater(ModelCheckpoint):
    """``ModelCheckpoint`` whose best model is the later one when the monitored value ties.

    Lightning keeps the earlier checkpoint on a tie, so a metric that stays flat (an exact match
    of 0 for a whole run) leaves the first validation's barely trained weights as "best", and the
    test set then scores that model, not the one the run trained. Equal is good enough here: the
    later of two equally good checkpoints is kept.
    """

    def check_monitor_top_k(self, trainer: L.Trainer, current: torch.Tensor | None = None) -> bool:
        filling = len(self.best_k_models) < self.save_top_k
        if current is None or self.save_top_k in (-1, 0) or filling:
            return super().check_monitor_top_k(trainer, current)
        at_least = {"min": torch.le, "max": torch.ge}[self.mode]
        better = bool(at_least(current, self.best_k_models[self.kth_best_model_path]))
        return trainer.strategy.reduce_boolean_decision(better)
