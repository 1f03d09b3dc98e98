"""Command-line overrides checked before Hydra runs: a mistyped key gets a message listing the keys.

Hydra reports an override of a key the config does not have (``task.lga=3``) as "Could not
override 'task.lga'" / "Key 'lga' is not in struct", and an unknown choice of a group with its
search path. :func:`check_overrides` composes the config as the run will; when that fails it finds
the override at fault and raises :class:`ConfigError` naming it, the value and what is allowed:
the keys of that section, or the choices of that group.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from hydra import compose, initialize_config_module
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from seqtasks.training.checks import HARNESS_SET
from seqtasks.training.run import ConfigError

CONFIG_MODULE = "seqtasks.training.conf"
# flags after which Hydra composes something else, or whose overrides are sweeps: left to Hydra
HYDRA_OWN = {"-m", "--multirun", "-cn", "--config-name", "-cp", "--config-path", "-cd",
             "--config-dir", "--experimental-rerun", "-h", "--help", "--hydra-help"}  # fmt: skip


def groups() -> dict[str, list[str]]:
    """Config group -> its choices (the YAML files of ``training/conf/GROUP``)."""
    root = resources.files(CONFIG_MODULE)
    return {
        folder.name: sorted(p.name[: -len(".yaml")] for p in folder.iterdir()
                            if p.name.endswith(".yaml"))
        for folder in root.iterdir()
        if folder.is_dir() and not folder.name.startswith("_")
    }  # fmt: skip


def _compose(overrides: list[str]) -> DictConfig:
    with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
        return compose("config", overrides=overrides)


def check_overrides(args: list[str]) -> None:
    """Raise :class:`ConfigError` for an override Hydra would refuse as an unknown key or choice.

    ``args`` are the command line's arguments; flags (``--cfg job``) are skipped, and a command
    line with a multirun, another config or a syntax error is left to Hydra.
    """
    if any(arg in HYDRA_OWN for arg in args):
        return
    lines = [arg for arg in args if not arg.startswith("-") and ("=" in arg or arg[:1] == "~")]
    try:
        parsed = OverridesParser.create().parse_overrides(lines)
    except HydraException:
        return  # Hydra's own message points at the syntax error
    try:
        _compose(lines)
        return
    except (HydraException, OmegaConfBaseException, ValueError):  # ValueError: group=null
        pass
    choices = groups()
    # a search path adds the user's own configs to the groups: their choices are not listed here
    searched = any(o.key_or_group == "hydra.searchpath" for o in parsed)
    selections, values = [], []
    for override in parsed:
        group = override.key_or_group
        (selections if group in choices or group.startswith("hydra") else values).append(override)
    for override in selections:
        group, choice = override.key_or_group, override.value()
        known = choices.get(group)
        if choice is None and not override.is_delete():
            raise ConfigError(
                f"{override.input_line}: {group} is a config group: choose one of {known}, or "
                f"leave it out with ~{group}"
            )
        if known and not searched and isinstance(choice, str) and not override.is_delete() \
                and choice not in known:  # fmt: skip
            raise ConfigError(f"{override.input_line}: no such {group}: choose one of {known}")
    try:
        base = _compose([o.input_line for o in selections])
    except (HydraException, OmegaConfBaseException, ValueError):
        return
    for override in values:
        if override.is_add() or override.is_force_add():
            continue  # + adds a key; the run's own checks refuse one that nothing reads
        _check_key(base, override.key_or_group, override.input_line, override.is_delete())


def _check_key(base: DictConfig, key: str, line: str, delete: bool) -> None:
    parent, _, name = key.rpartition(".")
    node: Any = OmegaConf.select(base, parent) if parent else base
    section = parent or "top-level"
    if not isinstance(node, DictConfig):
        raise ConfigError(
            f"{line}: the config has no section {parent!r}: top-level keys are {sorted(base)}"
        )
    if parent == "trainer" and name in HARNESS_SET:  # not "+trainer.NAME adds a key"
        raise ConfigError(f"{line}: trainer.{name} is set by the harness itself: "
                          f"{HARNESS_SET[name]}")  # fmt: skip
    if name not in list(node):  # `name in node` is False for a key whose value is ??? (missing)
        about = f" ({node['name']})" if parent in ("task", "model") and "name" in node else ""
        hint = "" if delete else f" (+{key}=... adds a key the config does not have)"
        raise ConfigError(
            f"{line}: {section}{about} has no key {name!r}: allowed {section} keys are "
            f"{sorted(node)}{hint}"
        )
