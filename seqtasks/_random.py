"""Counter-based random numbers: every draw is a pure function of its coordinates.

A sample's random numbers depend only on ``(seed, split, epoch, index)`` and on which draw of the
sample is asked for, never on the order in which samples are made. Batch size, DataLoader workers,
DDP ranks and the device therefore cannot change a single bit of the data.

The mixing function is SplitMix64's finaliser (Steele, Lea & Flood, 2014), in two forms with the
same bits: NumPy ``uint64`` arrays on the CPU (native logical shifts, in place; about three times
faster, results shared with tensors), and signed int64 tensor operations on any other device
(multiplication wraps modulo 2**64, right shifts are made logical by masking).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB
GRID_BITS = 24  # uniform values are multiples of 2**-24
MAX_HIGH = 2**31 - 1  # integers() draws below at most this many values
MIX_CHUNK = 2**15  # words mixed at once: 256 KiB, in cache
TILE_LIMIT = 2**17  # words per batch up to which bits() adds cached tiled offsets (1 MiB)

_NP = {name: np.uint64(value) for name, value in
       (("mul1", _MUL1), ("mul2", _MUL2), ("s27", 27), ("s30", 30), ("s31", 31), ("s32", 32),
        ("grid", 64 - GRID_BITS))}  # fmt: skip
NUMPY_ON_CPU = True  # False: the tensor form everywhere (tests compare the two)
_GOLDEN_STEPS = np.zeros(0, dtype=np.uint64)  # k * GOLDEN mod 2**64 for k = 0, 1, ...; grows


def use_numpy(device: torch.device | None) -> bool:
    """Whether data on ``device`` is computed with NumPy (the CPU) rather than tensor operations."""
    return NUMPY_ON_CPU and (device is None or device.type == "cpu")


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


def _mix_tensor_(z: torch.Tensor, final: bool = True) -> torch.Tensor:
    """SplitMix64's finaliser, in place on an int64 tensor of any device. ``final=False`` leaves
    out the last xor-shift, which changes no bit above bit 32 (enough for the top 24 bits)."""
    z ^= _shr(z, 30)
    z *= _signed(_MUL1)
    z ^= _shr(z, 27)
    z *= _signed(_MUL2)
    if final:
        z ^= _shr(z, 31)
    return z


def _mix_array_(a: np.ndarray, final: bool = True) -> np.ndarray:
    """SplitMix64's finaliser, in place on a flat uint64 array (wrapping multiplication);
    ``final`` as in :func:`_mix_tensor_`. Long arrays go in cache-sized pieces."""
    if len(a) > 2 * MIX_CHUNK:
        for start in range(0, len(a), MIX_CHUNK):
            _mix_array_(a[start : start + MIX_CHUNK], final)
        return a
    t = a >> _NP["s30"]
    a ^= t
    a *= _NP["mul1"]
    np.right_shift(a, _NP["s27"], out=t)
    a ^= t
    a *= _NP["mul2"]
    if final:
        np.right_shift(a, _NP["s31"], out=t)
        a ^= t
    return a


def _array(z: torch.Tensor) -> np.ndarray:
    """The uint64 view of a CPU int64 tensor's memory."""
    return z.numpy().view(np.uint64)


def _tensor(a: np.ndarray) -> torch.Tensor:
    """A uint64 array as an int64 tensor, sharing its memory."""
    return torch.from_numpy(a.view(np.int64))


def mix64(z: torch.Tensor) -> torch.Tensor:
    """SplitMix64's finaliser, elementwise on an int64 tensor (bit patterns as unsigned)."""
    return _mix_tensor_(z.clone())


def stream_key(seed: int, split: int, epoch: int) -> int:
    """One 64-bit key per (seed, split, epoch), as a signed int64 value."""
    key = mix64_int(seed * GOLDEN)
    key = mix64_int(key + (split + 1) * GOLDEN)
    key = mix64_int(key + (epoch + 1) * GOLDEN)
    return _signed(key)


def sample_keys(stream: int, indices: torch.Tensor) -> torch.Tensor:
    """One key per sample index: ``(B,)`` int64 indices -> ``(B,)`` int64 keys (tensor form)."""
    return _mix_tensor_(indices * _signed(GOLDEN) + stream)


def _golden_steps(count: int) -> np.ndarray:
    """``k * GOLDEN mod 2**64`` for ``k < count``, from a table that grows (O(largest batch))."""
    global _GOLDEN_STEPS
    if len(_GOLDEN_STEPS) < count:
        size = max(count, 2 * len(_GOLDEN_STEPS))
        _GOLDEN_STEPS = np.arange(size, dtype=np.uint64) * np.uint64(GOLDEN)
    return _GOLDEN_STEPS[:count]


