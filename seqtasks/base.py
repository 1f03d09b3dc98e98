"""The base class every problem derives from, and the spec that tells a model what it faces."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch.utils.data import IterableDataset, get_worker_info

from seqtasks import _random
from seqtasks._validate import check_choice, check_int

SPLITS = {"train": 0, "val": 1, "test": 2}
FRAMINGS = ("one_to_one", "many_to_one", "seq2seq")
INTEGER_ENCODINGS = ("onehot", "index", "scaled")
SAMPLE_CHUNK = 4096  # samples generated at once when yielding single samples
DEFAULT_NUM_SAMPLES = {"train": 10_000, "val": 1_000, "test": 1_000}
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class TaskSpec:
    """Everything a model needs to know about a problem, so that it never has to guess.

    Inputs ``x`` are ``(T, input_size)`` float32, or ``(T,)`` int64 symbol ids below ``vocab_size``
    for the ``index`` encoding. Targets are class ids (``target == "classes"``, ``num_classes``
    of them) or real values (``target == "reals"``), laid out as:

    - ``per_step``: one target per input step, ``y`` is ``(T,)``;
    - ``last``: targets after the last input step, ``y`` is ``()`` if ``target_length == 1`` else
      ``(target_length,)``;
    - ``sequence``: a target sequence of its own length (a decoder's), ``y`` is
      ``(target_length,)``.

    A problem is solved when ``metric`` (``accuracy``: the fraction of target values predicted
    right; ``exact_match``: the fraction of samples with every target value right; or ``mse``)
    reaches ``solved_threshold`` on the test set (``<=`` for mse, else ``>=``). ``chance`` is
    that metric for the best constant prediction. For real targets with a ``tolerance``, a value
    counts as right when its absolute error is below the tolerance.
    """

    name: str
    framing: str
    encoding: str
    input_length: int
    input_size: int
    vocab_size: int | None
    target: str
    num_classes: int | None
    target_layout: str
    target_length: int
    metric: str
    solved_threshold: float
    chance: float
    tolerance: float | None = None

    @property
    def target_shape(self) -> tuple[int, ...]:
        """The shape of one sample's ``y``."""
        if self.target_layout == "last" and self.target_length == 1:
            return ()
        return (self.target_length,)

    def is_solved(self, value: float) -> bool:
        """Whether a measured ``metric`` value meets the solved criterion."""
        if self.metric == "mse":
            return value <= self.solved_threshold
        return value >= self.solved_threshold

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SequenceTask(IterableDataset):
    """A sequence problem as an IterableDataset with a counter-based, shardable sample stream.

    Sample ``i`` of epoch ``e`` is a pure function of ``(seed, split, e, i)``. The training split
    changes with :meth:`set_epoch`; ``val`` and ``test`` are fixed sets whatever the epoch.

    An epoch of ``num_samples`` samples is cut into ``world_size * k`` batches of at most
    ``batch_size`` (``k`` the fewest that fit), whose sizes differ by at most one. Batch ``b`` goes
    to rank ``b % world_size``, so every rank gets ``k`` batches; DataLoader workers of a rank take
    its batches in turn, which keeps the order of ``num_workers=0``. With ``batch_size=None`` the
    dataset yields single samples and rank ``r`` takes samples ``r, r + world_size, ...``.
    """

    name: ClassVar[str]
    framings: ClassVar[tuple[str, ...]]
    encodings: ClassVar[tuple[str, ...]] = INTEGER_ENCODINGS
    target: ClassVar[str] = "classes"

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
        if num_samples is None:
            num_samples = DEFAULT_NUM_SAMPLES[split]
        self.num_samples = check_int("num_samples", num_samples, 1)
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, 1)
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError) as error:
            raise ValueError(f"device={device!r} is not a torch device: {error}") from None
        self.epoch = 0
        self.rank = 0
        self.world_size = 1
        self.start_batch = 0

    # ------------------------------------------------------------------ problem interface
    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (symbols ``(B, T)`` int64 or reals ``(B, T)`` float32) and targets of ``keys``."""
        raise NotImplementedError

    def _chance(self) -> float:
        """The solving metric of the best constant prediction."""
        raise NotImplementedError

    # ------------------------------------------------------------------ public API
    @property
    def vocab_size(self) -> int | None:
        """Number of input symbols for problems over integers, else None."""
        return None

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Select the training epoch; ``start_batch`` skips this rank's first batches (resuming)."""
        epoch = check_int("epoch", epoch, 0)
        start_batch = check_int("start_batch", start_batch, 0)
        if start_batch and self.batch_size is None:
            raise ValueError("start_batch needs batch_size set: single samples have no batches")
        self.epoch, self.start_batch = epoch, start_batch  # only once every check has passed

    def shard(self, rank: int, world_size: int) -> SequenceTask:
        """Give this dataset to rank ``rank`` of ``world_size`` processes; returns ``self``."""
        world_size = check_int("world_size", world_size, 1)
        rank = check_int("rank", rank, 0, world_size - 1)
        previous = self.rank, self.world_size
        self.rank, self.world_size = rank, world_size
        if self.batch_size is not None:
            try:
                self._epoch_bounds()  # raises now if the epoch cannot be split evenly
            except ValueError:
                self.rank, self.world_size = previous  # a refused shard changes nothing
                raise
        return self

    def generate(self, start: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples ``start .. start+count-1`` of the current epoch as one batch ``(X, Y)``."""
        start = check_int("start", start, 0, self.num_samples - 1)
        count = check_int("count", count, 1, self.num_samples - start)
        return self._generate(torch.arange(start, start + count, device=self.device))

    def __len__(self) -> int:
        """Items of one epoch on this rank: batches, or samples when ``batch_size`` is None.

        ``start_batch`` does not change it: a resumed epoch is still that many batches long, the
        first ``start_batch`` of them already trained on (what Lightning's resumed loop expects).
        """
        if self.batch_size is None:
            return len(range(self.rank, self.num_samples, self.world_size))
        return len(self._epoch_bounds()[self.rank :: self.world_size])

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        if self.batch_size is None:
            yield from self._iter_samples(worker, num_workers)
            return
        epoch = self.epoch  # fixed for the whole pass, whatever set_epoch does meanwhile
        rank_batches = self._epoch_bounds()[self.rank :: self.world_size][self.start_batch :]
        for start, stop in rank_batches[worker::num_workers]:
            yield self._generate(torch.arange(start, stop, device=self.device), epoch)

    def __repr__(self) -> str:
        s = self.spec
        return (
            f"{type(self).__name__}(framing={s.framing!r}, encoding={s.encoding!r}, "
            f"split={self.split!r}, num_samples={self.num_samples}, batch_size={self.batch_size}, "
            f"T={s.input_length}, target={s.target}{list(s.target_shape)})"
        )

    # ------------------------------------------------------------------ internals
    def _iter_samples(self, worker: int, num_workers: int) -> Iterator[tuple[torch.Tensor, ...]]:
        epoch = self.epoch
        indices = torch.arange(self.rank, self.num_samples, self.world_size, device=self.device)
        indices = indices[worker::num_workers]
        for chunk in indices.split(SAMPLE_CHUNK):
            inputs, targets = self._generate(chunk, epoch)
            yield from zip(inputs, targets, strict=True)

    def _epoch_bounds(self) -> list[tuple[int, int]]:
        """(start, stop) of every batch of the epoch, in order."""
        per_rank = math.ceil(self.num_samples / (self.batch_size * self.world_size))
        count = per_rank * self.world_size
        if count > self.num_samples:
            raise ValueError(
                f"num_samples={self.num_samples} is too small to give each of "
                f"world_size={self.world_size} ranks {per_rank} non-empty batches of at most "
                f"batch_size={self.batch_size}: allowed num_samples >= {count}"
            )
        edges = [i * self.num_samples // count for i in range(count + 1)]
        return list(itertools.pairwise(edges))

    def _generate(
        self, indices: torch.Tensor, epoch: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        epoch = (self.epoch if epoch is None else epoch) if self.split == "train" else 0
        stream = _random.stream_key(self.seed, SPLITS[self.split], epoch)
        inputs, targets = self._make(_random.sample_keys(stream, indices))
        return self._encode(inputs).contiguous(), targets.contiguous()

    def _encode(self, inputs: torch.Tensor) -> torch.Tensor:
        """Symbols or reals ``(B, T)`` -> model inputs in this dataset's encoding."""
        if self.encoding == "index":
            return inputs  # (B, T) int64
        if self.encoding == "onehot":
            return F.one_hot(inputs, self.vocab_size).to(torch.float32)  # (B, T, V)
        if self.encoding == "scaled":
            return (inputs.to(torch.float32) / (self.vocab_size - 1)).unsqueeze(-1)  # (B, T, 1)
        return inputs.unsqueeze(-1)  # reals: (B, T, 1)

    def _build_spec(self, **fields: Any) -> TaskSpec:
        input_size = self.vocab_size if self.encoding in ("onehot", "index") else 1
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
