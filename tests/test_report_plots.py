"""The run's figures draw what was scored: predictions.png leaves out the targets nobody answers."""

from __future__ import annotations

from pathlib import Path

import matplotlib.axes
import pytest

import seqtasks
from seqtasks import models
from seqtasks.training.report import plot_predictions


@pytest.mark.parametrize(("name", "options"), [("selective_copy", {}), ("echo", {"lag": 2})])
def test_predictions_draw_the_answered_targets_only(name, options, tmp_path: Path, monkeypatch):
    drawn: list[tuple[list[float], list[float]]] = []
    plot = matplotlib.axes.Axes.plot

    def record(self, x, y, *args, **kwargs):
        drawn.append((list(map(float, x)), list(map(float, y))))
        return plot(self, x, y, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", record)
    dataset = seqtasks.make(name, split="test", num_samples=4, **options)
    inputs, targets = dataset.generate(0, 4)
    model = models.resolve("lstm", dataset.spec.framing)(dataset.spec)
    plot_predictions(model, inputs, targets, dataset.spec, tmp_path / "predictions.png")
    assert (tmp_path / "predictions.png").is_file()
    drawn_targets = [y for _, y in drawn[0::2]]  # target, then prediction, for each panel
    rows = targets[None] if targets.dim() == 1 else targets  # one target per sample: one panel
    answered = [[float(v) for v in row if v != dataset.spec.ignore_index] for row in rows]
    assert drawn_targets == answered and all(-100.0 not in y for _, y in drawn)
    assert [len(x) for x, _ in drawn] == [len(y) for _, y in drawn]
