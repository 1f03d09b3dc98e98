"""``train(cfg)``: build the problem, model and trainer from a config, fit, test and report."""

from __future__ import annotations

import inspect
import logging
import re
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import TQDMProgressBar
from omegaconf import DictConfig, OmegaConf

from seqtasks import TaskSpec, models
from seqtasks.listing import effective_options
from seqtasks.models import SequenceModel, WindowMLP
from seqtasks.models.base import OutputCheckError
from seqtasks.models.size import num_parameters, state_size
from seqtasks.training import checks
from seqtasks.training.callbacks import (
    BestOrLater,
    KeepMetricsHistory,
    KeepRandomState,
    LastCheckpoint,
    SampleCounter,
    StopWhenSolved,
)
from seqtasks.training.checkpoint_io import AtomicCheckpointIO
from seqtasks.training.clock import RunClock
from seqtasks.training.datamodule import SequenceDataModule
from seqtasks.training.lengths import check_lengths, evaluate_lengths, length_test_sets
from seqtasks.training.loggers import LogHyperparameters, build_loggers
from seqtasks.training.report import (
    format_table,
    plot_learning_curves,
    plot_lengths,
    plot_predictions,
    write_summary,
)
from seqtasks.training.resume_check import (
    RunSettings,
    check_processes,
    resumed_checkpoint,
    run_settings,
)
from seqtasks.training.user_callbacks import build_user_callbacks

PROGRESS_EVERY = 20  # steps between progress-bar refreshes (each costs about a millisecond)


RUN_FIGURES = ("steps", "samples", "seconds", "fit_seconds")  # optimized_metric besides val/*


class ConfigError(ValueError):
    """A configuration that cannot run; raised before anything is trained or written."""


def check_optimized_metric(name: Any, logged: list[str] | None = None) -> None:
    """Refuse an ``optimized_metric`` that is neither a figure of the run nor a validation
    metric (one of ``logged``, the model's, when given)."""
    if name is None:
        return
    if not isinstance(name, str) or not (name.startswith("val/") or name in RUN_FIGURES):
        hint = " (choosing on the test set would leak it)" if str(name).startswith("test/") else ""
        raise ConfigError(
            f"optimized_metric={name!r} must be a val/ metric (val/loss, val/accuracy, val/mse, "
            f"...) or one of {list(RUN_FIGURES)}{hint}"
        )
    if logged is not None and name.startswith("val/") and name not in logged:
        raise ConfigError(
            f"optimized_metric={name!r}: this model on this problem logs {logged}; or choose one "
            f"of {list(RUN_FIGURES)}"
        )


def model_options(model: type[SequenceModel]) -> list[str]:
    """The keyword options a model class accepts (besides ``spec``)."""
    for cls in model.__mro__:
        parameters = inspect.signature(cls.__init__).parameters.values()
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return [p.name for p in parameters if p.name not in ("self", "spec")]
    return []


def build_model(model_cfg: DictConfig | dict[str, Any], spec: TaskSpec) -> SequenceModel:
    """The model named by ``model_cfg.name`` for ``spec``; refuses a model that cannot serve it.

    ``name: custom`` builds the user's ``net`` (``_target_`` and its options) with ``spec=`` and
    wraps it in :class:`models.NetModel`.
    """
    if isinstance(model_cfg, DictConfig):
        model_cfg = OmegaConf.to_container(model_cfg, resolve=True)
    options = dict(model_cfg)
    name = options.pop("name")
    try:
        model_class = models.resolve(name, spec.framing)
    except ValueError as error:
        raise ConfigError(f"{error} (problem {spec.name})") from None
    allowed = model_options(model_class)
    if name == models.CUSTOM:  # from a config, the net is given as its config: `net`
        allowed.remove("net_config")
    unknown = [key for key in options if key not in allowed]
    if unknown:
        raise ConfigError(
            f"model={name} has no option {unknown[0]!r} (given {options[unknown[0]]!r}): "
            f"allowed model options are {allowed}"
        )
    if name == models.CUSTOM:
        options["net_config"] = options.pop("net", None) or {}
    try:
        return model_class(spec.to_dict(), **options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"model={name}: {error}") from None


def run_directory(cfg: DictConfig) -> Path:
    """Hydra's run directory (``hydra.run.dir``), or ``cfg.run_dir`` when composed without it."""
    if cfg.get("run_dir"):
        return Path(cfg.run_dir)
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():  # train(cfg) from Python, composed without +run_dir=
        raise ConfigError("run_dir: train(cfg) outside a Hydra run needs the run directory: "
                          "compose the config with +run_dir=DIR")  # fmt: skip
    return Path(HydraConfig.get().runtime.output_dir)


