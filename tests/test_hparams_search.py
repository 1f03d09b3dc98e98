"""``hparams_search=optuna``: trials train, train.py returns the metric, Optuna keeps the best."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from seqtasks.training import cli
from seqtasks.training.run import ConfigError, check_optimized_metric

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = {"val": {"val/loss": 0.25, "val/accuracy": 0.9}, "test": {"test/loss": 0.3},
           "steps": 40, "samples": 1280, "seconds": 2.5, "fit_seconds": 2.0}  # fmt: skip
SMALL = ["trainer.max_steps=30", "data.train_samples=960", "data.val_samples=200",
         "trainer.enable_progress_bar=false", "report.plots=false"]  # fmt: skip


def test_objective_reads_val_metrics_and_run_figures():
    assert cli.objective(SUMMARY, "val/loss") == 0.25
    assert cli.objective(SUMMARY, "val/accuracy") == 0.9
    assert cli.objective(SUMMARY, "samples") == 1280.0
    with pytest.raises(ConfigError, match=r"optimized_metric='val/mse' is not a figure.*val/loss"):
        cli.objective(SUMMARY, "val/mse")


@pytest.mark.parametrize("name", ["test/accuracy", "loss", 3])
def test_optimized_metric_is_checked_before_training(name):
    with pytest.raises(ConfigError, match=r"optimized_metric=.* must be a val/ metric"):
        check_optimized_metric(name)
    check_optimized_metric("val/mse")
    check_optimized_metric(None)


def test_test_set_is_refused_as_the_objective():
    with pytest.raises(ConfigError, match="would leak it"):
        check_optimized_metric("test/loss")


def test_missing_sweeper_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "hydra_plugins.hydra_optuna_sweeper", None)
    monkeypatch.setattr(sys, "argv", ["train.py", "hparams_search=optuna"])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 2
    assert "pip install 'seqtasks[optuna]'" in capsys.readouterr().err


def sweep(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "train.py", "hparams_search=optuna", *SMALL, *overrides,
               f"hydra.sweep.dir={tmp_path}"]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=400)


@pytest.mark.slow
def test_three_trials_search_the_space_and_report_the_best(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    done = sweep(tmp_path, "hydra.sweeper.n_trials=3", "hydra.sweeper.sampler.n_startup_trials=2")
    assert done.returncode == 0, done.stderr[-2000:]
    trials = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert [p.name for p in trials] == ["0", "1", "2"]
    scores, params = [], []
    for trial in trials:
        summary = json.loads((trial / "summary.json").read_text())
        assert summary["test"] == {}, "a search chooses on the validation set only"
        config = yaml.safe_load((trial / "config.yaml").read_text())
        assert 3e-4 <= config["model"]["lr"] <= 3e-2
        assert config["model"]["hidden_size"] in (32, 64, 128, 256)
        assert config["data"]["batch_size"] in (32, 64, 128, 256)
        assert config["model"]["init"] in ("pytorch", "forget_bias", "chrono")
        assert summary["steps"] == 30
        scores.append(summary["val"]["val/loss"])
        params.append({"model.lr": config["model"]["lr"], "model.init": config["model"]["init"],
                       "model.hidden_size": config["model"]["hidden_size"],
                       "data.batch_size": config["data"]["batch_size"]})  # fmt: skip
    assert len({json.dumps(p, sort_keys=True) for p in params}) == 3, "three different settings"
    results = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    best = min(range(3), key=scores.__getitem__)
    assert results["best_value"] == pytest.approx(scores[best], rel=1e-6)
    assert results["best_params"]["model.init"] == params[best]["model.init"]
    assert results["best_params"]["model.lr"] == pytest.approx(params[best]["model.lr"])


@pytest.mark.slow
def test_a_diverged_trial_scores_worst_and_the_search_goes_on(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    done = sweep(tmp_path, "task=ramp", "model.lr=1e30", "trainer.gradient_clip_val=null",
                 "hydra.sweeper.n_trials=2")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("training diverged") == 2
    results = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert math.isinf(results["best_value"]) and results["best_value"] > 0
