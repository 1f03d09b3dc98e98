"""What ``seqtasks list`` shows: problems with their effective defaults, models, experiments.

A problem option whose default is ``None`` means "the problem decides" (echo's ``lag``, ramp's
``window``, subsequence's ``start`` and ``size``); :func:`effective_defaults` asks the problem what
it decides, for each framing, and :func:`effective_options` gives the values a built dataset runs
with (``summary.json`` records those). Models and experiments come from the training extra:
:data:`seqtasks.models.FAMILIES` and the configs shipped in ``seqtasks/training/conf``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from seqtasks.base import SequenceTask
from seqtasks.registry import PROBLEMS, make, options

TRAIN_EXTRA = "pip install 'seqtasks[train]'"
DEFAULT_MODEL = "lstm"


def effective_defaults(name: str) -> dict[str, dict[str, Any]]:
    """``{option: {framing: value}}`` for each option of ``name`` whose default is ``None``.

    The value is what the problem uses when the option is left out (its other options at their
    defaults); ``None`` where the problem uses none (e.g. memorize_long's ``q`` outside 2c). A
    framing that refuses the option given (subsequence's ``start`` outside seq2seq) is left out.
    """
    unset = [key for key, value in options(name).items() if value is None]  # refuses a bad name
    problem = PROBLEMS[name]
    found: dict[str, dict[str, Any]] = {key: {} for key in unset}
    for framing in problem.framings:
        try:
            dataset = make(name, framing=framing)
        except (TypeError, ValueError):  # a framing that needs another option set
            continue
        for key in unset:
            used = getattr(dataset, key, None)
            try:
                make(name, **{"framing": framing, **({key: used} if used is not None else {})})
            except (TypeError, ValueError):  # this framing takes no such option
                continue
            found[key][framing] = used
    return found


def effective_options(dataset: SequenceTask, given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` (the options ``dataset`` was made with) with each ``None`` replaced by the value
    ``dataset`` uses, where ``make`` takes it back: ``make(dataset.name, **result)`` rebuilds the
    same dataset. An option derived from another (echo's ``position`` from ``lag``) or unused in
    this framing (subsequence's ``start`` outside seq2seq) is left out rather than recorded."""
    result = {key: value for key, value in given.items() if value is not None}
    for key, value in given.items():
        used = getattr(dataset, key, None)
        if value is not None or used is None:
            continue
        try:
            make(dataset.name, **result, **{key: used})
        except (TypeError, ValueError):  # a derived twin, or an option of another framing
            continue
        result[key] = used
    return {key: result[key] for key in given if key in result}  # the options' own order


def describe_default(
    key: str, default: Any, by_framing: Mapping[str, Any], framings: Sequence[str] = ()
) -> str:
    """``lag=None (means 5)``; ``window=None (means 1 for many_to_one, 9 for one_to_one)``;
    ``start=None (means 0 for seq2seq)`` where ``framings`` (the problem's) has others too."""
    if default is not None or not by_framing or set(by_framing.values()) == {None}:
        return f"{key}={default!r}"
    values = list(by_framing.values())
    if all(value == values[0] for value in values) and set(framings) <= set(by_framing):
        return f"{key}=None (means {values[0]!r})"
    parts = ", ".join(f"{value!r} for {framing}" for framing, value in by_framing.items())
    return f"{key}=None (means {parts})"


def _config_text(group: str, name: str) -> str:
    return (resources.files("seqtasks.training.conf") / group / f"{name}.yaml").read_text()


def _summary(text: str) -> str:
    """The first sentence of a config file's leading comments (after ``# @package``)."""
    lines = []
    for line in text.splitlines():
        if line.startswith("# @package"):
            continue
        words = line.lstrip("#").strip()
        if not line.startswith("#") or not words or words.startswith("python "):
            break
        lines.append(words)
    paragraph = " ".join(lines)
    end = re.search(r"\.\s+(?=[A-Z])", paragraph)  # the first sentence ends
    return paragraph[: end.start() + 1] if end else paragraph


def list_models() -> str:
    """Every ``model=NAME``: the class it builds for each framing and its config's options."""
    try:
        from omegaconf import OmegaConf

        from seqtasks.models import CUSTOM, FAMILIES
    except ImportError as error:
        return f"models: listing them needs the training extra ({error}): {TRAIN_EXTRA}"
    blocks = [f"models (seqtasks train model=NAME; {DEFAULT_MODEL} is the default)"]
    for name in [*FAMILIES, CUSTOM]:
        try:
            text = _config_text("model", name)
        except FileNotFoundError:
            text = ""
        settings = OmegaConf.to_container(OmegaConf.create(text)) if text else {}
        settings = {key: value for key, value in (settings or {}).items() if key != "name"}
        summary = _summary(text)
        if name == CUSTOM:
            summary = "your own nn.Module, wrapped in NetModel (models.wrap from Python)"
            serves = "any: model.net._target_=pkg.Class builds Class(spec=..., **options)"
        else:
            serves = ", ".join(f"{f} {cls.__name__}" for f, cls in FAMILIES[name].items())
            classes = sorted({cls.__name__ for cls in FAMILIES[name].values()})
            summary = summary or f"{', '.join(classes)} only"
        shown = " ".join(f"{key}={value!r}" for key, value in settings.items())
        blocks.append(f"{name}: {summary}\n  framings   {serves}\n  options    {shown or '(none)'}")
    return "\n\n".join(blocks)


def list_experiments() -> str:
    """Every ``experiment=NAME`` shipped in ``training/conf/experiment``: what it runs."""
    try:
        from omegaconf import OmegaConf
    except ImportError as error:
        return f"experiments: listing them needs the training extra ({error}): {TRAIN_EXTRA}"
    folder = resources.files("seqtasks.training.conf") / "experiment"
    names = sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))
    blocks = ["experiments (seqtasks train experiment=NAME; command-line overrides still win)"]
    for name in names:
        text = _config_text("experiment", name)
        config = OmegaConf.to_container(OmegaConf.create(text)) or {}
        groups = {}
        for entry in config.get("defaults", []):
            for key, value in entry.items() if isinstance(entry, dict) else []:
                groups[key.replace("override /", "")] = value
        runs = " ".join(
            f"{group}={groups[group]}"
            + (f" ({' '.join(f'{k}={v!r}' for k, v in config[group].items())})"
               if isinstance(config.get(group), dict) else "")
            for group in ("task", "model") if group in groups
        )  # fmt: skip
        blocks.append(f"{name}: {_summary(text)}\n  runs       {runs or '(see the file)'}")
    return "\n\n".join(blocks)