def _stage_metrics(results: list[dict[str, float]], stage: str) -> dict[str, float]:
    return {k: float(v) for k, v in results[0].items() if k.startswith(f"{stage}/")}


def _no_litlogger_tip(record: logging.LogRecord) -> bool:
    """False for exactly Lightning's "try installing litlogger" line (a logging filter)."""
    return "try installing [litlogger]" not in record.getMessage()


def prepare(cfg: DictConfig) -> tuple[dict, dict, SequenceDataModule, SequenceModel]:
    """The run's checked task options, trainer options, data module and model (seeded by
    ``cfg.seed``), made before anything is written: :func:`train` starts with it, and the
    leaderboard calls it on its jobs' configs to refuse bad overrides before any run."""
    checks.check_keys(cfg)
    task_options = {key: value for key, value in cfg.task.items() if key != "name"}
    trainer_options = OmegaConf.to_container(cfg.trainer, resolve=True)
    checks.check_trainer_options(trainer_options)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    try:
        datamodule = SequenceDataModule(cfg.task.name, task_options, seed=cfg.seed, **cfg.data)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"task={cfg.task.name}: {error}") from None
    batches = {stage: len(datamodule.datasets[stage]) for stage in ("train", "val", "test")}
    checks.check_batch_counts(trainer_options, batches)  # an epoch's, on one process
    model = build_model(cfg.model, datamodule.spec)
    inputs, _ = datamodule.datasets["val"].generate(0, min(8, datamodule.sizes["val"]))
    try:
        model.check_output(inputs)  # before any training: a failing net or a wrong shape ends here
    except OutputCheckError as error:
        raise ConfigError(f"model={cfg.model.name}: {error}") from None
    return task_options, trainer_options, datamodule, model


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train ``cfg.task`` with ``cfg.model`` on ``cfg.trainer``; returns the run's summary.

    Everything that can be checked is checked before training starts: an impossible
    configuration raises :class:`ConfigError` (or the problem's own ``ValueError``/``TypeError``)
    and leaves nothing behind. The run directory receives ``config.yaml``, ``checkpoints/``
    (``best.ckpt`` and ``last.ckpt``), ``metrics.csv``, ``summary.json``,
    ``learning_curves.png`` and ``predictions.png``.
    """
    started = time.perf_counter()
    task_options, trainer_options, datamodule, model = prepare(cfg)
    spec = datamodule.spec
    logged = ["val/loss", *model.metric_collection("val").keys()]
    check_optimized_metric(cfg.get("optimized_metric"), logged)  # a search's objective
    lengths = list(cfg.report.eval_lengths)
    if lengths and "length" not in task_options:
        raise ConfigError(f"report.eval_lengths={lengths}: task={spec.name} has no length knob")
    if lengths and isinstance(model, WindowMLP):
        raise ConfigError("report.eval_lengths: model=mlp_window takes one fixed input length")
    try:
        length_sets = length_test_sets(
            cfg.task.name, task_options, lengths, spec, seed=cfg.data.eval_seed,
            num_samples=cfg.data.test_samples, batch_size=cfg.data.eval_batch_size,
        )  # fmt: skip
        check_lengths(model, length_sets)  # the model takes each length, or ends here
    except ValueError as error:
        raise ConfigError(str(error)) from None
    run_dir = run_directory(cfg)
    checkpoints = run_dir / "checkpoints"
    ckpt_path = resumed_checkpoint(cfg, checkpoints, model, datamodule)  # the same run
    monitor = f"val/{spec.metric}"
    mode = "min" if spec.metric == "mse" else "max"
    try:
        stopper = StopWhenSolved(spec, cfg.get("solved_in_a_row", 1))
    except ValueError as error:
        raise ConfigError(str(error)) from None
    counter, clock = SampleCounter(), RunClock(started)
    checkpointing = BestOrLater(dirpath=checkpoints, filename="best", monitor=monitor, mode=mode)
    keep_last = LastCheckpoint(checkpoints, cfg.checkpoint.every_n_steps)  # for ckpt_path=last
    callbacks = [stopper, counter, clock, checkpointing, keep_last, KeepRandomState(),
                 RunSettings(run_settings(cfg))]  # fmt: skip
    try:  # the user's own, after the harness's
        callbacks += build_user_callbacks(cfg.get("callbacks"))
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if trainer_options.get("enable_progress_bar", True):
        callbacks.append(TQDMProgressBar(refresh_rate=PROGRESS_EVERY))
    try:
        loggers = build_loggers(cfg.get("logger"), run_dir, spec.name)
    except ValueError as error:  # e.g. logger=tensorboard without its package
        raise ConfigError(str(error)) from None
    callbacks.append(KeepMetricsHistory(loggers, resuming=ckpt_path is not None))
    resolved = OmegaConf.to_container(cfg, resolve=True)
    run_keys = ("trainer", "solved_in_a_row", "test", "checkpoint", "report", "callbacks")
    callbacks.append(LogHyperparameters({key: resolved.get(key) for key in run_keys}))
    # Lightning advertises its cloud logger when the Trainer is made, unless that logger is used
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_no_litlogger_tip)
    try:
        trainer = L.Trainer(
            **trainer_options,
            max_epochs=-1,
            default_root_dir=run_dir,
            logger=loggers,
            callbacks=callbacks,
            plugins=[AtomicCheckpointIO()],
        )
    except (TypeError, ValueError, MisconfigurationException) as error:  # trainer.devices=0
        raise ConfigError(f"trainer: {error}") from None
    if ckpt_path is not None:  # known once the Trainer has its devices
        check_processes(cfg.ckpt_path, ckpt_path, trainer.world_size)
    # the message is about stateful loaders; ours resumes from the trainer's global step instead
    warnings.filterwarnings("ignore", message=r".*your dataloader is not resumable.*")
    # each worker and rank takes its own batches (SequenceTask.shard), so __len__ is exact
    warnings.filterwarnings("ignore", message=r"Your `IterableDataset` has `__len__` defined")
    # raised by torch inside Lightning's own pytree helper: nothing of ours to change
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
    if ckpt_path is not None:  # a resume continues the checkpoints there: no news
        warnings.filterwarnings(
            "ignore", message=rf"Checkpoint directory {re.escape(str(checkpoints))} exists"
        )

    run_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    # read these now: evaluating the best checkpoint below restores the callbacks' older state
    fit_seconds, earlier = clock.seconds(), clock.earlier  # the whole run's, a resume included
    steps, samples, solved_at = trainer.global_step, counter.total(trainer), stopper.solved_at_step
    best = checkpointing.best_model_path or None  # None: no checkpoint (fast_dev_run)
    loggers, trainer.loggers = trainer.loggers, []  # not a point of the learning curve
    val = _stage_metrics(
        trainer.validate(model, datamodule=datamodule, ckpt_path=best, verbose=False), "val"
    )
    trainer.loggers = loggers
    test = {}
    if cfg.get("test", True):
        test = _stage_metrics(
            trainer.test(model, datamodule=datamodule, ckpt_path=best, verbose=False), "test"
        )
    by_length = evaluate_lengths(model, length_sets) if trainer.is_global_zero else {}
    scored = test or val
    summary = {
        "task": spec.name,
        "framing": spec.framing,
        "options": effective_options(datamodule.datasets["val"], task_options),  # no None
        "model": model.display_name,
        "num_parameters": num_parameters(model),
        "state_size": state_size(model),  # floats carried per sequence (models/size.py)
        "solved": spec.is_solved(scored[f"{'test' if test else 'val'}/{spec.metric}"]),
        "metric": spec.metric,
        "criterion": f"{'>=' if mode == 'max' else '<='} {spec.solved_threshold:.6g}",
        "chance": spec.chance,
        "val": val,
        "test": test,
        "steps": steps,
        "solved_at_step": solved_at,
        "samples": samples,
        "fit_seconds": round(fit_seconds, 3),
        "seconds": round(earlier + time.perf_counter() - started, 3),
        "run_dir": str(run_dir),
    }
    if by_length:
        summary["lengths"] = {str(n): metrics for n, metrics in by_length.items()}
    if trainer.is_global_zero:
        write_summary(run_dir / "summary.json", summary)
        print(format_table(summary))
    if trainer.is_global_zero and cfg.report.plots:
        plot_learning_curves(run_dir / "metrics.csv", spec, run_dir / "learning_curves.png")
        shown = min(cfg.report.plot_samples, datamodule.sizes["test"])
        if shown:  # report.plot_samples=0: no predictions.png
            inputs, targets = datamodule.datasets["test"].generate(0, shown)
            plot_predictions(model, inputs.to(model.device), targets, spec,
                             run_dir / "predictions.png")  # fmt: skip
        if by_length:
            plot_lengths(by_length, spec, run_dir / "length_generalisation.png")
    return summary
