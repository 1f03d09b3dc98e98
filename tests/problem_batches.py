"""Helpers of the problems' tests: a batch of samples, symbols back from their encoding, bit
equality of batches."""

from __future__ import annotations

import torch

import seqtasks
from seqtasks.base import SequenceTask

INTEGER_PROBLEMS = ("memorize", "echo", "subsequence")
ENCODINGS = ("onehot", "index", "scaled")


def batch(
    name: str, count: int = 64, **options: object
) -> tuple[SequenceTask, torch.Tensor, torch.Tensor]:
    """A dataset and its first ``count`` samples as one batch."""
    dataset = seqtasks.make(name, num_samples=count, **options)
    inputs, targets = dataset.generate(0, count)
    return dataset, inputs, targets


def decode(inputs: torch.Tensor, encoding: str, vocab: int) -> torch.Tensor:
    """Symbol ids ``(B, T)`` int64 back from encoded inputs, checking the encoding on the way."""
    if encoding == "onehot":
        assert inputs.dtype == torch.float32 and inputs.shape[-1] == vocab
        assert torch.all((inputs == 0) | (inputs == 1))
        assert torch.all(inputs.sum(dim=-1) == 1)  # exactly one 1 per step
        return inputs.argmax(dim=-1)
    if encoding == "index":
        assert inputs.dtype == torch.int64 and inputs.dim() == 2
        return inputs
    assert encoding == "scaled"
    assert inputs.dtype == torch.float32 and inputs.shape[-1] == 1
    assert torch.all((inputs >= 0) & (inputs <= 1))
    symbols = torch.round(inputs.squeeze(-1).double() * (vocab - 1)).long()
    expected = symbols.to(torch.float32) / (vocab - 1)
    assert torch.equal(inputs.squeeze(-1), expected)
    return symbols


def same_bits(a: tuple[torch.Tensor, ...], b: tuple[torch.Tensor, ...]) -> bool:
    return all(x.dtype == y.dtype and torch.equal(x, y) for x, y in zip(a, b, strict=True))
