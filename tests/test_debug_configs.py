"""``debug=...`` and ``experiment=...`` configs: they override config.yaml, and do what they say."""

from __future__ import annotations

import hashlib
from pathlib import Path

import lightning as L
import pytest
import torch

from seqtasks.training.datamodule import SequenceDataModule
from seqtasks.training.run import train


def test_experiment_overrides_config_yaml_and_the_command_line_overrides_it(compose_config):
    cfg = compose_config("experiment=adding_chrono", small=False)
    assert cfg.task.name == "adding" and cfg.model.init == "chrono"
    assert cfg.data.batch_size == 32, "an experiment beats config.yaml's data.batch_size=256"
    assert cfg.model.hidden_size == 64 and cfg.model.lr == 0.003
    cfg = compose_config("experiment=adding_chrono", "data.batch_size=64", "seed=2", small=False)
    assert cfg.data.batch_size == 64 and cfg.seed == 2


def test_debug_default_forces_one_cpu_process(compose_config):
    cfg = compose_config("trainer=ddp", "debug=default")  # debug comes after the trainer group
    trainer = cfg.trainer
    assert (trainer.accelerator, trainer.devices, trainer.strategy) == ("cpu", 1, "auto")
    assert trainer.detect_anomaly is True
    assert compose_config("trainer=ddp").trainer.devices == 2


def test_debug_fdr_runs_one_batch_of_each(compose_config, tmp_path):
    summary = train(compose_config("debug=fdr"))
    assert summary["steps"] == 1 and summary["samples"] == 32
    assert "test/accuracy" in summary["test"]
    assert not (tmp_path / "checkpoints" / "best.ckpt").exists()


def test_debug_limit_takes_the_whole_path_in_30_steps(compose_config, tmp_path):
    summary = train(compose_config("debug=limit", small=False))
    assert summary["steps"] == 30 and summary["samples"] == 30 * 128
    for name in ("metrics.csv", "summary.json", "learning_curves.png", "checkpoints/best.ckpt"):
        assert (tmp_path / name).is_file(), name


class Recorder(L.LightningModule):
    """Fingerprints every training batch; learns nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[tuple[int, str]] = []

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        digest = hashlib.sha1(batch[0].numpy().tobytes()).hexdigest()
        self.seen.append((self.current_epoch, digest))
        return (self.weight * batch[0].float().mean()) ** 2

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def epochs_seen(tmp_path: Path, **trainer_options: int) -> list[list[str]]:
    module = Recorder()
    data = SequenceDataModule("echo", {}, batch_size=16, train_samples=320, val_samples=16,
                              test_samples=16, eval_batch_size=16)  # fmt: skip
    trainer = L.Trainer(max_epochs=3, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                        default_root_dir=tmp_path, **trainer_options)  # fmt: skip
    trainer.fit(module, datamodule=data)
    return [[digest for epoch, digest in module.seen if epoch == e] for e in range(3)]


@pytest.mark.filterwarnings("ignore:You requested to overfit")
def test_debug_overfit_replays_the_same_batches_every_epoch(compose_config, tmp_path):
    batches = compose_config("debug=overfit").trainer.overfit_batches
    first, second, third = epochs_seen(tmp_path, overfit_batches=batches)
    assert len(first) == batches and len(set(first)) == batches
    assert first == second == third, "overfit replays epoch 0's first batches"
    fresh = epochs_seen(tmp_path, limit_train_batches=batches)
    assert fresh[0] == first and fresh[1] != fresh[0], "without it every epoch is new data"
