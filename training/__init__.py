"""Lightning + Hydra harness for the seqtasks problems: DataModule, ``train(cfg)`` and reports."""

from seqtasks.training.datamodule import SequenceDataModule, epoch_loader

__all__ = ["SequenceDataModule", "epoch_loader"]
