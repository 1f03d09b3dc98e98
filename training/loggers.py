"""The loggers of a run, from the ``logger`` config group: ``logger=csv|tensorboard|mlflow|wandb``.

``cfg.logger`` maps a name to ``{_target_: <a Lightning logger class>, **its options}``, as in
lightning-hydra-template; ``logger=[csv,tensorboard]`` or ``logger=many`` selects several. A
relative ``save_dir`` is taken under the run directory, so every logger writes beside the run's
checkpoints, and a ``null`` run name becomes the problem's name. Lightning's CSV log is always
kept: ``metrics.csv`` feeds ``learning_curves.png``.

The TensorBoard, MLflow and W&B packages are optional extras; choosing a logger whose package is
missing raises :class:`MissingExtraError` naming the extra to install.

Each logger receives the run's hyperparameters once, at the start of fit
(:class:`LogHyperparameters`): the model's and the data's, as Lightning would log them, and under
``run`` the settings that are neither (``trainer``, ``solved_in_a_row``, ``test``, ``checkpoint``,
``report``, ``callbacks``), as lightning-hydra-template logs its ``trainer`` config.
"""

from __future__ import annotations

import importlib
import netrc
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import CSVLogger, Logger
from omegaconf import DictConfig, OmegaConf

# logger class -> (modules that provide it, any one will do; the extra that installs one)
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "TensorBoardLogger": (("tensorboard", "tensorboardX"), "tensorboard"),
    "MLFlowLogger": (("mlflow",), "mlflow"),
    "WandbLogger": (("wandb",), "wandb"),
}
RUN_NAME_KEYS = {"MLFlowLogger": "run_name", "WandbLogger": "name"}


class MissingExtraError(ValueError):
    """A chosen logger's package is not installed; the message names the extra to install."""


def require(logger_class: str, entry: str) -> None:
    """Raise :class:`MissingExtraError` if the package behind ``logger_class`` is missing."""
    if logger_class not in EXTRAS:
        return
    modules, extra = EXTRAS[logger_class]
    for module in modules:
        try:
            importlib.import_module(module)
            return
        except ImportError:
            continue
    raise MissingExtraError(
        f"logger.{entry} ({logger_class}) needs the {modules[0]} package, which is not "
        f"installed: pip install 'seqtasks[{extra}]'"
    )


def wandb_logged_in() -> bool:
    """Whether W&B has credentials here: ``WANDB_API_KEY`` or a W&B entry in the netrc file."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    path = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return any("wandb" in host for host in netrc.netrc(path).hosts)
    except (OSError, netrc.NetrcParseError):
        return False


def _finish_wandb_run() -> None:
    """End a W&B run left open by an earlier ``train()`` in this process (a sweep, a notebook).

    Lightning's WandbLogger never finishes its run and joins any run in progress, so without this
    every later run of the process would log into the first one.
    """
    import wandb

    if wandb.run is not None:
        wandb.finish()


def _options(name: str, entry: Any, run_dir: Path, run_name: str) -> tuple[str, dict[str, Any]]:
    """The class name and constructor options of one ``logger.NAME`` entry, paths resolved."""
    if isinstance(entry, DictConfig):
        entry = OmegaConf.to_container(entry, resolve=True)
    if not isinstance(entry, Mapping) or not isinstance(entry.get("_target_"), str):
        raise ValueError(
            f"logger.{name}={entry!r} must be a mapping with a _target_ (a Lightning logger "
            "class), e.g. logger=tensorboard"
        )
    options = dict(entry)
    class_name = options["_target_"].rsplit(".", 1)[-1]
    save_dir = options.get("save_dir")
    if isinstance(save_dir, str) and not Path(save_dir).is_absolute():
        options["save_dir"] = str((run_dir / save_dir).resolve())  # run_dir is absolute
    name_key = RUN_NAME_KEYS.get(class_name)
    if name_key and options.get(name_key) is None:
        options[name_key] = run_name
    if class_name == "MLFlowLogger" and not options.get("tracking_uri"):
        # MLflow 3 refuses a file store unless asked for: a file store in the run directory is
        # the point here (no server, no database); a tracking_uri of your own is left alone
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    if class_name == "WandbLogger" and options.get("offline") is None:
        options["offline"] = not wandb_logged_in()
    return class_name, options


def build_loggers(
    logger_cfg: DictConfig | Mapping[str, Any] | None, run_dir: Path, run_name: str
) -> list[Logger]:
    """The Lightning loggers named by ``logger_cfg`` (``cfg.logger``), all writing in ``run_dir``.

    Raises :class:`MissingExtraError` for a logger whose package is missing and ``ValueError``
    for an entry that cannot be built; nothing is written before the trainer starts.
    """
    run_dir = Path(run_dir).resolve()
    entries = dict(logger_cfg or {})
    resolved = {name: _options(name, entry, run_dir, run_name) for name, entry in entries.items()}
    for name, (class_name, _) in resolved.items():
        require(class_name, name)
    loggers: list[Logger] = []
    for name, (class_name, options) in resolved.items():
        if class_name == "WandbLogger":
            _finish_wandb_run()
        try:
            loggers.append(instantiate(options))
        except InstantiationException as error:
            cause = error.__cause__ or error
            raise ValueError(f"logger.{name}: {cause}") from None
    csv_dirs = [
        Path(logger.log_dir).resolve() for logger in loggers if isinstance(logger, CSVLogger)
    ]
    if not csv_dirs:
        loggers.insert(0, CSVLogger(run_dir, name="", version=""))
    elif run_dir not in csv_dirs:  # the plots, the summary and a resume read metrics.csv there
        raise ValueError(
            f"logger: no CSVLogger writes metrics.csv in the run directory {run_dir} (they write "
            f"in {[str(d) for d in csv_dirs]}): leave logger.csv's save_dir, name and version as "
            "they are; another CSVLogger may write elsewhere besides"
        )
    if not (run_dir / "metrics.csv").exists():  # a new run: the directory holds only Hydra's files
        warnings.filterwarnings(
            "ignore", message=rf"Experiment logs directory {re.escape(str(run_dir))}/? exists"
        )
    return loggers


class LogHyperparameters(Callback):
    """Logs the model's and the data's hyperparameters and ``{"run": run}`` in one call to each
    logger when fit starts (one call: TensorBoard shows the last hparams record it gets).

    Lightning's own record, made just after ``on_fit_start`` and again at each ``validate`` and
    ``test``, is switched off for this model and data module; Lightning still logs the graph.
    """

    def __init__(self, run: Mapping[str, Any]) -> None:
        self.run = dict(run)

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        datamodule = trainer.datamodule
        parts = [pl_module.hparams_initial, getattr(datamodule, "hparams_initial", {}),
                 {"run": self.run}]  # fmt: skip
        params: dict[str, Any] = {}
        for part in parts:
            clash = sorted(key for key in params.keys() & part.keys() if params[key] != part[key])
            if clash:  # as Lightning refuses such a merge
                raise RuntimeError(f"hyperparameters {clash} are logged twice, differently")
            params.update(part)
        pl_module._log_hyperparams = False  # the switch save_hyperparameters(logger=False) sets
        if datamodule is not None:
            datamodule._log_hyperparams = False
        for logger in trainer.loggers:
            logger.log_hyperparams(params)