def shift_keys(keys: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
    """Keys whose word ``k`` (of every draw) is word ``k - steps[b]`` of ``keys``: ``(B,)``.

    Word ``k`` hashes ``key + (first + k) * GOLDEN``, so subtracting ``steps * GOLDEN`` from the
    key moves every word ``steps`` places to the right: a sequence drawn this way arrives already
    shifted (left-padded) with the same bits.
    """
    if use_numpy(keys.device):
        return _tensor(_array(keys) - _array(steps) * np.uint64(GOLDEN))
    return keys - steps * _signed(GOLDEN)


@functools.lru_cache(maxsize=32)
def _row_offsets(draws: tuple[int, ...], count: int) -> np.ndarray:
    """One key's counters: word ``k`` of each draw ``d`` adds ``((d << 32) + 1 + k) * GOLDEN``;
    ``count`` words of each draw in turn, ``(len(draws) * count,)``."""
    starts = [np.uint64((((draw << 32) + 1) * GOLDEN) & MASK64) for draw in draws]
    offsets = np.concatenate([_golden_steps(count) + start for start in starts])
    offsets.setflags(write=False)
    return offsets


@functools.lru_cache(maxsize=32)
def _tiled_offsets(draws: tuple[int, ...], count: int, rows: int) -> np.ndarray:
    """``_row_offsets`` repeated for ``rows`` keys: ``(rows * len(draws) * count,)``."""
    tiled = np.tile(_row_offsets(draws, count), rows)
    tiled.setflags(write=False)
    return tiled


def range_keys(
    stream: int, start: int, count: int, step: int = 1, device: torch.device | None = None
) -> torch.Tensor:
    """The keys of samples ``start, start + step, ..., start + (count - 1) * step``: ``(count,)``.

    Equal to ``sample_keys(stream, torch.arange(start, start + count * step, step))``, without
    building the indices: ``index * GOLDEN + stream`` is an arithmetic progression mod 2**64.
    """
    base = (start * GOLDEN + stream) & MASK64
    increment = (step * GOLDEN) & MASK64
    if use_numpy(device):
        if step == 1:
            words = _golden_steps(count) + np.uint64(base)
        else:
            words = np.arange(count, dtype=np.uint64) * np.uint64(increment) + np.uint64(base)
        return _tensor(_mix_array_(words))
    words = torch.arange(count, device=device) * _signed(increment) + _signed(base)
    return _mix_tensor_(words)


def _words(
    keys: torch.Tensor, draws: tuple[int, ...], count: int, final: bool = True
) -> np.ndarray:
    """The words of ``bits`` for CPU keys and each of ``draws``, flat ``(B * width,)`` uint64
    (``width = len(draws) * count``, key b's at ``b * width``); ``final`` as in ``_mix_array_``."""
    rows, width = len(keys), len(draws) * count
    words = np.repeat(_array(keys), width)
    if rows * width <= TILE_LIMIT:  # one contiguous add beats a broadcast over short rows
        capacity = 1 << (rows - 1).bit_length()
        words += _tiled_offsets(draws, count, capacity)[: rows * width]
    else:
        words.reshape(rows, width)[:] += _row_offsets(draws, count)
    return _mix_array_(words, final)


def _tensor_words(keys: torch.Tensor, draw: int, count: int, final: bool = True) -> torch.Tensor:
    """The words of ``bits`` with tensor operations (any device): ``(B,)`` -> ``(B, count)``."""
    offsets = torch.arange(count, device=keys.device, dtype=torch.int64) + (draw << 32) + 1
    return _mix_tensor_(keys[:, None] + offsets[None, :] * _signed(GOLDEN), final)


def bits(keys: torch.Tensor, draw: int, count: int) -> torch.Tensor:
    """``count`` random 64-bit words per key for the named ``draw``: ``(B,)`` -> ``(B, count)``.

    Word ``k`` of a key is ``mix64(key + ((draw << 32) + 1 + k) * GOLDEN)``.
    """
    if use_numpy(keys.device):
        return _tensor(_words(keys, (draw,), count)).view(len(keys), count)
    return _tensor_words(keys, draw, count)


def grid(keys: torch.Tensor, draw: int, count: int) -> torch.Tensor:
    """Int64 values in ``[0, 2**24)``, the top 24 bits of each word: ``(B,)`` -> ``(B, count)``.

    ``uniform`` is this times ``2**-24``; integer sums of it are exact.
    """
    shift = 64 - GRID_BITS
    if use_numpy(keys.device):
        words = _words(keys, (draw,), count, final=False)
        words >>= _NP["grid"]
        return _tensor(words).view(len(keys), count)
    return _shr(_tensor_words(keys, draw, count, final=False), shift)


def unit(grid_values: torch.Tensor, scale: float = 1.0, offset: float = 0.0) -> torch.Tensor:
    """Grid values (int64 in ``[0, 2**24)``) times ``scale * 2**-24``, plus ``offset``: float32.

    ``scale`` must be a power of two (1.0: values in [0, 1)), so that the product is exact and
    equals ``scale`` times the unit value; the float32 sum with ``offset`` then rounds as
    ``offset + scale * u`` does.
    """
    if math.frexp(scale)[0] != 0.5:
        raise ValueError(f"scale={scale} is not a power of two: the product would be rounded")
    factor = scale * 2.0**-GRID_BITS
    if use_numpy(grid_values.device):
        scaled = np.multiply(_array(grid_values), np.float32(factor),
                             dtype=np.float32, casting="unsafe")  # fmt: skip
        if offset:
            scaled += np.float32(offset)
        return torch.from_numpy(scaled)
    scaled = grid_values.to(torch.float32).mul_(factor)
    return scaled.add_(offset) if offset else scaled


def uniform(keys: torch.Tensor, draw: int, count: int) -> torch.Tensor:
    """Float32 values in [0, 1) on a grid of 2**-24: ``(B,)`` -> ``(B, count)``."""
    return unit(grid(keys, draw, count))


def integers(keys: torch.Tensor, draw: int, count: int, high: int) -> torch.Tensor:
    """Int64 values in [0, high) by multiply-high on 32 random bits: ``(B,)`` -> ``(B, count)``.

    For ``high = 2**k``: the top ``k`` bits (the mixer's last xor-shift, which never changes them,
    is left out). Else each value's chance is within a factor ``1 + high / 2**32`` of another's."""
    if not 1 <= high <= MAX_HIGH:
        raise ValueError(f"high={high} is outside the supported range 1 .. 2**31 - 1")
    power = high > 1 and (high & (high - 1)) == 0  # high = 2**k, 1 <= k <= 30
    top = 64 - (high.bit_length() - 1)  # for 2**k: the result is word >> (64 - k)
    if use_numpy(keys.device):
        words = _words(keys, (draw,), count, final=not power)
        if power:
            words >>= np.uint64(top)
        else:
            words >>= _NP["s32"]
            words *= np.uint64(high)
            words >>= _NP["s32"]
        return _tensor(words).view(len(keys), count)
    words = _tensor_words(keys, draw, count, final=not power)
    if power:
        return _shr(words, top)
    return (_shr(words, 32) * high) >> 32


@functools.lru_cache(maxsize=256)
def constant(values: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """``values`` as an int64 tensor on ``device``, made once and shared (never write to it): made
    from host data every batch, it would be a copy to the GPU that waits for it (a host sync)."""
    with torch.inference_mode(False):  # usable outside inference mode, whoever made it first
        return torch.tensor(values, dtype=torch.int64, device=device)


def integers_each(
    keys: torch.Tensor, draws: tuple[int, ...], highs: tuple[int, ...]
) -> torch.Tensor:
    """One integer in ``[0, highs[i])`` from each of ``draws``: ``(B,)`` -> ``(B, len(draws))``.

    Column ``i`` equals ``integers(keys, draws[i], 1, highs[i])[:, 0]``, in one pass.
    """
    if not all(1 <= high <= MAX_HIGH for high in highs):
        raise ValueError(f"highs={highs} are outside the supported range 1 .. 2**31 - 1")
    rows, width = len(keys), len(draws)
    if use_numpy(keys.device):
        words = _words(keys, tuple(draws), 1).reshape(rows, width)
        words >>= _NP["s32"]
        words *= np.array(highs, dtype=np.uint64)
        words >>= _NP["s32"]
        return _tensor(words)
    offsets = constant(tuple((draw << 32) + 1 for draw in draws), keys.device)  # (n,)
    words = _mix_tensor_(keys[:, None] + offsets[None, :] * _signed(GOLDEN))  # (B, n)
    return (_shr(words, 32) * constant(tuple(highs), keys.device)) >> 32
