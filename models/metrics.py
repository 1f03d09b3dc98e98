"""The metrics every model logs, and :func:`score_classes`: the one place a batch of class
predictions is scored (right, answered, samples wholly right)."""

from __future__ import annotations

import torch
from torchmetrics import Metric


class WithinTolerance(Metric):
    """Fraction of real predictions whose absolute error is below ``tolerance``."""

    def __init__(self, tolerance: float) -> None:
        super().__init__()
        self.tolerance = tolerance
        self.add_state("right", default=torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.right += ((preds - target).abs() < self.tolerance).sum()
        self.total += target.numel()

    def compute(self) -> torch.Tensor:
        return self.right.float() / self.total


def score_classes(
    predictions: torch.Tensor, targets: torch.Tensor, ignore_index: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Score a batch of class ids: the one place where a prediction is counted right or wrong.

    ``predictions`` and ``targets`` are ``(B, ...)`` class ids; a target equal to
    ``ignore_index`` carries no answer and counts nowhere, and a sample with no answer at all
    counts in neither exact-match term. Returns (answered targets predicted right, answered
    targets, samples with an answer whose every answered target is right, samples with an
    answer). Example: targets ``[[-100, 3, 5], [-100, -100, 2], [-100, -100, -100]]`` and
    predictions ``[[0, 3, 4], [7, 7, 2], [1, 1, 1]]`` give ``(2, 3, 1, 2)``: accuracy 2/3, exact
    match 1/2.
    """
    predictions, targets = predictions.reshape(len(targets), -1), targets.reshape(len(targets), -1)
    answered = targets != ignore_index  # (B, K)
    right = (predictions == targets) & answered  # (B, K)
    has_answer = answered.any(dim=1)  # (B,)
    whole = (right | ~answered).all(dim=1) & has_answer  # (B,)
    return right.sum(), answered.sum(), whole.sum(), has_answer.sum()


class ClassScore(Metric):
    """``accuracy`` (answered targets right / answered targets, micro-averaged) or, with
    ``per_sample``, ``exact_match`` (samples with every answered target right / samples with an
    answer). With nothing answered yet, ``compute`` is nan."""

    full_state_update = False

    def __init__(self, ignore_index: int, per_sample: bool) -> None:
        super().__init__()
        self.ignore_index, self.per_sample = ignore_index, per_sample
        self.add_state("right", default=torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        right, answered, whole, samples = score_classes(preds, target, self.ignore_index)
        if self.per_sample:
            self.right += whole
            self.total += samples
        else:
            self.right += right
            self.total += answered

    def compute(self) -> torch.Tensor:
        return self.right.float() / self.total


class WeightedMean(Metric):
    """The mean of values each weighing ``weight`` (a batch's mean loss and its answered targets:
    the loss over every answered target of the epoch, on every rank). A nan value makes the mean
    nan: a diverged batch is never dropped. (torchmetrics' ``MeanMetric`` drops nan values or,
    told not to, ignores the weights.)"""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("weighted", default=torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("weight", default=torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, value: torch.Tensor, weight: torch.Tensor) -> None:
        weight = torch.as_tensor(weight, dtype=torch.float32, device=self.weight.device)
        self.weighted += torch.where(weight > 0, value.float() * weight, 0.0)  # none: adds 0
        self.weight += weight

    def compute(self) -> torch.Tensor:
        return self.weighted / self.weight
