"""Shared fixtures: the real Hydra config, composed and shrunk for fast tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

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
