"""The base class every problem derives from: options, size limits, epochs, shards and batches."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, ClassVar

import torch
from torch.utils.data import IterableDataset, get_worker_info

from seqtasks import _random
from seqtasks._ops import onehot
from seqtasks._shared import EpochCell
from seqtasks._validate import check_choice, check_device, check_int
from seqtasks.spec import IGNORE_INDEX, TaskSpec

__all__ = ["IGNORE_INDEX", "SequenceTask", "TaskSpec"]

SPLITS = {"train": 0, "val": 1, "test": 2}
FRAMINGS = ("one_to_one", "many_to_one", "seq2seq")
INTEGER_ENCODINGS = ("onehot", "index", "scaled")
SAMPLE_CHUNK = 4096  # samples generated at once when yielding single samples (at most) ...
CHUNK_VALUES = 2**20  # ... and fewer when that would exceed this many input values
# consecutive batches with fewer input values than this in all are made together: torch runs an
# operation under its grain size (2**15) on one thread (a parallel one waits for its slowest)
GROUP_VALUES = 2**15
DEFAULT_NUM_SAMPLES = {"train": 10_000, "val": 1_000, "test": 1_000}
MAX_SEED = 2**63 - 1
MAX_SAMPLES = 2**63 - 1  # num_samples and batch_size: sample indices are int64
MAX_STEPS = 2**20  # input or target steps of one sample
MAX_BATCH_VALUES = 2**28  # values in one batch's inputs (or targets): 1 GiB as float32


class SequenceTask(IterableDataset):
    """A sequence problem as an IterableDataset with a counter-based, shardable sample stream.

    Sample ``i`` of epoch ``e`` is a pure function of ``(seed, split, e, i)``. The training split
    changes with :meth:`set_epoch`; ``val`` and ``test`` are fixed sets whatever the epoch.

    An epoch of ``num_samples`` samples is cut into ``world_size * k`` batches of at most
    ``batch_size`` (``k`` the fewest that fit), whose sizes differ by at most one. Batch ``b`` goes
    to rank ``b % world_size``, so every rank gets ``k`` batches; DataLoader workers of a rank take
    its batches in turn, which keeps the order of ``num_workers=0``. With ``batch_size=None`` the
    dataset yields single samples and rank ``r`` takes samples ``r, r + world_size, ...``. Batch
    bounds and sample indices are computed from the batch number, so memory and set-up time do
    not grow with ``num_samples``. Consecutive small batches of one rank and worker are made
    together and handed out as views of one tensor (``GROUP_VALUES`` input values at most), as
    single samples are views of the chunk they were made in.

    Every option is checked when the dataset is made. A sample has at most ``MAX_STEPS`` steps and
    a batch at most ``MAX_BATCH_VALUES`` input values (steps x values per step: the vocabulary
    for one-hot inputs), which bounds ``batch_size`` for large samples.
    """

    name: ClassVar[str]
    framings: ClassVar[tuple[str, ...]]
    encodings: ClassVar[tuple[str, ...]] = INTEGER_ENCODINGS
    target: ClassVar[str] = "classes"
    size_options: ClassVar[tuple[str, ...]] = ("length",)  # named when a sample is too large

    def __init__(
        self,
        *,
        framing: str | None,
        encoding: str | None,
        split: str,
        seed: int,
        num_samples: int | None,
        batch_size: int | None,
        device: str | torch.device,
    ) -> None:
        super().__init__()
        framing = self.framings[0] if framing is None else framing
        encoding = self.encodings[0] if encoding is None else encoding
        self.framing = check_choice("framing", framing, self.framings, self.name)
        self.encoding = check_choice("encoding", encoding, self.encodings, self.name)
        self.split = check_choice("split", split, tuple(SPLITS))
        self.seed = check_int("seed", seed, 0, MAX_SEED)
        num_samples = DEFAULT_NUM_SAMPLES[split] if num_samples is None else num_samples
        self.num_samples = check_int("num_samples", num_samples, 1, MAX_SAMPLES)
        if batch_size is not None:
            batch_size = check_int("batch_size", batch_size, 1, MAX_SAMPLES)
        self.batch_size = batch_size
        self.device = check_device("device", device)
        self._position = EpochCell()  # (epoch, start_batch), shared with DataLoader workers
        self.rank, self.world_size = 0, 1  # shard() sets them
        self.max_batch = SAMPLE_CHUNK  # samples one batch may hold; set by _build_spec
        self.sample_values = 1  # input values of one sample; set by _build_spec

    # ------------------------------------------------------------------ problem interface
    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (symbols ``(B, T)`` int64 or reals ``(B, T)`` float32) and targets of ``keys``."""
        raise NotImplementedError

    def _chance(self) -> float:
        """The solving metric of the best constant prediction (one class or value everywhere)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ public API
    @property
    def vocab_size(self) -> int | None:
        """Number of input symbols for problems over integers, else None."""
        return None

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Select the training epoch; ``start_batch`` skips this rank's first batches (resuming)."""
        epoch = check_int("epoch", epoch, 0, 2**63 - 1)  # the shared cell holds int64
        start_batch = check_int("start_batch", start_batch, 0, 2**63 - 1)
        if start_batch and self.batch_size is None:
            raise ValueError("start_batch needs batch_size set: single samples have no batches")
        if start_batch > (batches := len(self)):
            raise ValueError(f"start_batch={start_batch}: allowed 0 to {batches} (this rank's)")
        self._position.set(epoch, start_batch)  # only once every check has passed

    def __copy__(self) -> SequenceTask:  # a copy selects its own epoch, as a deepcopy does
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__, _position=EpochCell(*self._position.get()))
        return clone

    @property
    def epoch(self) -> int:
        """The training epoch :meth:`set_epoch` selected (0 until then)."""
        return self._position.get()[0]

    @property
    def start_batch(self) -> int:
        """The batches of this rank's epoch a pass skips (0 unless :meth:`set_epoch` says)."""
        return self._position.get()[1]

    def shard(self, rank: int, world_size: int) -> SequenceTask:
        """Give this dataset to rank ``rank`` of ``world_size`` processes; returns ``self``. With
        ``batch_size`` set, every rank gets the same number of batches (uneven counts hang
        DDP), whose sizes differ by at most one. Single samples (``batch_size=None``) go round
        robin, ``rank, rank + world_size, ...``: every sample once, but the ranks' counts differ by
        one unless ``world_size`` divides ``num_samples``; for DDP, set ``batch_size``.
        """
        world_size = check_int("world_size", world_size, 1)
        rank = check_int("rank", rank, 0, world_size - 1)
        batches = self._batches_per_rank(world_size) if self.batch_size is not None else 0
        if self.start_batch > batches:  # set_epoch checked it against the shard before this one
            raise ValueError(f"start_batch={self.start_batch} is past the {batches} batches of "
                             f"each of {world_size} ranks: shard, then set_epoch")  # fmt: skip
        self.rank, self.world_size = rank, world_size
        return self

    def generate(self, start: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples ``start .. start+count-1`` of the current epoch as one batch ``(X, Y)``."""
        start = check_int("start", start, 0, self.num_samples - 1)
        count = check_int("count", count, 1, self.num_samples - start)
        if count > self.max_batch:
            raise ValueError(
                f"count={count} is above the limit of {self.max_batch} samples per batch for "
                f"these options (MAX_BATCH_VALUES = {MAX_BATCH_VALUES} values per batch)"
            )
        return self._batch(self._stream(self.epoch), start, count)

    def __len__(self) -> int:
        """Items of one epoch on this rank: batches, or samples when ``batch_size`` is None.
        ``start_batch`` does not change it: a resumed epoch is still that many batches long, the
        first ``start_batch`` of them already trained on (what Lightning's resumed loop expects)."""
        if self.batch_size is None:
            return len(range(self.rank, self.num_samples, self.world_size))
        return self._batches_per_rank(self.world_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        epoch, start_batch = self._position.get()  # fixed for the pass, whatever set_epoch does
        stream = self._stream(epoch)
        if self.batch_size is None:
            yield from self._iter_samples(stream, worker, num_workers)
        else:
            yield from self._iter_batches(stream, worker, num_workers, start_batch)

    def __repr__(self) -> str:
        s = self.spec
        return (
            f"{type(self).__name__}(framing={s.framing!r}, encoding={s.encoding!r}, "
            f"split={self.split!r}, num_samples={self.num_samples}, batch_size={self.batch_size}, "
            f"T={s.input_length}, target={s.target}{list(s.target_shape)})"
        )

    # ------------------------------------------------------------------ internals
    def _iter_batches(
        self, stream: int, worker: int, num_workers: int, start_batch: int
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        total, samples = len(self) * self.world_size, self.num_samples  # len(self): per rank
        # this iterator's batches of the epoch: rank r, worker w of W -> r + R * (w + W k), from
        # the start_batch-th of the rank's on; batch b holds samples b * n // total onwards
        stride = self.world_size * num_workers
        first = self.rank + self.world_size * (start_batch + worker)
        # consecutive batches (one rank, one worker) hold consecutive samples: small ones are
        # made several at once (together at most GROUP_VALUES input values) and handed out as
        # views, which spreads the fixed cost of every operation over several batches
        size = self.batch_size * self.sample_values
        group = max(1, (GROUP_VALUES - 1) // size) if stride == 1 else 1
        for head in range(first, total, stride * group):
            edges = [b * samples // total for b in range(head, min(head + group, total) + 1)]
            inputs, targets = self._batch(stream, edges[0], edges[-1] - edges[0])
            if len(edges) == 2:
                yield inputs, targets
                continue
            for start, stop in itertools.pairwise(edges):
                part = slice(start - edges[0], stop - edges[0])
                yield inputs[part], targets[part]

    def _iter_samples(
        self, stream: int, worker: int, num_workers: int
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # this worker's samples: first, first + step, ... (rank r, worker w of W: r + R * (w + W k))
        step = self.world_size * num_workers
        first = self.rank + self.world_size * worker
        total = len(range(first, self.num_samples, step))
        chunk = max(1, min(SAMPLE_CHUNK, CHUNK_VALUES // self.sample_values))
        for done in range(0, total, chunk):
            count = min(chunk, total - done)
            inputs, targets = self._batch(stream, first + done * step, count, step)
            yield from zip(inputs, targets, strict=True)

    def _batches_per_rank(self, world_size: int) -> int:
        """Batches each of ``world_size`` ranks gets; raises if there are too few samples."""
        per_rank = -(-self.num_samples // (self.batch_size * world_size))  # ceiling, exact
        if per_rank * world_size > self.num_samples:
            raise ValueError(
                f"num_samples={self.num_samples} is too small to give each of "
                f"world_size={world_size} ranks {per_rank} non-empty batches of at most "
                f"batch_size={self.batch_size}: allowed num_samples >= {per_rank * world_size}"
            )
        return per_rank

    def _stream(self, epoch: int) -> int:
        """The key of this dataset's sample stream in ``epoch`` (fixed sets ignore the epoch)."""
        epoch = epoch if self.split == "train" else 0
        return _random.stream_key(self.seed, SPLITS[self.split], epoch)

    def _batch(
        self, stream: int, start: int, count: int, step: int = 1
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples ``start, start + step, ...`` (``count`` of them) as one batch ``(X, Y)``."""
        keys = _random.range_keys(stream, start, count, step, self.device)  # (B,)
        inputs, targets = self._make(keys)
        inputs, targets = self._encode(inputs).contiguous(), targets.contiguous()
        if targets.untyped_storage().data_ptr() == inputs.untyped_storage().data_ptr():
            targets = targets.clone()  # a slice of the inputs: editing one must not edit the other
        return inputs, targets

    def _encode(self, inputs: torch.Tensor) -> torch.Tensor:
        """Symbols or reals ``(B, T)`` -> model inputs in this dataset's encoding."""
        if self.encoding == "index":
            return inputs  # (B, T) int64
        if self.encoding == "onehot":
            return onehot(inputs, self.vocab_size)  # (B, T, V)
        if self.encoding == "scaled":
            return (inputs.to(torch.float32) / (self.vocab_size - 1)).unsqueeze(-1)  # (B, T, 1)
        return inputs.unsqueeze(-1)  # reals: (B, T, 1)

    def _build_spec(self, **fields: Any) -> TaskSpec:
        """The spec from the problem's fields; checks the sizes first (``input_size`` optional)."""
        input_size = fields.pop("input_size", None)
        if input_size is None:
            input_size = self.vocab_size if self.encoding in ("onehot", "index") else 1
        per_step = 1 if self.encoding in ("index", "scaled") else input_size
        self._check_sizes(fields["input_length"], per_step, fields["target_length"])
        return TaskSpec(
            name=self.name,
            framing=self.framing,
            encoding=self.encoding,
            input_size=input_size,
            vocab_size=self.vocab_size,
            target=self.target,
            chance=self._chance(),
            **fields,
        )

    def _check_sizes(self, steps: int, per_step: int, target_steps: int) -> None:
        """Refuse samples or batches above the limits, naming the options that set their size."""
        given = [f"{o}={getattr(self, o)!r}" for o in self.size_options
                 if getattr(self, o, None) is not None]  # fmt: skip
        options = ", ".join(given) or "these options"
        if max(steps, target_steps) > MAX_STEPS:
            raise ValueError(
                f"{options}: samples of {max(steps, target_steps)} steps are above the limit of "
                f"MAX_STEPS = {MAX_STEPS} steps per sample"
            )
        values = max(steps * per_step, target_steps)
        if values > MAX_BATCH_VALUES:
            raise ValueError(
                f"{options} (encoding={self.encoding!r}): samples of {steps} steps x {per_step} "
                f"values = {values} values are above the limit of MAX_BATCH_VALUES = "
                f"{MAX_BATCH_VALUES} values per batch"
            )
        self.sample_values, self.max_batch = values, MAX_BATCH_VALUES // values
        if self.batch_size is not None and min(self.batch_size, self.num_samples) > self.max_batch:
            raise ValueError(
                f"batch_size={self.batch_size} is too large for samples of {values} values "
                f"({options}): a batch holds at most MAX_BATCH_VALUES = {MAX_BATCH_VALUES} "
                f"values, allowed batch_size <= {self.max_batch}"
            )
