"""The checks ``train()`` makes before anything is written: the settings the harness itself
relies on are refused by name (a resumed checkpoint's own checks: :mod:`.resume_check`).

- :func:`check_trainer_options`: keys ``lightning.Trainer`` does not have, the arguments the
  harness passes itself, ``enable_checkpointing=false``, ``limit_*_batches=0``, counts and
  intervals below 1, booleans given as strings, a ``max_time`` of no time, ``min_steps`` past
  ``max_steps``, a GPU where there is none, a spawning DDP strategy and DDP under Hydra's
  multirun.
- :func:`check_keys`: keys nothing reads (``+dat.batch_size=8``), the run's own ints, and
  :func:`check_bools`, the config's boolean settings (``test``, ``report.plots``), a seed
  NumPy refuses, ``data.device=cuda`` without a GPU.
- :func:`check_batch_counts`: a fraction of the batches that leaves none, a validation interval
  past the epoch, ``min_epochs`` that ``max_steps`` cuts short.

Each raises :class:`seqtasks.training.run.ConfigError`.
"""

from __future__ import annotations

import datetime
import inspect
import re
import typing
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from omegaconf import OmegaConf

from seqtasks.training.datamodule import SequenceDataModule

# Trainer arguments train() passes itself -> what to use instead
HARNESS_SET = {
    "max_epochs": "training runs until trainer.max_steps, trainer.max_time or the solved "
    "criterion; use trainer.max_steps (data.train_samples sets an epoch's length)",
    "default_root_dir": "the run directory is hydra.run.dir (or run_dir=)",
    "logger": "choose loggers with the logger=... config group (logger=csv|tensorboard|mlflow|"
    "wandb, or logger=[csv,tensorboard])",
    "callbacks": "the harness's callbacks (stop when solved, best.ckpt, last.ckpt) are always "
    "used; add your own with +callbacks.NAME._target_=CLASS (training/user_callbacks.py)",
    "plugins": "the harness's own plugin (AtomicCheckpointIO) writes the checkpoints",
}
# evaluations a run needs, so limit_*_batches=0 is refused
NEEDED_BATCHES = {
    "limit_train_batches": "a run trains on it",
    "limit_val_batches": "validation is how a run is scored, stopped and checkpointed (best.ckpt)",
    "limit_test_batches": "the final test scores the best checkpoint (test=false skips it)",
}
CONFIG_BOOLS = ("test", "report.plots")
# the trainer's counts, each an int >= 1 -> whether null is allowed too (where Lightning takes it)
COUNT_OR_NULL = {"accumulate_grad_batches": False, "check_val_every_n_epoch": True}
# the trainer's other counts -> the least each may be (None is Lightning's default for each)
LEAST = {"min_steps": 0, "min_epochs": 0, "num_sanity_val_steps": -1}
MAX_SEED = 2**32 - 1  # Lightning's seed_everything (NumPy's) takes seeds 0..2**32-1


KNOWN_KEYS = {
    "": {"task", "model", "trainer", "data", "checkpoint", "report", "seed", "ckpt_path", "test",
         "run_dir", "logger", "optimized_metric", "solved_in_a_row", "callbacks"},
    "data": set(inspect.signature(SequenceDataModule.__init__).parameters)
    - {"self", "task", "options", "seed"},
    "checkpoint": {"every_n_steps"},
    "report": {"plots", "plot_samples", "eval_lengths"},
}  # fmt: skip


