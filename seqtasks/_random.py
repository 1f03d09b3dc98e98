"""Counter-based random numbers: every draw is a pure function of its coordinates.

A sample's random numbers depend only on ``(seed, split, epoch, index)`` and on which draw of the
sample is asked for, never on the order in which samples are made. Batch size, DataLoader workers,
DDP ranks and the device therefore cannot change a single bit of the data.

The mixing function is SplitMix64's finaliser (Steele, Lea & Flood, 2014) written with signed int64
tensor operations, so it runs vectorised on any torch device. Multiplication wraps modulo 2**64 and
right shifts are made logical by masking, which gives the same bits as the unsigned reference.
"""

from __future__ import annotations

import torch

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB


def _signed(value: int) -> int:
    """The int64 with the same 64 bits as the unsigned ``value``."""
    value &= MASK64
    return value - (1 << 64) if value >= 1 << 63 else value


def mix64_int(value: int) -> int:
    """SplitMix64's finaliser on a Python int, as an unsigned 64-bit result (the reference)."""
    z = value & MASK64
    z = ((z ^ (z >> 30)) * _MUL1) & MASK64
    z = ((z ^ (z >> 27)) * _MUL2) & MASK64
    return z ^ (z >> 31)


def _shr(z: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical right shift of int64 bit patterns."""
    return (z >> bits) & ((1 << (64 - bits)) - 1)


def mix64(z: torch.Tensor) -> torch.Tensor:
    """SplitMix64's finaliser, elementwise on an int64 tensor (bit patterns as unsigned)."""
    z = (z ^ _shr(z, 30)) * _signed(_MUL1)
    z = (z ^ _shr(z, 27)) * _signed(_MUL2)
    return z ^ _shr(z, 31)


def stream_key(seed: int, split: int, epoch: int) -> int:
    """One 64-bit key per (seed, split, epoch), as a signed int64 value."""
    key = mix64_int(seed * GOLDEN)
    key = mix64_int(key + (split + 1) * GOLDEN)
    key = mix64_int(key + (epoch + 1) * GOLDEN)
    return _signed(key)


def sample_keys(stream: int, indices: torch.Tensor) -> torch.Tensor:
    """One key per sample index: ``(B,)`` int64 indices -> ``(B,)`` int64 keys."""
    return mix64(indices * _signed(GOLDEN) + stream)


def bits(keys: torch.Tensor, draw: int, count: int) -> torch.Tensor:
    """``count`` random 64-bit words per key for the named ``draw``: ``(B,)`` -> ``(B, count)``."""
    offsets = torch.arange(count, device=keys.device, dtype=torch.int64) + (draw << 32) + 1
    return mix64(keys[:, None] + offsets[None, :] * _signed(GOLDEN))


def uniform(keys: torch.Tensor, draw: int, count: int) -> torch.Tensor:
    """Float32 values in [0, 1) on a grid of 2**-24: ``(B,)`` -> ``(B, count)``."""
    return _shr(bits(keys, draw, count), 40).to(torch.float32) * 2.0**-24


def integers(keys: torch.Tensor, draw: int, count: int, high: int) -> torch.Tensor:
    """Int64 values in [0, high) by multiply-high on 32 random bits: ``(B,)`` -> ``(B, count)``."""
    if not 1 <= high < 1 << 31:
        raise ValueError(f"high={high} is outside the supported range 1 .. 2**31 - 1")
    return (_shr(bits(keys, draw, count), 32) * high) >> 32
