"""Callbacks of a training run: stop once solved, count the sequences trained on, keep the best,
and keep the metrics of a resumed run's history."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.apply_func import convert_tensors_to_scalars
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.trainer.states import TrainerFn

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
            if self.solved_at_step is None:  # the first: min_steps/min_epochs may train on
                self.solved_at_step = trainer.global_step
            trainer.should_stop = True

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.solved_at_step is not None:  # resumed from the end of a fit that was solved
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

    The file name never gets a version (``best-v1.ckpt``): the best is always ``best.ckpt``. On a
    resumed fit the best on disk is adopted before training: ``last.ckpt`` may predate it (both
    are written at the end of a validation, the best first, and a run can be killed between the
    two), and without it the first validation after the resume would count as the best so far
    whatever ``best.ckpt`` already holds.

    It is written at validation ends only. Lightning's default also considers the end of a
    training epoch, which after a ``max_steps`` stop in mid-epoch scores the unvalidated final
    weights with the previous validation's value; with ties going to the later checkpoint, those
    weights became "best".
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs, enable_version_counter=False, save_on_train_epoch_end=False)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.ckpt_path is not None:  # after every checkpoint restore, whatever the strategy
            self._adopt_best_on_disk()

    def _adopt_best_on_disk(self) -> None:
        assert self.dirpath is not None and isinstance(self.filename, str)
        path = Path(self.dirpath) / f"{self.filename}{self.FILE_EXTENSION}"
        if not path.is_file():
            return
        saved = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
        score = saved.get("callbacks", {}).get(self.state_key, {}).get("best_model_score")
        if score is None:  # written under another monitor or mode: not comparable
            return
        self.best_k_models = {str(path): score}
        self.kth_best_model_path = self.best_model_path = str(path)
        self.kth_value = self.best_model_score = score

    def check_monitor_top_k(self, trainer: L.Trainer, current: torch.Tensor | None = None) -> bool:
        filling = len(self.best_k_models) < self.save_top_k
        if current is None or self.save_top_k in (-1, 0) or filling:
            return super().check_monitor_top_k(trainer, current)
        at_least = {"min": torch.le, "max": torch.ge}[self.mode]
        better = bool(at_least(current, self.best_k_models[self.kth_best_model_path]))
        return trainer.strategy.reduce_boolean_decision(better)


class LastCheckpoint(ModelCheckpoint):
    """``last.ckpt`` at the end of every validation of a fit, every ``every_n_steps`` training
    steps between validations (0: none between), and at the step that ends the fit; always that
    name, written once a step (after its last batch where gradients accumulate).

    At a step that a validation follows, the step's save waits for the validation's end: a
    checkpoint written before the validation and a run killed during it would resume past that
    validation (Lightning counts it as run), so its best model and its stopping would be lost. A
    validation that solves the problem and ends the fit is saved at the fit's end instead, with the
    loops' end-of-fit counters: a solved run resumed from it stops at once
    (:class:`StopWhenSolved`) and logs its final rows at the same epoch and step. Another stop (the
    time limit) is saved where it falls, so that a resume with more time trains on. A
    ``ModelCheckpoint`` so that Lightning calls it after :class:`BestOrLater`: the saved state
    already holds that validation's best. Lightning's own ``save_last`` writes at validations only
    when a top-k checkpoint was written there, and at a step-based save before the validation.
    """

    def __init__(self, dirpath: Path, every_n_steps: int = 0) -> None:
        super().__init__(dirpath=dirpath, save_top_k=0, enable_version_counter=False)
        self.every_n_steps, self.saved_at, self.step_seen = every_n_steps, -1, -1
        self.path = Path(dirpath) / f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}"

    def write_last(self, trainer: L.Trainer) -> None:
        if trainer.fast_dev_run or trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        trainer.save_checkpoint(self.path, weights_only=False)  # every rank; written once
        self.saved_at = trainer.global_step

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self.step_seen = trainer.global_step

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:  # fmt: skip
        stepped, self.step_seen = trainer.global_step != self.step_seen, trainer.global_step
        if not stepped:  # a batch that only accumulated gradients: its state is not saved
            return
        due = self.every_n_steps and trainer.global_step % self.every_n_steps == 0
        # the fit ends after this step (max_steps, or a callback's stop, such as the time limit,
        # that min_steps lets through): saved now, mid-epoch, as a kill here would leave it; at
        # the fit's end Lightning's epoch counter has moved on, and a run resumed with more steps
        # would start an epoch late
        stops = trainer.should_stop and getattr(trainer.fit_loop, "_can_stop_early", True)
        ends = stops or 0 < trainer.max_steps <= trainer.global_step
        if (due or ends) and not validation_follows(trainer):
            self.write_last(trainer)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        solved = any(isinstance(callback, StopWhenSolved) and callback.solved_at_step is not None
                     for callback in trainer.callbacks)  # fmt: skip
        if not (trainer.should_stop and solved):  # solved: on_train_end writes it, at the end
            self.write_last(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pass  # ModelCheckpoint's epoch-end save: not wanted

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.saved_at != trainer.global_step:  # e.g. stopped by max_steps between validations
            self.write_last(trainer)


def validation_follows(trainer: L.Trainer) -> bool:
    """Whether a validation runs after the training batch that just ended (Lightning's own
    test, ``_should_check_val_fx``; False where a Lightning version lacks it)."""
    epoch_loop = trainer.fit_loop.epoch_loop
    check = getattr(epoch_loop, "_should_check_val_fx", None)
    fetcher = getattr(trainer.fit_loop, "_data_fetcher", None)
    if check is None or fetcher is None or not trainer.enable_validation:
        return False
    return bool(check(fetcher))


class KeepRandomState(L.Callback):
    """Checkpoints carry torch's random state (the CPU generator and CUDA's), which Lightning's
    do not: a resumed run draws the dropout masks of the uninterrupted run. Every rank draws
    alike (``seed_everything`` seeds them alike), so rank 0's state serves all."""

    KEY = "seqtasks_random_state"

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           checkpoint: dict[str, Any]) -> None:  # fmt: skip
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
        checkpoint[self.KEY] = {"cpu": torch.get_rng_state(), "cuda": cuda}

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           checkpoint: dict[str, Any]) -> None:  # fmt: skip
        state = checkpoint.get(self.KEY)
        if state is None or trainer.state.fn != TrainerFn.FITTING:  # evaluation draws nothing
            return
        torch.set_rng_state(state["cpu"])
        if state["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])


class KeepMetricsHistory(L.Callback):
    """A resumed run's ``metrics.csv`` keeps the rows logged before the checkpoint it resumes from.

    Lightning's CSV logger deletes ``metrics.csv`` when its writer is made, so a resumed run
    would keep only the rows after the resume. This callback reads each CSV log when it is built
    (before the trainer runs), and once the checkpoint is loaded writes back the rows of the
    steps before it, under the same header, for the run to append to. Rows of the checkpoint's
    step and later (steps trained again, a finished run's final evaluation) are dropped: the
    resumed run logs them again, so the file is the one an uninterrupted run would have written.

    A checkpoint saved at the end of a training step is written before Lightning logs that
    step's row, and a run resumed from it does not log the row again; so the checkpoint carries
    the row, and a run killed between the two gets it back.
    """

    STEP_ROW = "seqtasks_step_row"  # the checkpoint's key for the row of the step it ends

    def __init__(self, loggers: list[Any], resuming: bool) -> None:
        self.logs: list[tuple[CSVLogger, list[str], list[dict[str, str]]]] = []
        for logger in loggers if resuming else []:
            if isinstance(logger, CSVLogger):
                header: list[str] = []
                rows: list[dict[str, str]] = []
                path = Path(logger.log_dir) / "metrics.csv"
                if path.is_file():  # absent if killed before the first row was written
                    with path.open(newline="") as handle:
                        reader = csv.DictReader(handle)
                        rows = list(reader)
                    header = list(reader.fieldnames or [])
                self.logs.append((logger, header, rows))

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        epoch_loop = trainer.fit_loop.epoch_loop
        progress = epoch_loop.batch_progress.total
        connector = trainer._logger_connector  # what update_train_step_metrics is about to log
        if (
            trainer.state.fn == TrainerFn.FITTING
            and progress.completed == progress.processed - 1  # in on_train_batch_end
            and not epoch_loop._should_accumulate()
            and connector.should_update_logs
        ):
            metrics = convert_tensors_to_scalars(connector.metrics["log"])
            if metrics:  # the row as Lightning's logger connector writes it
                epoch, step = trainer.current_epoch, epoch_loop._batches_that_stepped
                checkpoint[self.STEP_ROW] = {"epoch": epoch, **metrics, "step": step}

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        logs, self.logs = self.logs, []  # once: validate and test load checkpoints too
        if not trainer.is_global_zero or trainer.state.fn != TrainerFn.FITTING:
            return
        resumed_at = int(checkpoint["global_step"])
        step_row = {k: str(v) for k, v in checkpoint.get(self.STEP_ROW, {}).items()}
        for logger, header, rows in logs:
            kept = [row for row in rows if row.get("step") and int(row["step"]) < resumed_at]
            if step_row and not any(step_row.items() <= row.items() for row in kept):
                kept.append(step_row)
                header = sorted(set(header) | step_row.keys())  # Lightning's order: sorted
            if not header:
                continue
            writer = logger.experiment  # made now if not yet: it deletes the file first
            with Path(writer.metrics_file_path).open("w", newline="") as handle:
                out = csv.DictWriter(handle, fieldnames=header)
                out.writeheader()
                out.writerows(kept)
            writer.metrics_keys = list(header)  # new columns make the writer rewrite the header