def check_keys(cfg: Any) -> None:
    """Refuse keys that nothing reads (e.g. ``+dat.batch_size=8``) instead of ignoring them."""
    for section, allowed in KNOWN_KEYS.items():
        node = cfg[section] if section else cfg
        for key in node:
            if key not in allowed:
                name = f"{section}.{key}" if section else key
                raise _error(
                    f"{name}={OmegaConf.select(cfg, name)!r} is not a known setting: allowed "
                    f"{section or 'top-level'} keys are {sorted(allowed)}"
                )
    for name in ("seed", "data.eval_seed", "checkpoint.every_n_steps", "report.plot_samples"):
        value = OmegaConf.select(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _error(f"{name}={value!r} must be an int >= 0")
    if cfg.seed > MAX_SEED:
        raise _error(f"seed={cfg.seed} is above {MAX_SEED}: allowed 0 <= seed <= {MAX_SEED}")
    device = OmegaConf.select(cfg, "data.device")
    if device == "cuda" and not torch.cuda.is_available():
        raise _error("data.device=cuda needs a CUDA GPU and none is available here; allowed "
                     "data.device=auto (the trainer's device) or cpu")  # fmt: skip
    check_bools(cfg)  # test=no is a truthy string
    lengths = OmegaConf.select(cfg, "report.eval_lengths")
    if not (OmegaConf.is_list(lengths) or isinstance(lengths, list)):
        raise _error(f"report.eval_lengths={lengths!r} must be a list of lengths, e.g. [20,50] "
                     "([] for none)")  # fmt: skip
    twice = sorted({length for length in lengths if list(lengths).count(length) > 1}, key=str)
    if twice:
        raise _error(f"report.eval_lengths={list(lengths)} lists {twice} more than once: each "
                     "length has one test set and one score; list it once")  # fmt: skip
    max_steps = cfg.trainer.get("max_steps", -1)
    if type(max_steps) is not int or max_steps < -1 or max_steps == 0:  # bools are ints too
        raise _error(f"trainer.max_steps={max_steps!r} must be an int >= 1 (or -1: no limit)")


def _error(message: str) -> Exception:
    from seqtasks.training.run import ConfigError  # run imports this module

    return ConfigError(message)


def _require_bool(name: str, value: Any, nullable: bool = False) -> None:
    if not isinstance(value, bool) and not (nullable and value is None):
        allowed = "true, false or null" if nullable else "true or false"
        raise _error(f"{name}={value!r} must be a bool: allowed {allowed}")


def check_bools(cfg: Any) -> None:
    """Refuse a boolean setting given as anything but a bool (``test=no`` is a truthy string)."""
    for name in CONFIG_BOOLS:
        _require_bool(name, OmegaConf.select(cfg, name))


def _bool_arguments() -> dict[str, bool]:
    """The ``lightning.Trainer`` arguments typed bool -> whether None is allowed too."""
    found = {}
    try:
        hints = typing.get_type_hints(L.Trainer.__init__)
    except Exception:  # an annotation this Lightning cannot resolve: leave the checks to it
        return found
    for name, hint in hints.items():
        kinds = set(typing.get_args(hint)) or {hint}
        if bool in kinds and kinds <= {bool, type(None)}:
            found[name] = type(None) in kinds
    return found


def check_trainer_options(options: Mapping[str, Any]) -> None:
    """Refuse trainer settings Lightning does not have, the harness sets itself or cannot run
    with, and a GPU or DDP setting this machine or Hydra's multirun cannot serve."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    strategy = str(options.get("strategy", "auto"))
    multirun = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    if any(way in strategy for way in ("spawn", "fork", "notebook")):
        raise _error(
            f"trainer.strategy={strategy}: its processes keep the run's steps, sequences and "
            "metrics to themselves (summary.json would read 0 steps); use trainer.strategy=ddp "
            "(trainer=ddp), which launches each rank as a process of its own"
        )
    if "ddp" in strategy and multirun:
        raise _error(
            f"trainer.strategy={strategy} under Hydra multirun (-m) is not supported by "
            "Hydra: launch DDP runs one at a time"
        )
    accelerator = str(options.get("accelerator", "auto"))
    on_cpu = accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())
    if on_cpu and str(options.get("precision")) in ("16-mixed", "16"):
        raise _error(f"trainer.precision={options['precision']}: float16 autocast needs a CUDA GPU "
                     "(on the CPU Lightning would run bf16-mixed instead, and the run's config "
                     "would say 16-mixed): give trainer.precision=bf16-mixed")  # fmt: skip
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise _error(
            f"trainer.accelerator={accelerator} needs a CUDA GPU and none is available here; "
            "use trainer=cpu (or trainer=ddp trainer.accelerator=cpu for several CPU processes)"
        )
    allowed = inspect.signature(L.Trainer.__init__).parameters
    for key, value in options.items():
        if key not in allowed:
            raise _error(
                f"trainer.{key}={value!r} is not a lightning.Trainer argument; "
                f"see https://lightning.ai/docs/pytorch/stable/common/trainer.html"
            )
    for key, instead in HARNESS_SET.items():
        if key in options:
            raise _error(f"trainer.{key}={options[key]!r} is set by the harness itself: {instead}")
    if options.get("enable_checkpointing") is False:
        raise _error(
            "trainer.enable_checkpointing=False: runs always keep checkpoints (best.ckpt is what "
            "the test scores, last.ckpt what ckpt_path=last resumes); checkpoint.every_n_steps=0 "
            "writes last.ckpt at validations only"
        )
    for key, why in NEEDED_BATCHES.items():
        limit = options.get(key)
        if not isinstance(limit, bool) and isinstance(limit, int | float) and limit == 0:
            raise _error(
                f"trainer.{key}={limit!r}: {why}; allowed a number of batches >= 1 or a fraction "
                "in (0, 1], or null for the whole set"
            )
    for name, nullable in _bool_arguments().items():
        if name in options:
            _require_bool(f"trainer.{name}", options[name], nullable)
    if options.get("deterministic") not in (True, False, "warn", None):
        raise _error(f"trainer.deterministic={options['deterministic']!r}: allowed true, false, "
                     "warn or null")  # fmt: skip
    max_time = options.get("max_time")
    duration = None if max_time is None else _duration(max_time)
    if max_time is not None and duration is None:
        raise _error(f"trainer.max_time={max_time!r}: give DD:HH:MM:SS (e.g. 00:00:10:00) or a "
                     "mapping such as {minutes: 10}")  # fmt: skip
    if duration is not None and duration <= datetime.timedelta(0):
        raise _error(f"trainer.max_time={max_time!r} is no time: allowed a duration above 0")
    for key, least in LEAST.items():
        count = options.get(key)
        if count is not None and (type(count) is not int or count < least):
            raise _error(f"trainer.{key}={count!r} must be an int >= {least} (or null)")
    min_steps, max_steps = options.get("min_steps"), options.get("max_steps", -1)
    if min_steps is not None and max_steps != -1 and min_steps > max_steps:
        raise _error(f"trainer.min_steps={min_steps} is above trainer.max_steps={max_steps}: "
                     "the run would stop at max_steps; allowed min_steps <= max_steps")  # fmt: skip
    for key, nullable in COUNT_OR_NULL.items():
        count = options.get(key, 1)
        if not (nullable and count is None) and (type(count) is not int or count < 1):
            raise _error(f"trainer.{key}={count!r} must be an int >= 1"
                         + (" (or null)" if nullable else ""))  # fmt: skip
    interval = options.get("val_check_interval")  # a duration (DD:HH:MM:SS, a mapping) passes
    if (
        interval is not None
        and not isinstance(interval, str | Mapping | datetime.timedelta)
        and (
            isinstance(interval, bool)
            or not isinstance(interval, int | float)
            or not interval > 0
            or (type(interval) is float and interval > 1)
        )
    ):
        raise _error(f"trainer.val_check_interval={interval!r}: allowed a number of batches >= 1 "
                     "or a fraction of the epoch in (0, 1]")  # fmt: skip
    every = options.get("log_every_n_steps")
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
        raise _error(f"trainer.log_every_n_steps={every!r} must be an int >= 1")
    clip = options.get("gradient_clip_val")
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, int | float)
                             or not clip >= 0):  # fmt: skip
        raise _error(f"trainer.gradient_clip_val={clip!r} must be a number >= 0 (0 or null: no "
                     "clipping); Lightning skips a negative one silently")  # fmt: skip


def _duration(value: Any) -> datetime.timedelta | None:
    """``trainer.max_time`` as Lightning's Timer reads it; None where it cannot."""
    if isinstance(value, datetime.timedelta):
        return value
    if isinstance(value, str):
        parts = re.fullmatch(r"(\d+):(\d\d):(\d\d):(\d\d)", value.strip())
        if parts:
            days, hours, minutes, seconds = map(int, parts.groups())
            return datetime.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    elif isinstance(value, Mapping):
        try:
            return datetime.timedelta(**value)
        except TypeError:
            pass
    return None


def check_batch_counts(options: Mapping[str, Any], batches: Mapping[str, int]) -> None:
    """Refuse a ``limit_*_batches`` fraction that leaves none of a stage's ``batches`` (an epoch's
    on one process, shared by ``devices x num_nodes`` ranks) and a ``val_check_interval`` past the
    training epoch, as Lightning would only once the run directory is written."""
    overfit = options.get("overfit_batches") or 0
    if overfit:  # Lightning then limits the training and the validation batches to it
        options = {**options, "limit_train_batches": overfit, "limit_val_batches": overfit}
    devices, nodes = options.get("devices", 1), options.get("num_nodes", 1)
    if type(devices) is int and type(nodes) is int and devices > 0 and nodes > 0:
        batches = {stage: -(-count // (devices * nodes)) for stage, count in batches.items()}
    for stage, count in batches.items():  # one rank's
        limit = options.get(f"limit_{stage}_batches")
        name = "overfit_batches" if overfit and stage != "test" else f"limit_{stage}_batches"
        if isinstance(limit, float) and int(count * limit) < 1:
            raise _error(f"trainer.{name}={limit!r} leaves none of the {count} {stage} "
                         f"batches: allowed a fraction >= 1/{count}")  # fmt: skip
    limit = options.get("limit_train_batches")
    train = min(batches["train"], limit) if type(limit) is int else batches["train"]
    if isinstance(limit, float):
        train = int(batches["train"] * limit)
    interval = options.get("val_check_interval")
    every_epoch = options.get("check_val_every_n_epoch", 1) is not None
    if type(interval) is int and every_epoch and interval > train:
        raise _error(f"trainer.val_check_interval={interval} is past the {train} training batches "
                     "of an epoch (data.train_samples / data.batch_size): give at most "
                     f"{train}, or +trainer.check_val_every_n_epoch=null to count steps across "
                     "epochs")  # fmt: skip
    min_epochs, max_steps = options.get("min_epochs"), options.get("max_steps", -1)
    steps = min_epochs * -(-train // options.get("accumulate_grad_batches", 1)) if min_epochs else 0
    if max_steps != -1 and steps > max_steps:
        raise _error(f"trainer.min_epochs={min_epochs} needs {steps} steps ({train} batches an "
                     f"epoch) and trainer.max_steps={max_steps} stops before: allowed min_epochs "
                     "whose steps fit in max_steps")  # fmt: skip
