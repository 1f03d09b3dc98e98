"""One LightningDataModule for every seqtasks problem."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Sampler

import seqtasks
from seqtasks import SequenceTask, TaskSpec
from seqtasks._validate import check_choice, check_int


class _EpochSampler(Sampler[None]):
    """Passes Lightning's per-epoch ``sampler.set_epoch`` call on to the dataset.

    Lightning calls ``set_epoch`` on a DataLoader's sampler at the start of every training epoch,
    but never on an IterableDataset. An unchanged epoch keeps the dataset's ``start_batch``, which
    a resumed run sets to skip the batches it already trained on.
    """

    def __init__(self, dataset: SequenceTask) -> None:
        self.dataset = dataset

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)  # an iterable dataset ignores indices, as PyTorch's own

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.dataset.epoch:
            self.dataset.set_epoch(epoch)


def batch_loader(dataset: SequenceTask, num_workers: int = 0) -> DataLoader:
    """``DataLoader(batch_size=None)`` whose iterators take their workers' base seed from a
    generator of their own. PyTorch's default draws it from the global generator, once per
    iterator (every epoch, every validation), so the random state that dropout draws from moved
    with them, and a resumed run, which makes its iterators at other moments, drew other masks."""
    seeds = torch.Generator()
    return DataLoader(dataset, batch_size=None, num_workers=num_workers, generator=seeds)


def epoch_loader(dataset: SequenceTask, num_workers: int = 0) -> DataLoader:
    """:func:`batch_loader` over a batched dataset whose epoch follows Lightning's."""
    if dataset.batch_size is None:
        raise ValueError("epoch_loader needs a batched dataset (seqtasks.make(..., batch_size=32)):"
                         " this one yields single samples")  # fmt: skip
    loader = batch_loader(dataset, num_workers)
    object.__setattr__(loader, "sampler", _EpochSampler(dataset))  # DataLoader guards the name
    return loader


# the dataset options SequenceDataModule sets for each split, and the arguments that set them
SET_HERE = {
    "split": "its train, val and test dataloaders",
    "seed": "seed= and eval_seed= (train.py: seed=, data.eval_seed=)",
    "num_samples": "train_samples=, val_samples=, test_samples= (train.py: data.*)",
    "batch_size": "batch_size=, eval_batch_size= (train.py: data.*)",
    "device": "device= (train.py: data.device=)",
}


