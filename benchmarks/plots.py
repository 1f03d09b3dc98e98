"""The leaderboard's figure: steps to solve against difficulty, one panel per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import ticker

COLORS = {"lstm": "tab:blue", "gru": "tab:green", "rnn": "tab:purple",
          "transformer": "tab:red", "mlp": "tab:orange", "mlp_window": "tab:gray",
          "tcn": "tab:brown", "mamba": "tab:pink", "lru": "tab:olive",
          "linear_attention": "tab:cyan", "xlstm": "navy"}  # fmt: skip


def leaderboard(results: dict[str, Any], path: Path) -> None:
    """One panel per problem: median steps to solve (solved sizes) against the knob, one line
    per model; a cross at the budget line marks a size a model did not solve."""
    problems = results["problems"]
    ceiling = results["budget"]["max_steps"]
    columns = min(4, len(problems))
    rows = -(-len(problems) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    curves = {(c["problem"], c["model"]): c["points"] for c in results["curves"]}
    others = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"][6:] or ["black"])
    colors = {m: COLORS.get(m) or next(others, "black") for m in results["models"]}
    shift = {m: 1.035 ** (i - (len(colors) - 1) / 2) for i, m in enumerate(colors)}  # no overlap
    for axis, problem in zip(axes.flat, problems, strict=False):
        for model in results["models"]:
            points = curves.get((problem["key"], model), [])
            solved = [p for p in points if p["solved"]]
            axis.plot([p["value"] * shift[model] for p in solved], [p["steps"] for p in solved],
                      "o-", color=colors[model], label=model, ms=4)  # fmt: skip
            missed = [p["value"] * shift[model] for p in points if p["solved"] is False]
            axis.plot(missed, [ceiling * 1.3] * len(missed), "x", color=colors[model], ms=7)
        axis.axhline(ceiling, color="gray", ls=":", lw=1)
        axis.set_xscale("log")
        axis.set_xlim(problem["values"][0] / 1.6, problem["values"][-1] * 1.6)  # empty panels too
        axis.set_yscale("log")
        axis.set_ylim(10, ceiling * 1.8)
        axis.set_xticks(problem["values"], [f"{v:,}" for v in problem["values"]], fontsize=7)
        axis.minorticks_off()
        axis.yaxis.set_major_formatter(ticker.FuncFormatter(lambda y, _: f"{y:,.0f}"))
        axis.set_xlabel(problem["knob"])
        axis.set_title(f"{problem['key']}\n{problem['note']}", fontsize=8)
    for axis in axes.flat[len(problems) :]:
        axis.axis("off")
    for axis in axes[:, 0]:
        axis.set_ylabel("median steps to solve")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower right", fontsize=8, frameon=False,
                  title="x: unsolved (dotted line: the budget)", title_fontsize=7)  # fmt: skip
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
