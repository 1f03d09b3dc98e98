"""A dataset's epoch and start batch, in memory shared with its DataLoader workers.

A worker iterates its own copy of the dataset. With ``persistent_workers=True`` that copy lives
across epochs, so an epoch kept as a plain attribute would stay at the value the worker started
with: ``set_epoch`` in the main process would never reach it, and every epoch would replay the
first. :class:`EpochCell` keeps the two numbers in shared memory (``multiprocessing.RawArray``):
a worker forked or spawned with the dataset reads what the main process sets later. Where
there is no writable shared memory, the cell is a plain array: persistent workers then keep the
epoch they started with.
"""

from __future__ import annotations

import ctypes
import multiprocessing
from multiprocessing.context import get_spawning_popen
from typing import Any


class EpochCell:
    """``(epoch, start_batch)`` shared with the processes a DataLoader starts.

    A forked worker shares the memory; a spawned one receives it (``multiprocessing`` hands the
    memory's file descriptor over while it spawns). Pickled any other way (``copy.deepcopy``,
    ``torch.save``, Dask), the cell carries its values into a new cell of its own.

    >>> cell = EpochCell()
    >>> cell.set(3, 2)
    >>> cell.get()
    (3, 2)
    """

    def __init__(self, epoch: int = 0, start_batch: int = 0) -> None:
        try:
            self._values: Any = multiprocessing.RawArray("q", [epoch, start_batch])
        except OSError:  # no writable shared memory (/dev/shm): a plain array, not shared
            self._values = (ctypes.c_int64 * 2)(epoch, start_batch)

    def get(self) -> tuple[int, int]:
        epoch, start_batch = self._values[:]
        return epoch, start_batch

    def set(self, epoch: int, start_batch: int) -> None:
        self._values[:] = [epoch, start_batch]

    def __reduce__(self) -> tuple[Any, ...]:
        shared = hasattr(self._values, "_wrapper")  # a RawArray, not the plain fallback
        if shared and get_spawning_popen() is not None:  # a process being spawned: the same memory
            return _shared_cell, (self._values,)
        return EpochCell, self.get()


def _shared_cell(values: Any) -> EpochCell:
    cell = EpochCell.__new__(EpochCell)
    cell._values = values
    return cell
