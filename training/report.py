"""What a finished run leaves behind: summary.json, a printed table and PNG plots."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from seqtasks import TaskSpec


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    path.write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")


def format_table(summary: dict[str, Any]) -> str:
    """A short plain-text table of a run's outcome."""
    rows = [
        ("problem", f"{summary['task']} ({summary['framing']})"),
        ("model", summary["model"]),
        ("solved", "yes" if summary["solved"] else "no"),
        (
            "criterion",
            f"{'test' if summary['test'] else 'val'}/{summary['metric']} {summary['criterion']}",
        ),  # test=false: judged on validation
        ("chance", f"{summary['chance']:.4g}"),
    ]
    for stage in ("val", "test"):
        for name, value in summary[stage].items():
            rows.append((name, f"{value:.4g}"))
    for length, metrics in summary.get("lengths", {}).items():
        name = f"test/{summary['metric']}"
        rows.append((f"{name} @ length {length}", f"{metrics[name]:.4g}"))
    rows += [
        ("steps", str(summary["steps"])),
        ("samples", f"{summary['samples']:,}"),
        ("seconds", f"{summary['seconds']:.1f}"),
    ]
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)


def read_metrics(path: Path) -> dict[str, list[tuple[int, float]]]:
    """Columns of Lightning's metrics.csv as ``name -> [(step, value), ...]``."""
    series: dict[str, list[tuple[int, float]]] = {}
    if not path.exists():
        return series
    with path.open() as handle:
        for row in csv.DictReader(handle):
            for name, value in row.items():
                if name in ("epoch", "step") or value in ("", None):
                    continue
                series.setdefault(name, []).append((int(row["step"]), float(value)))
    return series


def plot_learning_curves(metrics_csv: Path, spec: TaskSpec, out: Path) -> None:
    """Training loss and the validation metric against steps, with the solved and chance levels."""
    series = read_metrics(metrics_csv)
    monitor = f"val/{spec.metric}"
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, axis in (("train/loss", left), (monitor, right)):
        points = series.get(name, [])
        if points:
            steps, values = zip(*points, strict=True)
            axis.plot(steps, values, marker="." if len(points) < 50 else None, label=name)
        axis.set_xlabel("step")
        axis.set_title(name)
    right.axhline(spec.solved_threshold, color="tab:green", linestyle="--", label="solved")
    right.axhline(spec.chance, color="tab:gray", linestyle=":", label="chance")
    if spec.metric == "mse":
        for axis in (left, right):
            axis.set_yscale("log")
    right.legend(loc="best")
    figure.suptitle(f"{spec.name} ({spec.framing})")
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)


def plot_predictions(
    model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor, spec: TaskSpec, out: Path
) -> None:
    """Held-out predictions beside their targets, one panel per sample (or one for scalars)."""
    model.eval()
    with torch.no_grad():
        predictions = model.predict_from_output(model(inputs)).cpu()
    targets = targets.cpu()
    if targets.dim() == 1:  # one value per sample: all samples in one panel
        predictions, targets = predictions[None], targets[None]
        titles = ["one target per sample (x axis: sample)"]
    else:
        titles = [f"test sample {i}" for i in range(len(targets))]
    columns = min(len(targets), 2)
    rows = math.ceil(len(targets) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 2.6 * rows), squeeze=False)
    for axis, title, target, prediction in zip(
        axes.flat, titles, targets, predictions, strict=False
    ):
        answered = (target != spec.ignore_index if spec.target == "classes"
                    else torch.ones_like(target, dtype=torch.bool))  # fmt: skip
        positions = answered.nonzero().flatten()  # steps with no answer (ignore_index) not drawn
        axis.plot(positions, target[answered], "o", color="tab:blue", label="target", markersize=8)
        axis.plot(positions, prediction[answered], "x", color="tab:red", label="prediction",
                  markersize=8)  # fmt: skip
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("target position")
    for axis in list(axes.flat)[len(targets) :]:
        axis.axis("off")
    axes.flat[0].legend(loc="best", fontsize=8)
    figure.suptitle(f"{spec.name} ({spec.framing}): held-out predictions")
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)


def plot_lengths(results: dict[int, dict[str, float]], spec: TaskSpec, out: Path) -> None:
    """The solving metric against sequence length, with the training length marked."""
    name = f"test/{spec.metric}"
    lengths = sorted(results)
    figure, axis = plt.subplots(figsize=(6, 3.6))
    axis.plot(lengths, [results[n][name] for n in lengths], marker="o", label=name)
    axis.axvline(spec.input_length, color="tab:orange", linestyle="-.", label="trained length")
    axis.axhline(spec.solved_threshold, color="tab:green", linestyle="--", label="solved")
    axis.axhline(spec.chance, color="tab:gray", linestyle=":", label="chance")
    axis.set_xscale("log")
    axis.set_xlabel("sequence length")
    axis.set_title(f"{spec.name} ({spec.framing}): length generalisation")
    axis.legend(loc="best", fontsize=8)
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)
