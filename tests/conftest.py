"""Shared fixtures: the real Hydra config, composed and shrunk for fast tests; the Hypothesis
profiles of the property tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from hypothesis import HealthCheck, settings
from omegaconf import DictConfig

# examples per test; the deadline guards against a hang, not speed: typical examples take up to
# about 0.1 s (--hypothesis-show-statistics), and 5 s was met once with two training runs beside
for profile, count in {"seqtasks": 100, "thorough": 1000}.items():
    settings.register_profile(
        profile, max_examples=count, deadline=timedelta(seconds=30), database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )  # fmt: skip
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "seqtasks"))

SMALL = [
    "data.batch_size=32",
    "data.train_samples=256",
    "data.val_samples=64",
    "data.test_samples=64",
    "data.eval_batch_size=64",
    "trainer.enable_progress_bar=false",
    "report.plot_samples=2",
]


@pytest.fixture
def compose_config(tmp_path: Path) -> Callable[..., DictConfig]:
    """``compose_config(*overrides)``: the project's config with test-sized data, run in tmp."""

    def _compose(*overrides: str, small: bool = True) -> DictConfig:
        with initialize_config_module("seqtasks.training.conf", version_base="1.3"):
            extra = SMALL if small else []
            return compose("config", overrides=[*extra, f"+run_dir={tmp_path}", *overrides])

    return _compose
