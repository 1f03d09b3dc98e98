"""Lightning + Hydra harness for the seqtasks problems: DataModule, ``train(cfg)`` and reports."""

from seqtasks.training.datamodule import SequenceDataModule

__all__ = ["SequenceDataModule"]
