"""Sequence learning: predict the next value of a ramp."""

from __future__ import annotations

import torch

from seqtasks._random import integers
from seqtasks._validate import check_int
from seqtasks.base import MAX_STEPS, SequenceTask


class Ramp(SequenceTask):
    """Predict the next value of the ramp ``0, 1/length, 2/length, ..., (length-1)/length``.

    Each sample is a contiguous window of ``window`` values starting at a random position, and the
    values that follow it. Worked example, ``length=10`` (ramp ``0.0 0.1 ... 0.9``):

    ====================  =====================  ==========================
    framing, window       x                      y
    ====================  =====================  ==========================
    many_to_one, 1        ``0.3``                ``0.4``
    many_to_one, 4        ``0.4 0.5 0.6 0.7``    ``0.8``
    one_to_one, 9         ``0.0 0.1 ... 0.8``    ``0.1 0.2 ... 0.9``
    ====================  =====================  ==========================

    ``window`` defaults to 1 for ``many_to_one`` (previous value -> next value) and to
    ``length - 1`` for ``one_to_one`` (the whole ramp, next value at every step). Targets are
    reals; the problem is solved when the test MSE is at most ``(0.25 / length) ** 2``, a root mean
    squared error of a quarter of the ramp's step.
    """

    name = "ramp"
    framings = ("many_to_one", "one_to_one")
    encodings = ("real",)
    target = "reals"
    size_options = ("length", "window")

    def __init__(
        self,
        *,
        length: int = 10,
        window: int | None = None,
        framing: str | None = None,
        encoding: str | None = None,
        split: str = "train",
        seed: int = 0,
        num_samples: int | None = None,
        batch_size: int | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__(
            framing=framing, encoding=encoding, split=split, seed=seed,
            num_samples=num_samples, batch_size=batch_size, device=device,
        )  # fmt: skip
        self.length = check_int("length", length, 2, MAX_STEPS)  # the ramp's steps
        if window is None:
            window = 1 if self.framing == "many_to_one" else self.length - 1
        self.window = check_int("window", window, 1, self.length - 1)
        per_step = self.framing == "one_to_one"
        self.spec = self._build_spec(
            input_length=self.window,
            num_classes=None,
            target_layout="per_step" if per_step else "last",
            target_length=self.window if per_step else 1,
            metric="mse",
            solved_threshold=(0.25 / self.length) ** 2,
        )

    def _make(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        starts = integers(keys, 0, 1, self.length - self.window)  # (B, 1)
        offsets = torch.arange(self.window + 1, device=keys.device)  # (W+1,)
        steps = (starts + offsets).to(torch.float32)  # (B, W+1)
        # divided by a tensor, not a Python number: with a host scalar, CUDA multiplies by its
        # reciprocal (1/length rounded), which is not the CPU's correctly rounded quotient
        values = steps / torch.full_like(steps, self.length)  # (B, W+1)
        targets = values[:, 1:] if self.framing == "one_to_one" else values[:, -1]
        return values[:, :-1], targets  # (B, W), (B, W) or (B,)

    def _chance(self) -> float:
        # every start s in [0, n) is equally likely: the MSE of predicting the mean target is the
        # variance of (s + W) / L, or for one_to_one of (s + j) / L with j uniform in 1 .. W and
        # independent of s; a uniform integer on k values has variance (k**2 - 1) / 12
        starts = self.length - self.window
        spread = starts**2 - 1 + (self.window**2 - 1 if self.framing == "one_to_one" else 0)
        return spread / 12 / self.length**2
