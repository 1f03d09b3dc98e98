"""Length generalisation: score a trained model on test sets of other sequence lengths."""

from __future__ import annotations

from typing import Any

import torch

import seqtasks
from seqtasks import SequenceTask, TaskSpec
from seqtasks.models import SequenceModel
from seqtasks.models.base import OutputCheckError

# spec fields that must not change with the length for the trained model to apply
SHAPE_FIELDS = ("input_size", "target", "num_classes", "target_layout", "encoding")
MODEL_REFUSAL = "report.eval_lengths: the model cannot take"  # how check_lengths' refusals start


def length_test_sets(
    task: str, options: dict[str, Any], lengths: list[int], trained: TaskSpec, **split: Any
) -> dict[int, SequenceTask]:
    """One fixed test set per length; refuses lengths the problem or the model cannot take."""
    sets = {}
    for length in lengths:
        try:
            dataset = seqtasks.make(task, **{**options, "length": length}, split="test", **split)
        except (TypeError, ValueError) as error:
            raise ValueError(f"report.eval_lengths: length={length}: {error}") from None
        spec = dataset.spec
        changed = [f for f in SHAPE_FIELDS if getattr(spec, f) != getattr(trained, f)]
        if spec.target_layout != "per_step" and spec.target_length != trained.target_length:
            changed.append("target_length")
        if changed:
            raise ValueError(
                f"report.eval_lengths: at length={length} {task} changes {changed}, which a model "
                f"trained at length={options.get('length')} cannot take"
            )
        sets[length] = dataset
    return sets


def check_lengths(model: SequenceModel, sets: dict[int, SequenceTask]) -> None:
    """Before training: :meth:`~SequenceModel.check_output` on two samples of each length's set. A
    model that cannot take a length (too few learned positions, a network of a fixed width) is
    refused."""
    for length, dataset in sets.items():
        inputs, _ = dataset.generate(0, 2)  # (2, T', ...)
        try:
            model.check_output(inputs.to(model.device), dataset.spec)
        except OutputCheckError as error:
            cause = error.__cause__  # what the network raised, if it failed
            what = f"{model.display_name} {type(cause).__name__}: {cause}" if cause else str(error)
            raise ValueError(
                f"{MODEL_REFUSAL} length={length}: {what} (inputs {tuple(inputs.shape)})"
            ) from None


@torch.no_grad()
def evaluate_lengths(
    model: SequenceModel, sets: dict[int, SequenceTask]
) -> dict[int, dict[str, float]]:
    """The model's test metrics on each length's set (computed here, on one process)."""
    model.eval()
    results = {}
    for length, dataset in sets.items():
        metrics = model.metric_collection("test").to(model.device)
        for inputs, targets in dataset:
            model.update_metrics(metrics, model(inputs.to(model.device)), targets.to(model.device))
        results[length] = {name: float(value) for name, value in metrics.compute().items()}
    return results
