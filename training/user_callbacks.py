"""Lightning callbacks of the user's own, from the ``callbacks`` config key, beside the harness's.

``callbacks`` maps a name to ``{_target_: <a lightning Callback class>, **its options}``, as
lightning-hydra-template's ``callbacks`` group does; it is empty by default. On the command line:

    python train.py task=echo +callbacks.lr._target_=lightning.pytorch.callbacks.LearningRateMonitor
    python train.py task=echo +callbacks.stop._target_=lightning.pytorch.callbacks.EarlyStopping \\
        +callbacks.stop.monitor=val/loss +callbacks.stop.patience=5

They run after the harness's own (stop when solved, ``best.ckpt``, ``last.ckpt``, the sample
count), which stay whatever is added. An entry that is not a mapping with a ``_target_``, that
cannot be built, or that builds something other than a :class:`lightning.pytorch.Callback` is
refused by name before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch import Callback
from omegaconf import DictConfig, OmegaConf


def build_user_callbacks(entries: DictConfig | Mapping[str, Any] | None) -> list[Callback]:
    """The callbacks ``cfg.callbacks`` names, in its order; ``ValueError`` naming a bad entry."""
    if isinstance(entries, DictConfig):
        entries = OmegaConf.to_container(entries, resolve=True)
    if entries is None:
        return []
    if not isinstance(entries, Mapping):
        raise ValueError(
            f"callbacks={entries!r} must map names to callbacks, e.g. "
            "+callbacks.lr._target_=lightning.pytorch.callbacks.LearningRateMonitor"
        )
    built = []
    for name, entry in entries.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("_target_"), str):
            raise ValueError(
                f"callbacks.{name}={entry!r} must be a mapping with a _target_ (a Lightning "
                "Callback class), e.g. lightning.pytorch.callbacks.LearningRateMonitor"
            )
        try:
            callback = instantiate(entry)
        except InstantiationException as error:
            raise ValueError(f"callbacks.{name}: {error.__cause__ or error}") from None
        if not isinstance(callback, Callback):
            raise ValueError(
                f"callbacks.{name}: {entry['_target_']} built a {type(callback).__name__}, not a "
                "lightning.pytorch.Callback"
            )
        built.append(callback)
    return built
