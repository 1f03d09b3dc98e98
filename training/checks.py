"""The checks ``train()`` makes before anything is written: a resumed checkpoint must belong to
the run it continues, and the settings the harness itself relies on are refused by name.

- :func:`check_resume`: ``ckpt_path`` continues the *same* run, so the checkpoint's model and data
  hyperparameters (what Lightning stores as ``hyper_parameters`` and
  ``datamodule_hyper_parameters``) must equal the new ones, its weights must fit the new model,
  and its step must not be past ``trainer.max_steps``.
- :func:`check_trainer_options`: keys ``lightning.Trainer`` does not have, the arguments the
  harness passes itself, ``enable_checkpointing=false``, ``limit_val_batches=0`` (or test),
  booleans given as strings, a GPU where there is none and DDP under Hydra's multirun.
- :func:`check_bools`: the config's own boolean settings (``test``, ``report.plots``).

Each raises :class:`seqtasks.training.run.ConfigError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import inspect
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import OmegaConf
from omegaconf.basecontainer import BaseContainer

import seqtasks
from seqtasks import TaskSpec

# Trainer arguments train() passes itself -> what to use instead
HARNESS_SET = {
    "max_epochs": "training runs until trainer.max_steps, trainer.max_time or the solved "
    "criterion; use trainer.max_steps (data.train_samples sets an epoch's length)",
    "default_root_dir": "the run directory is hydra.run.dir (or run_dir=)",
    "logger": "choose loggers with the logger=... config group (logger=csv|tensorboard|mlflow|"
    "wandb, or logger=[csv,tensorboard])",
    "callbacks": "the harness's callbacks (stop when solved, best.ckpt, last.ckpt) are always used",
    "plugins": "the harness's own plugin (AtomicCheckpointIO) writes the checkpoints",
}
# evaluations a run needs, so limit_*_batches=0 is refused
NEEDED_BATCHES = {
    "limit_val_batches": "validation is how a run is scored, stopped and checkpointed (best.ckpt)",
    "limit_test_batches": "the final test scores the best checkpoint (test=false skips it)",
}
CONFIG_BOOLS = ("test", "report.plots")
ABSENT = object()  # a key one side lacks
SHOWN = 8  # differing weights listed in a refusal


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
    if "ddp" in strategy and multirun:
        raise _error(
            f"trainer.strategy={strategy} under Hydra multirun (-m) is not supported by "
            "Hydra: launch DDP runs one at a time"
        )
    accelerator = str(options.get("accelerator", "auto"))
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
    max_time = options.get("max_time")
    if max_time is not None and not isinstance(max_time, str | Mapping | datetime.timedelta):
        raise _error(f"trainer.max_time={max_time!r}: give DD:HH:MM:SS (e.g. 00:00:10:00) or a "
                     "mapping such as {minutes: 10}")  # fmt: skip
    every = options.get("log_every_n_steps")
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
        raise _error(f"trainer.log_every_n_steps={every!r} must be an int >= 1")
    clip = options.get("gradient_clip_val")
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, int | float)
                             or not clip >= 0):  # fmt: skip
        raise _error(f"trainer.gradient_clip_val={clip!r} must be a number >= 0 (0 or null: no "
                     "clipping); Lightning skips a negative one silently")  # fmt: skip


def checkpoint_file(ckpt_path: str | None, checkpoints: Path) -> str | None:
    """The checkpoint file ``ckpt_path`` names (``last``: ``checkpoints/last.ckpt``), or None."""
    if ckpt_path is None:
        return None
    path = checkpoints / "last.ckpt" if ckpt_path == "last" else Path(ckpt_path)
    if not path.is_file():
        raise _error(f"ckpt_path={ckpt_path!r}: no checkpoint file at {path}")
    return str(path)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseContainer):
        value = OmegaConf.to_container(value, resolve=True)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _flat(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _init_defaults(cls: type) -> dict[str, Any]:
    """Keyword defaults of ``cls(...)``, through the ``**kwargs`` of its ``__init__`` chain."""
    defaults: dict[str, Any] = {}
    for owner in cls.__mro__:
        if "__init__" not in vars(owner):
            continue
        parameters = inspect.signature(owner.__init__).parameters.values()
        for p in parameters:
            if p.default is not p.empty:
                defaults.setdefault(p.name, p.default)
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return defaults


def _defaults(model: Any, datamodule: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = {f"spec.{f.name}": f.default for f in dataclasses.fields(TaskSpec)
            if f.default is not dataclasses.MISSING}  # fmt: skip
    data = _init_defaults(type(datamodule))
    with contextlib.suppress(TypeError, ValueError):  # a problem registered elsewhere
        data.update({f"options.{k}": v for k, v in seqtasks.options(datamodule.task).items()})
    return {**_init_defaults(type(model)), **spec}, data


def _same(old: Any, new: Any) -> bool:
    try:
        return bool(old == new)
    except Exception:  # e.g. tensors of other shapes
        return False


def differences(saved: Mapping[str, Any], current: Mapping[str, Any],
                defaults: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:  # fmt: skip
    """``(key, saved, current)`` for each leaf that differs; a key the checkpoint lacks (written
    before that option existed) is no difference where its new value is the option's default."""
    old, new = _flat(_plain(saved)), _flat(_plain(current))
    found = []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key, ABSENT), new.get(key, ABSENT)
        if before is ABSENT and key in defaults and _same(defaults[key], after):
            continue
        if not _same(before, after):
            found.append((key, before, after))
    return found