class SequenceDataModule(L.LightningDataModule):
    """Whole batches of a problem: fresh training data every epoch, fixed val/test sets.

    Args:
        task: a problem name from ``seqtasks.available()``.
        options: the problem's options (``length``, ``lag``, ``framing``, ...); ``split``,
            ``seed``, ``num_samples``, ``batch_size`` and ``device`` are set here (refused there).
        batch_size: training batch size; ``train_samples`` sequences make one epoch.
        eval_batch_size: batch size of the fixed ``val_samples`` / ``test_samples`` sets.
        seed: seed of the training stream; ``eval_seed`` of the val and test sets, kept apart so
            that runs with different seeds are scored on the same sequences.
        num_workers: DataLoader workers (0: generate in the main process, the fastest here).
        device: where batches are generated: ``cpu``, or ``auto`` for the trainer's device when
            ``num_workers`` is 0 (a GPU run then needs no host-to-device copies).

    Each rank of a distributed run gets its own shard (from the trainer's rank and world size).
    """

    def __init__(
        self,
        task: str,
        options: dict[str, Any] | None = None,
        batch_size: int = 256,
        train_samples: int = 25_600,
        val_samples: int = 1_000,
        test_samples: int = 1_000,
        eval_batch_size: int = 1_000,
        seed: int = 0,
        eval_seed: int = 1234,
        num_workers: int = 0,
        device: str = "cpu",
    ) -> None:
        super().__init__()
        for name, value in (("batch_size", batch_size), ("train_samples", train_samples),
                            ("val_samples", val_samples), ("test_samples", test_samples),
                            ("eval_batch_size", eval_batch_size)):  # fmt: skip
            check_int(name, value, 1)
        check_int("num_workers", num_workers, 0)
        if train_samples < batch_size:  # batches are at most batch_size: it would be ignored
            raise ValueError(
                f"train_samples={train_samples} is below batch_size={batch_size}: an epoch would "
                f"be one batch of {train_samples}; allowed train_samples >= batch_size"
            )
        check_choice("device", device, ("cpu", "cuda", "auto"))
        self.options = dict(options or {})
        for name in sorted(SET_HERE.keys() & self.options.keys()):  # the first, named
            raise ValueError(
                f"the problem's option {name}={self.options[name]!r} is set by "
                f"SequenceDataModule: use {SET_HERE[name]} instead"
            )
        self.save_hyperparameters()
        self.task = task
        self.sizes = {"train": train_samples, "val": val_samples, "test": test_samples}
        self.batch_sizes = {"train": batch_size, "val": eval_batch_size, "test": eval_batch_size}
        self.seeds = {"train": seed, "val": eval_seed, "test": eval_seed}
        self.num_workers = num_workers
        self.device = device
        self.datasets = {split: self._make(split) for split in ("train", "val", "test")}

    @property
    def spec(self) -> TaskSpec:
        return self.datasets["train"].spec

    def _make(self, split: str, device: str | torch.device = "cpu") -> SequenceTask:
        return seqtasks.make(
            self.task,
            **self.options,
            split=split,
            seed=self.seeds[split],
            num_samples=self.sizes[split],
            batch_size=self.batch_sizes[split],
            device=device,
        )

    def _generation_device(self) -> torch.device:
        if self.device != "auto":
            return torch.device(self.device)
        if self.trainer is None or self.num_workers > 0:
            return torch.device("cpu")
        return self.trainer.strategy.root_device

    def setup(self, stage: str | None = None) -> None:
        rank, world_size = 0, 1
        if self.trainer is not None:
            rank, world_size = self.trainer.global_rank, self.trainer.world_size
        device = self._generation_device()
        for split in self.datasets:
            self.datasets[split] = self._make(split, device).shard(rank, world_size)

    def train_position(self) -> tuple[int, int]:
        """The epoch and batch the next training step starts at, from the trainer's step count:
        a trainer resumed from a checkpoint written where the fit stopped (``LastCheckpoint`` in
        ``training/callbacks.py``, as ``train.py`` keeps) carries on where it stopped. Lightning's
        ``ModelCheckpoint``, or ``trainer.save_checkpoint`` after a fit that ``max_steps`` ended
        mid-epoch, saves the epoch as finished: resumed from that, the fit goes on with the next
        epoch's batches, as it would with any dataloader. A Lightning epoch takes the first
        ``len(dataset)`` batches of the dataset's epoch (fewer with ``limit_train_batches``), in
        ``ceil(batches / accumulate_grad_batches)`` steps: its last step takes what is left."""
        if self.trainer is None:
            return 0, 0
        batches, limit = len(self.datasets["train"]), self.trainer.limit_train_batches
        if isinstance(limit, int):  # Lightning's reading of the limit (_parse_num_batches)
            batches = min(batches, limit)
        elif limit is not None:
            batches = int(batches * limit)
        accumulate = self.trainer.accumulate_grad_batches
        epoch, steps = divmod(self.trainer.global_step, -(-batches // accumulate))
        return epoch, steps * accumulate

    def train_dataloader(self) -> DataLoader:
        dataset = self.datasets["train"]
        epoch, start_batch = self.train_position()
        dataset.set_epoch(epoch, start_batch=start_batch)
        return epoch_loader(dataset, self.num_workers)

    def val_dataloader(self) -> DataLoader:
        return batch_loader(self.datasets["val"], self.num_workers)

    def test_dataloader(self) -> DataLoader:
        return batch_loader(self.datasets["test"], self.num_workers)

    def predict_dataloader(self) -> DataLoader:
        """The test set's batches (``trainer.predict`` returns the outputs for their inputs)."""
        return batch_loader(self.datasets["test"], self.num_workers)
