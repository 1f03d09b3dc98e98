"""A saved row is taken on resume only if today's code would set its run up the same way.

A job's id (``engines.job_id``) hashes its overrides, seed and time limit: what the job asks for,
not what the config's defaults fill in. When a default changes (the TCN's ``model.init`` went from
``locuslab`` to ``he``), the same job has the same id, and ``--resume`` would take a row of the
old model for the new one. So each row records its ``overrides`` and its ``setup``: the resolved
config keys that decide a run's outcome (:data:`DECIDING`). Before any job starts (and before
rows are merged), :func:`check_rows` composes each saved row's overrides with today's code and
refuses the rows whose setup has changed, naming the keys that differ. Rows saved without a
setup (before this check existed: the committed board's first 777) are taken as they are.

Example: a TCN row saved before ``model.init`` existed, resumed with today's code, is refused::

    StaleRows: --resume: 1 saved row was set up differently from how this code sets the same job
    up (a default changed since), so the saved results would describe another run:
      model=tcn problem=echo value=5 lr=0.003 seed=0 (job 5e0c...): model.init absent -> 'he'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf

Row = dict[str, Any]
# what decides a run's outcome besides its seed: the problem, the model, the data it sees, its
# budget and stop rule (not where it runs, how it logs, or how often it checkpoints)
DECIDING = ("task", "model", "data.batch_size", "data.train_samples", "data.val_samples",
            "data.test_samples", "data.eval_seed", "trainer.max_steps",
            "trainer.gradient_clip_val", "trainer.precision", "solved_in_a_row", "test",
            "report.eval_lengths")  # fmt: skip
SHOWN = 5  # stale rows listed in the message (all are counted)
LABEL_KEYS = ("model", "problem", "case", "value", "lr", "init", "seed")
ABSENT = object()  # a key one setup has and the other lacks


class StaleRows(ValueError):
    """Saved rows whose setup differs from today's for the same job."""


def setup_of(cfg: DictConfig) -> dict[str, Any]:
    """The :data:`DECIDING` keys of a composed ``train.py`` config, resolved (absent: None)."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    setup: dict[str, Any] = {}
    for key in DECIDING:
        value: Any = resolved
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        setup[key] = value
    return setup


def differences(saved: dict[str, Any], current: dict[str, Any], prefix: str = "") -> list[str]:
    """``key 'old' -> 'new'`` for each leaf that differs (a key one side lacks reads absent)."""
    lines = []
    for key in sorted(set(saved) | set(current)):
        old, new = saved.get(key, ABSENT), current.get(key, ABSENT)
        if isinstance(old, dict) and isinstance(new, dict):
            lines += differences(old, new, f"{prefix}{key}.")
        elif old != new:
            lines.append(f"{prefix}{key} {_shown(old)} -> {_shown(new)}")
    return lines


def _shown(value: Any) -> str:
    return "absent" if value is ABSENT else repr(value)


def check_rows(
    known: dict[str, Row], compose: Callable[[list[str]], DictConfig] | None = None
) -> None:
    """Raise :class:`StaleRows` if a saved row with a ``setup`` would be set up differently today.

    ``compose`` gives the config of a row's overrides (default: ``runner.compose_config``); each
    distinct list of overrides is composed once.
    """
    if compose is None:
        from seqtasks.benchmarks.runner import compose_config as compose
    today: dict[tuple[str, ...], dict[str, Any] | str] = {}  # overrides -> setup (or why none)
    stale = []
    for key, row in known.items():
        if not isinstance(row.get("setup"), dict) or row.get("overrides") is None:
            continue
        overrides = tuple(row["overrides"])
        if overrides not in today:
            try:
                today[overrides] = setup_of(compose(list(overrides)))
            except Exception as error:  # e.g. an option since renamed
                today[overrides] = f"its overrides no longer compose: {error}".splitlines()[0]
        setup = today[overrides]
        changed = [setup] if isinstance(setup, str) else differences(row["setup"], setup)
        if changed:
            what = " ".join(f"{name}={row[name]}" for name in LABEL_KEYS if name in row)
            stale.append(f"  {what} (job {key}): {'; '.join(changed)}")
    if stale:
        many = "s were" if len(stale) > 1 else " was"
        shown = "\n".join(stale[:SHOWN]) + ("\n  ..." if len(stale) > SHOWN else "")
        raise StaleRows(
            f"--resume: {len(stale)} saved row{many} set up differently from how this code sets "
            "the same job up (a default changed since), so the saved results would describe "
            f"another run:\n{shown}\nResume into a new --out, or delete these rows (by job id) "
            "from the rows file to have them run again."
        )