def _config_name(section: str, key: str) -> str:
    """The config key a hyperparameter comes from (``options.lag`` of the data: ``task.lag``)."""
    if section == "model" and key.startswith("net_config"):
        return "model.net" + key.removeprefix("net_config")
    if section == "model":
        return key if key.startswith("spec.") else f"model.{key}"
    if key.startswith("options."):
        return "task." + key.removeprefix("options.")
    return {"seed": "seed", "task": "task.name"}.get(key, f"data.{key}")


def _shown(value: Any) -> str:
    return "absent" if value is ABSENT else repr(value)


def _weight_differences(saved: Mapping[str, Any], model: torch.nn.Module) -> list[str]:
    own = model.state_dict()
    found = []
    for key in sorted(saved.keys() | own.keys()):
        old, new = saved.get(key), own.get(key)
        lazy = any(torch.nn.parameter.is_lazy(t) for t in (old, new) if t is not None)
        if old is None or new is None or (not lazy and old.shape != new.shape):
            shapes = [_shown(ABSENT) if t is None else tuple(t.shape) for t in (old, new)]
            found.append(f"{key}: {shapes[0]} -> {shapes[1]}")
    return found


def check_resume(ckpt_path: str, path: str, model: Any, datamodule: Any, max_steps: int) -> None:
    """Refuse resuming ``path`` (given as ``ckpt_path``) into another configuration or past the
    step budget; nothing is written before this check."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except Exception as error:
        raise _error(f"ckpt_path={ckpt_path!r}: {path} cannot be read: {error}") from None
    if not isinstance(saved, Mapping) or "global_step" not in saved:
        raise _error(f"ckpt_path={ckpt_path!r}: {path} is not a Lightning checkpoint")
    model_defaults, data_defaults = _defaults(model, datamodule)
    lines = []
    for section, key, current, defaults in (
        ("model", "hyper_parameters", model.hparams, model_defaults),
        ("data", "datamodule_hyper_parameters", datamodule.hparams, data_defaults),
    ):
        if isinstance(saved.get(key), Mapping):  # absent: written without save_hyperparameters
            lines += [f"{_config_name(section, name)}: {_shown(old)} -> {_shown(new)}"
                      for name, old, new in differences(saved[key], current, defaults)]  # fmt: skip
    what = "was trained with another configuration (checkpoint value -> new value)"
    if not lines and isinstance(saved.get("state_dict"), Mapping):
        what = f"holds the weights of another model than {model.display_name} (checkpoint -> new)"
        lines = _weight_differences(saved["state_dict"], model)
        lines = lines[:SHOWN] + ([f"... {len(lines) - SHOWN} more"] if len(lines) > SHOWN else [])
    if lines:
        listed = "".join(f"\n  {line}" for line in lines)
        raise _error(
            f"ckpt_path={ckpt_path!r}: {path} {what}:{listed}\nA resumed run continues the "
            "same run: resume with the checkpoint's settings, or start a new run directory "
            "(another hydra.run.dir) to train this configuration"
        )
    step = int(saved["global_step"])
    if max_steps != -1 and step > max_steps:
        raise _error(
            f"ckpt_path={ckpt_path!r}: the checkpoint is at step {step}, past "
            f"trainer.max_steps={max_steps}: a resumed run cannot train fewer steps than it has; "
            f"allowed trainer.max_steps >= {step} (or -1)"
        )


def resumed_checkpoint(cfg: Any, checkpoints: Path, model: Any, datamodule: Any) -> str | None:
    """The checkpoint ``cfg.ckpt_path`` resumes (checked by :func:`check_resume`), or None."""
    path = checkpoint_file(cfg.get("ckpt_path"), checkpoints)
    if path is not None:
        check_resume(cfg.ckpt_path, path, model, datamodule, cfg.trainer.get("max_steps", -1))
    return path
