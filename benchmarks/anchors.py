"""Per-sample references for the content-based problems, in the style of the anchors' public
generators: one example at a time, NumPy calls per example (``np.random.choice`` without
replacement, with ``p=`` for the query gaps), the target built with ``-100`` where there is no
answer. They draw from NumPy's global generator, as Zoology's and MAD's do.

Each returns one sample ``(x, y)`` at the problem's default options in the ``index`` encoding:
``x`` ``(T,)`` int64, ``y`` as the dataset's. ``python -m seqtasks.benchmarks.throughput`` times
them against the batched datasets. Example::

    >>> x, y = associative_recall()
    >>> x.shape, y.shape
    (torch.Size([64]), torch.Size([64]))
"""

from __future__ import annotations

import numpy as np
import torch

IGNORE = -100
Sample = tuple[torch.Tensor, torch.Tensor]


def associative_recall(
    length: int = 64, num_pairs: int = 4, vocab: int = 128, power_a: float = 0.01
) -> Sample:
    """MQAR as Zoology's ``multiquery_ar`` builds it, for one example."""
    half, block = vocab // 2, 2 * num_pairs
    keys = np.random.choice(np.arange(1, half), size=num_pairs, replace=False)
    values = np.random.choice(np.arange(half, vocab), size=num_pairs, replace=False)
    space = (length - block) // 2
    p = power_a * np.arange(1, space + 1) ** (power_a - 1)
    gaps = np.random.choice(space, size=num_pairs, replace=False, p=p / p.sum())
    x = np.zeros(length, dtype=np.int64)
    x[0:block:2], x[1:block:2] = keys, values
    x[block + 2 * gaps] = keys
    y = np.full(length, IGNORE, dtype=np.int64)
    y[block + 2 * gaps] = values
    free = np.flatnonzero(x == 0)  # non-query steps: random symbols
    x[free] = np.random.randint(vocab, size=len(free))
    return torch.from_numpy(x), torch.from_numpy(y)


def selective_copy(length: int = 32, num_tokens: int = 8, vocab: int = 16) -> Sample:
    """Selective copying as MAD's generator lays it out, for one example."""
    data = np.random.choice(vocab - 2, size=num_tokens, replace=True)
    marker = length - num_tokens - 1
    places = np.sort(np.random.choice(marker, size=num_tokens, replace=False))
    x = np.full(length, vocab - 2, dtype=np.int64)
    x[places], x[marker] = data, vocab - 1
    y = np.full(length, IGNORE, dtype=np.int64)
    y[marker + 1 :] = data
    return torch.from_numpy(x), torch.from_numpy(y)


def induction_heads(length: int = 32, vocab: int = 16) -> Sample:
    """Random symbols, the trigger once before the end and at the end; the answer follows it."""
    x = np.random.randint(vocab - 1, size=length)
    step = np.random.randint(length - 2)
    x[step] = x[-1] = vocab - 1
    return torch.from_numpy(x), torch.tensor(x[step + 1])


def parity(length: int = 40, min_length: int = 1) -> Sample:
    """Bits of a random length, left-padded with 0 bits; the parity of the ones."""
    size = np.random.randint(min_length, length + 1)
    x = np.zeros(length, dtype=np.int64)
    x[length - size :] = np.random.randint(2, size=size)
    return torch.from_numpy(x), torch.tensor(int(x.sum()) % 2)


ANCHORS = {
    "associative_recall": associative_recall,
    "selective_copy": selective_copy,
    "induction_heads": induction_heads,
    "parity": parity,
}
