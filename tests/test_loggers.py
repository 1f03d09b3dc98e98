"""The ``logger`` config group: each logger writes where its config says; missing extras refused."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from lightning.pytorch.loggers import CSVLogger, MLFlowLogger, TensorBoardLogger, WandbLogger

from seqtasks.training.loggers import MissingExtraError, build_loggers, wandb_logged_in
from seqtasks.training.run import ConfigError, train

# one epoch of 8 batches, then one validation: every logger receives the val/ metrics
SHORT = ["trainer.max_steps=8", "report.plots=false", "test=false"]


def run(compose_config, *overrides: str) -> Path:
    cfg = compose_config(*SHORT, *overrides)
    summary = train(cfg)
    assert summary["steps"] == 8
    return Path(summary["run_dir"])


def test_default_is_csv_in_the_run_directory(compose_config, tmp_path):
    cfg = compose_config()
    assert list(cfg.logger) == ["csv"]
    loggers = build_loggers(cfg.logger, tmp_path, "classify")
    assert [type(logger) for logger in loggers] == [CSVLogger]
    assert Path(loggers[0].log_dir).resolve() == tmp_path.resolve()


@pytest.mark.parametrize(
    ("option", "folder"),
    [("name=foo", "foo"), ("version=3", "version_3"), ("version=null", "version_0")],
)
def test_csv_outside_the_run_directory_is_refused(compose_config, tmp_path, option, folder):
    cfg = compose_config(f"logger.csv.{option}")
    message = rf"logger: no CSVLogger writes metrics.csv in the run directory .*/{folder}'\]"
    with pytest.raises(ValueError, match=message):
        build_loggers(cfg.logger, tmp_path, "classify")
    # another CSVLogger elsewhere, beside the run directory's, is welcome
    archive = {"_target_": "lightning.pytorch.loggers.CSVLogger", "save_dir": str(tmp_path / "all")}
    loggers = build_loggers({**compose_config().logger, "archive": archive}, tmp_path, "classify")
    assert [Path(logger.log_dir).parent.parent for logger in loggers][1] == tmp_path / "all"


@pytest.mark.parametrize(
    ("override", "names"),
    [
        ("logger=[csv,tensorboard]", ["csv", "tensorboard"]),
        ("logger=many", ["csv", "tensorboard", "mlflow"]),
        ("logger=[tensorboard,mlflow,wandb]", ["tensorboard", "mlflow", "wandb"]),
    ],
)
def test_several_loggers_at_once(compose_config, override, names):
    assert list(compose_config(override).logger) == names


def test_csv_is_kept_whatever_else_is_chosen(compose_config, tmp_path):
    pytest.importorskip("tensorboard")
    loggers = build_loggers(compose_config("logger=tensorboard").logger, tmp_path, "classify")
    assert [type(logger) for logger in loggers] == [CSVLogger, TensorBoardLogger]


def test_tensorboard_writes_event_files_in_run_dir_tensorboard(compose_config, tmp_path):
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    run_dir = run(compose_config, "logger=tensorboard")
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    events = accumulator.EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    assert {"val/loss", "val/accuracy"} <= set(events.Tags()["scalars"])
    assert (run_dir / "metrics.csv").is_file(), "the CSV log stays beside the chosen logger"


def test_mlflow_writes_a_file_store_in_run_dir_mlruns(compose_config, monkeypatch):
    tracking = pytest.importorskip("mlflow.tracking")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    run_dir = run(compose_config, "logger=mlflow")
    client = tracking.MlflowClient(tracking_uri=f"file:{run_dir / 'mlruns'}")
    experiment = client.get_experiment_by_name("seqtasks")
    (logged,) = client.search_runs([experiment.experiment_id])
    assert logged.info.run_name == "classify"
    assert 0.0 <= logged.data.metrics["val/accuracy"] <= 1.0
    assert logged.data.params["seed"] == "0"
    assert logged.data.params["run/trainer/max_steps"] == "8"  # the trainer's settings too


def test_the_log_gets_model_data_and_run_settings_once(compose_config, monkeypatch):
    calls = []
    original = CSVLogger.log_hyperparams

    def counted(self, params, *args, **kwargs):
        calls.append(params)
        return original(self, params, *args, **kwargs)

    monkeypatch.setattr(CSVLogger, "log_hyperparams", counted)
    run_dir = run(compose_config, "test=true", "solved_in_a_row=2", "model.hidden_size=12")
    assert len(calls) == 1, "once: fit's record; validate and test add none"
    saved = yaml.safe_load((run_dir / "hparams.yaml").read_text())
    assert saved["hidden_size"] == 12 and saved["seed"] == 0  # the model's, the data's
    assert saved["run"]["trainer"]["max_steps"] == 8 and saved["run"]["solved_in_a_row"] == 2
    assert saved["run"]["test"] is True and saved["run"]["report"]["plots"] is False


def test_wandb_runs_offline_into_run_dir_wandb(compose_config, monkeypatch, tmp_path):
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    run_dir = run(compose_config, "logger=wandb")
    wandb = sys.modules["wandb"]
    first = wandb.run
    assert first is not None and first.offline
    run(compose_config, "logger=wandb", f"run_dir={tmp_path / 'second'}")
    assert wandb.run is not first, "a second train() gets a run of its own"
    wandb.finish()  # the process would finish it at exit; the records are complete after this
    (record,) = (run_dir / "wandb").glob("offline-run-*/run-*.wandb")
    assert b"val/accuracy" in record.read_bytes()


def test_wandb_is_online_only_when_logged_in(compose_config, monkeypatch, tmp_path):
    pytest.importorskip("wandb")
    netrc = tmp_path / "netrc"
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(netrc))
    assert not wandb_logged_in()
    (_, wandb) = build_loggers(compose_config("logger=wandb").logger, tmp_path, "echo")
    assert isinstance(wandb, WandbLogger) and wandb._offline
    netrc.write_text("machine api.wandb.ai\n  login user\n  password 0123456789abcdef\n")
    netrc.chmod(0o600)
    assert wandb_logged_in()
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_API_KEY", "0123456789abcdef")
    assert wandb_logged_in()


@pytest.mark.parametrize(
    ("logger", "modules", "extra"),
    [
        ("tensorboard", ["tensorboard", "tensorboardX"], "tensorboard"),
        ("mlflow", ["mlflow"], "mlflow"),
        ("wandb", ["wandb"], "wandb"),
    ],
)
def test_missing_package_names_the_extra(compose_config, monkeypatch, tmp_path, logger, modules,
                                         extra):  # fmt: skip
    for module in modules:  # a None entry makes `import module` fail as if it were not installed
        monkeypatch.setitem(sys.modules, module, None)
    install = re.escape(f"pip install 'seqtasks[{extra}]'")
    with pytest.raises(MissingExtraError, match=rf"logger\.{logger} .*{install}"):
        build_loggers(compose_config(f"logger={logger}").logger, tmp_path, "classify")
    with pytest.raises(ConfigError, match="not installed"):
        train(compose_config(f"logger={logger}"))
    assert not any(tmp_path.iterdir()), "a refused run must leave nothing behind"


def test_present_package_passes_the_check(compose_config, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # another logger's package missing
    loggers = build_loggers(compose_config("logger=mlflow").logger, tmp_path, "classify")
    assert [type(logger) for logger in loggers] == [CSVLogger, MLFlowLogger]


def test_bad_entries_are_refused_with_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"logger\.mine=.* must be a mapping with a _target_"):
        build_loggers({"mine": "tensorboard"}, tmp_path, "classify")
    entry = {"_target_": "lightning.pytorch.loggers.CSVLogger", "colour": "red"}
    with pytest.raises(ValueError, match=r"logger\.csv: .*colour"):
        build_loggers({"csv": entry}, tmp_path, "classify")
