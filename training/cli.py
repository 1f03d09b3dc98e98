"""``python train.py task=NAME ...`` and ``seqtasks-train``: a thin Hydra wrapper around ``train``.

The configs ship inside the package (``training/conf``), so the installed command takes the same
overrides as ``train.py`` from any directory. Under ``hparams_search=optuna`` the run returns
``cfg.optimized_metric`` to the sweeper.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig

from seqtasks.training.overrides import check_overrides
from seqtasks.training.report import format_table
from seqtasks.training.run import (
    RUN_FIGURES,
    ConfigError,
    run_directory,
    train,
)

HYDRA_ONLY = {".hydra", "train.log", "cli.log", "config.yaml"}
LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric")
log = logging.getLogger("seqtasks.training.cli")  # the run's log file only (see log_into_run_file)
_ATTACHED: list[tuple[logging.Logger, logging.Handler]] = []
_FAILED: list[str] = []  # the errors of a multirun's failed jobs (refused or diverged)


def objective(summary: dict[str, Any], name: str) -> float:
    """The value of ``name`` (``val/loss``, ``val/accuracy``, ``steps``, ...) in a run summary."""
    values = {**summary["val"], **{key: summary[key] for key in RUN_FIGURES}}
    if name not in values:
        raise ConfigError(
            f"optimized_metric={name!r} is not a figure of this run: choose one of {list(values)}"
        )
    return float(values[name])


def _sweep_direction() -> str | None:
    """``minimize``/``maximize`` of a running Optuna sweep, else None."""
    if not HydraConfig.initialized():
        return None
    direction = HydraConfig.get().sweeper.get("direction")
    return direction if isinstance(direction, str) else None


def log_into_run_file() -> None:
    """Write the run's messages into Hydra's job log (``cli.log``, ``train.log``) too.

    Hydra's job logging sends the root logger's records to that file, but Lightning, imported
    before Hydra set logging up, gave its loggers a terminal handler of their own and stopped
    them propagating, and the run's outcome is printed: so the file stayed empty. Hydra's file
    handlers are attached to Lightning's loggers and to :data:`log` (which does not propagate:
    the terminal gets the outcome from ``print``). Handlers of an earlier run in this process
    (a sweep, a test) are taken off first.
    """
    files = [h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]
    while _ATTACHED:
        logger, handler = _ATTACHED.pop()
        logger.removeHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    for logger in (*map(logging.getLogger, LIGHTNING_LOGGERS), log):
        if logger is log or not logger.propagate:  # else the root's handlers get it already
            for handler in files:
                logger.addHandler(handler)
                _ATTACHED.append((logger, handler))


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def hydra_main(cfg: DictConfig) -> float | None:
    """Train ``cfg``; returns its ``optimized_metric`` when one is set (for the sweeper)."""
    log_into_run_file()
    log.info("%s %s", Path(sys.argv[0]).name, " ".join(sys.argv[1:]))
    metric = cfg.get("optimized_metric")
    try:
        summary = train(cfg)  # checks optimized_metric against what the model logs
        if rank_zero_only.rank == 0:
            log.info("outcome:\n%s", format_table(summary))
        return None if metric is None else objective(summary, metric)
    except FloatingPointError as error:
        direction = _sweep_direction()
        if metric is None or direction is None:
            _fail(cfg, error)
            return None  # a multirun's job (_fail returned): not a trial to score
        # one diverged trial is a bad setting, not the end of the search: give it the worst score
        print(f"error: {error}; trial scored as the worst", file=sys.stderr)
        return math.inf if direction == "minimize" else -math.inf
    except (ValueError, TypeError) as error:
        _fail(cfg, error)
    return None  # a refused job of a multirun (_fail returned)


def _fail(cfg: DictConfig, error: Exception) -> None:
    log.error("error: %s", error)
    run_dir = run_directory(cfg)
    if run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= HYDRA_ONLY:
        shutil.rmtree(run_dir)  # nothing was trained: leave no run directory behind
        here = Path.cwd().resolve()
        for parent in run_dir.resolve().parents:  # nor the runs/<task>/ made on the way to it
            if parent == here or not parent.is_relative_to(here) or any(parent.iterdir()):
                break
            parent.rmdir()
    print(f"error: {error}", file=sys.stderr)
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN \
            and _sweep_direction() is None:  # fmt: skip
        _FAILED.append(str(error))  # a sweep's other jobs still run; main() exits 2 after them
        return
    sys.exit(2)


def main() -> None:
    """Console entry point; a search whose sweeper plugin is missing ends naming the extra, and
    an override of a key the config does not have ends listing the keys it has."""
    sweeps = any(re.match(r"(\+*hparams_search=|hydra/sweeper=optuna)", a) for a in sys.argv[1:])
    if sweeps and importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is None:
        print(
            "error: hparams_search needs the Optuna sweeper, which is not installed: "
            "pip install 'seqtasks[optuna]'",
            file=sys.stderr,
        )
        sys.exit(2)
    try:
        check_overrides(sys.argv[1:])
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    hydra_main()
    if _FAILED:
        print(f"error: {len(_FAILED)} job(s) of the sweep failed (each message above)",
              file=sys.stderr)  # fmt: skip
        sys.exit(2)


if __name__ == "__main__":
    main()
