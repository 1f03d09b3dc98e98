"""A resumed run continues the *same* run: :func:`check_resume`, before anything is written.

``ckpt_path`` names a checkpoint whose model and data hyperparameters (what Lightning stores as
``hyper_parameters`` and ``datamodule_hyper_parameters``) must equal the new ones, whose run
settings (:class:`RunSettings`: the trainer options that decide what a step computes, and the
stop rule) must too, whose weights must fit the new model, and whose step must not be past
``trainer.max_steps``. Each refusal is a :class:`seqtasks.training.run.ConfigError` listing every
difference as ``checkpoint value -> new value``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import OmegaConf
from omegaconf.basecontainer import BaseContainer

import seqtasks
from seqtasks import TaskSpec
from seqtasks.registry import init_parameters
from seqtasks.training.checks import _error

ABSENT = object()  # a key one side lacks
SHOWN = 8  # differing weights listed in a refusal
SAME_DATA = ("num_workers", "device")  # data options that change no batch: free on a resume
# the trainer options that decide what a step computes or when a run stops: a resume keeps them
RESUME_TRAINER = ("accumulate_grad_batches", "check_val_every_n_epoch", "gradient_clip_algorithm",
                  "gradient_clip_val", "limit_train_batches", "limit_val_batches", "precision",
                  "val_check_interval")  # fmt: skip
# what Lightning reads a null as, so that a resume giving the value itself is no change
MEANS_WHEN_NULL = {"limit_train_batches": 1.0, "limit_val_batches": 1.0, "val_check_interval": 1.0,
                   "gradient_clip_val": 0.0, "gradient_clip_algorithm": "norm"}  # fmt: skip
# where an int is a number of batches and a float a fraction of the epoch: 1 and 1.0 differ
COUNT_OR_FRACTION = ("trainer.limit_train_batches", "trainer.limit_val_batches",
                     "trainer.val_check_interval")  # fmt: skip


def _setting(key: str, value: Any) -> Any:
    """One run setting as Lightning reads it: a null as what it means, a precision by its unified
    name (``32`` is ``32-true``)."""
    value = MEANS_WHEN_NULL.get(key, value) if value is None else value
    if key == "precision":
        with contextlib.suppress(Exception):  # a value Lightning refuses: its own error, later
            from lightning.fabric.connector import _convert_precision_to_unified_args

            value = str(_convert_precision_to_unified_args(value))
    return value


def _same_setting(key: str, old: Any, new: Any) -> bool:
    kinds = key not in COUNT_OR_FRACTION or isinstance(old, float) == isinstance(new, float)
    return _same(old, new) and kinds


def run_settings(cfg: Any) -> dict[str, Any]:
    """The settings a resumed run keeps besides the model's and the data's: ``RESUME_TRAINER``
    (Lightning's default where the config leaves one out) and ``solved_in_a_row``, each as
    :func:`_setting` reads it."""
    options = OmegaConf.to_container(cfg.trainer, resolve=True)
    defaults = inspect.signature(L.Trainer.__init__).parameters
    settings = {f"trainer.{key}": _setting(key, options.get(key, defaults[key].default))
                for key in RESUME_TRAINER}  # fmt: skip
    return {**settings, "solved_in_a_row": cfg.get("solved_in_a_row", 1)}


class RunSettings(L.Callback):
    """Keeps :func:`run_settings` in the checkpoint, where :func:`check_resume` reads them."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = dict(settings)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":  # each rank counts its own sequences and data position
            self.settings["processes"] = trainer.world_size

    def state_dict(self) -> dict[str, Any]:
        return {"run_settings": self.settings}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        pass  # compared before anything was written: the run's own settings stand


def checkpoint_file(ckpt_path: str | None, checkpoints: Path) -> str | None:
    """The checkpoint file ``ckpt_path`` names (``last``: ``checkpoints/last.ckpt``), or None."""
    if ckpt_path is None:
        return None
    path = checkpoints / "last.ckpt" if ckpt_path == "last" else Path(ckpt_path)
    if not path.is_file():
        raise _error(f"ckpt_path={ckpt_path!r}: no checkpoint file at {path}; allowed 'last' "
                     "(checkpoints/last.ckpt of the run directory) or a file's path")  # fmt: skip
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
    return {key: value for key, value in init_parameters(cls).items()
            if value is not inspect.Parameter.empty}  # fmt: skip


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


def check_resume(ckpt_path: str, path: str, model: Any, datamodule: Any, max_steps: int,
                 settings: Mapping[str, Any] | None = None) -> None:  # fmt: skip
    """Refuse resuming ``path`` (given as ``ckpt_path``) into another configuration (the model's
    and the data's hyperparameters, and :func:`run_settings` where both sides have them) or past
    the step budget; nothing is written before this check."""
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
                      for name, old, new in differences(saved[key], current, defaults)
                      if section == "model" or name not in SAME_DATA]  # fmt: skip
    kept = _kept_settings(saved)
    if kept is not None and settings is not None:  # absent: saved before they were kept
        lines += [
            f"{key}: {_shown(kept.get(key, ABSENT))} -> {_shown(value)}"
            for key, value in settings.items()
            if not _same_setting(key, kept.get(key, ABSENT), value)
        ]
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
    groups = [len(state.get("param_groups", [])) for state in saved.get("optimizer_states") or []]
    optimizer = model.configure_optimizers()  # the model's own: a user's may have its groups
    made = len(optimizer.param_groups) if isinstance(optimizer, torch.optim.Optimizer) else None
    if groups and made is not None and groups[0] != made:
        raise _error(
            f"ckpt_path={ckpt_path!r}: {path} holds an optimiser of {groups[0]} parameter "
            f"group(s), and this version makes {made} (weight decay now leaves biases, norms and "
            "poles alone: models/optim.py): finish the run with the version that saved it, or "
            "start a new run directory (another hydra.run.dir)"
        )
    step = int(saved["global_step"])
    if max_steps != -1 and step > max_steps:
        raise _error(
            f"ckpt_path={ckpt_path!r}: the checkpoint is at step {step}, past "
            f"trainer.max_steps={max_steps}: a resumed run cannot train fewer steps than it has; "
            f"allowed trainer.max_steps >= {step} (or -1)"
        )


def _kept_settings(saved: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The :class:`RunSettings` a checkpoint keeps (None: saved before they were kept)."""
    return next((state["run_settings"] for state in (saved.get("callbacks") or {}).values()
                 if isinstance(state, Mapping) and "run_settings" in state), None)  # fmt: skip


def check_processes(ckpt_path: str, path: str, processes: int) -> None:
    """Refuse resuming on another number of processes (``trainer.world_size``, devices x nodes):
    each rank keeps its own count of sequences and its own place in the data."""
    saved = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    before = (_kept_settings(saved) or {}).get("processes")  # None: saved before it was kept
    if before is not None and before != processes:
        raise _error(
            f"ckpt_path={ckpt_path!r}: {path} was trained on {before} process(es) "
            f"(trainer.devices x trainer.num_nodes) and this run has {processes}: a resumed run "
            f"continues the same run; resume on {before}, or start a new run directory"
        )


def resumed_checkpoint(cfg: Any, checkpoints: Path, model: Any, datamodule: Any) -> str | None:
    """The checkpoint ``cfg.ckpt_path`` resumes (checked by :func:`check_resume`), or None."""
    path = checkpoint_file(cfg.get("ckpt_path"), checkpoints)
    if path is not None:
        check_resume(cfg.ckpt_path, path, model, datamodule, cfg.trainer.get("max_steps", -1),
                     run_settings(cfg))  # fmt: skip
    return path
