"""The leaderboard beside the papers: MQAR against Zoology's Figure 2, selective copying against
the Mamba paper's Table 1, with every setting that differs named.

The papers' figures are constants here, with where each comes from; ours are read from the
board's runs: the median test accuracy over the seeds run at each size, at the model's tuned
learning rate. A size the ladder did not reach (it stopped after two unsolved sizes below it, or
the time limit cut it) is ``-``. Example::

    >>> rows = [{"problem": "selective_copy", "model": "lstm", "value": 64, "seed": s,
    ...          "test_metric": m, "stopped": "ended"} for s, m in enumerate([0.4, 0.5, 0.9])]
    >>> accuracy_grid(rows, "selective_copy", ["lstm"], (64, 128))
    {'lstm': ['0.500 (3)', '-']}
"""

from __future__ import annotations

import statistics
from typing import Any

from seqtasks.benchmarks.tables import markdown_table

Row = dict[str, Any]

# Arora, Eyuboglu et al. 2023, "Zoology", Figure 2 (the repository's assets/figure2.png): MQAR
# test accuracy, the best of 4 learning rates, at model dimension 64 (the smallest, and the
# width of our 2-layer families), read off the figure to about +-0.03
ZOOLOGY_LENGTHS = (64, 128, 256, 512)
ZOOLOGY_FIGURE_2 = {
    "attention": (0.97, 0.97, 0.97, 0.97),
    "H3": (0.90, 0.25, 0.07, 0.02),
    "BaseConv": (0.69, 0.37, 0.15, 0.02),
    "RWKV": (0.74, 0.18, 0.05, 0.02),
    "Hyena": (0.51, 0.20, 0.05, 0.02),
}
ZOOLOGY_DIFFERENCES = (
    "Zoology's setting (HazyResearch/zoology, `experiments/paper_configs/iclr24_zoology_figure2`):"
    " 2 layers, model dimension 64 to 512; vocabulary 8,192; 4, 8, 16 and 64 key-value pairs at "
    "lengths 64, 128, 256 and 512; `power_a` 0.01; `random_non_queries` false; 100,000 training "
    "sequences for 64 epochs (6.4 million sequences, batches of 512 to 128); the best of 4 "
    "learning rates from 1e-4 to 1e-2; accuracy on 3,000 test sequences.",
    "Ours (`associative_recall/length`): length/16 pairs, so 4, 8 and 16 match and 512 has 32, "
    "not 64; vocabulary 2 x length (128 to 2,048), not 8,192; `random_non_queries` true (the "
    "answerless positions hold random tokens, not zeros); each family at its default size (the "
    "2-layer families at width 64, as Zoology's smallest); at most 3,000 steps of 32 fresh "
    "sequences (96,000, 67 times fewer than Zoology's); the best of 3 rates (0.001, 0.003, "
    "0.01); the median over the seeds run, on 1,000 test sequences.",
)

# Gu & Dao 2023, "Mamba", Table 1: selective copying accuracy (%) for each architecture with
# each inner sequence layer
MAMBA_TABLE_1 = (
    ("S4", "no gate", "S4", 18.3),
    ("-", "no gate", "S6", 97.0),
    ("H3", "H3", "S4", 57.0),
    ("Hyena", "H3", "Hyena", 30.1),
    ("-", "H3", "S6", 99.7),
    ("-", "Mamba", "S4", 56.4),
    ("-", "Mamba", "Hyena", 28.4),
    ("Mamba", "Mamba", "S6", 99.8),
)
MAMBA_DIFFERENCES = (
    "The Mamba paper's setting (its Appendix E.1): length 4,096, 16 tokens to copy, a "
    "vocabulary of 16; 2 layers of width 64; 400,000 steps of 64 sequences (25.6 million) at a "
    "learning rate of 1e-4.",
    "Ours (`selective_copy`): the same 16 tokens and vocabulary of 16 at lengths 64 to 1,024 "
    "(the ceiling: our ladder stops 4 times short of the paper's length); each family at its "
    "default size (our `mamba` has 2 blocks of width 64, as the paper's); at most 3,000 steps of "
    "32 sequences (96,000, 267 times fewer); the best of 3 rates; the median over the seeds run, "
    "on 1,000 test sequences.",
)


def accuracy_grid(runs: list[Row], problem: str, models: list[str], sizes: tuple[int, ...]
                  ) -> dict[str, list[str]]:  # fmt: skip
    """Model -> one cell per size: ``median (seeds)`` of the test metric over the seeds run
    there (runs that failed left out), ``-`` where none ran; ``not run yet`` in every cell of a
    model with no run on the problem."""
    grid = {}
    for model in models:
        if not any(row["problem"] == problem and row["model"] == model for row in runs):
            grid[model] = ["not run yet"] * len(sizes)
            continue
        cells = []
        for size in sizes:
            scores = [row["test_metric"] for row in runs
                      if row["problem"] == problem and row["model"] == model
                      and row["value"] == size and row.get("stopped") != "error"
                      and row.get("test_metric") is not None]  # fmt: skip
            cells.append(f"{statistics.median(scores):.3f} ({len(scores)})" if scores else "-")
        grid[model] = cells
    return grid


def _ladder(results: dict[str, Any], key: str) -> tuple[int, ...] | None:
    return next((tuple(p["values"]) for p in results["problems"] if p["key"] == key), None)


def zoology(results: dict[str, Any]) -> str:
    """Our MQAR accuracies by length beside Zoology's Figure 2 (model dimension 64)."""
    sizes = _ladder(results, "associative_recall/length")
    if sizes is None:
        return "The board has no `associative_recall/length` ladder."
    grid = accuracy_grid(results["runs"], "associative_recall/length", results["models"], sizes)
    head = ["model", *(f"length {size:,}" for size in sizes)]
    rows = [[f"{model} (ours)", *cells] for model, cells in grid.items()]
    for name, scores in ZOOLOGY_FIGURE_2.items():
        by_size = dict(zip(ZOOLOGY_LENGTHS, scores, strict=True))
        cells = [f"{by_size[size]:.2f}" if size in by_size else "-" for size in sizes]
        rows.append([f"{name} (Zoology, Fig. 2)", *cells])
    notes = "\n".join(f"- {line}" for line in ZOOLOGY_DIFFERENCES)
    return markdown_table(head, rows) + "\n\n" + notes


def mamba(results: dict[str, Any]) -> str:
    """Our selective copying accuracies by length, then the Mamba paper's Table 1."""
    sizes = _ladder(results, "selective_copy")
    if sizes is None:
        return "The board has no `selective_copy` ladder."
    grid = accuracy_grid(results["runs"], "selective_copy", results["models"], sizes)
    ours = markdown_table(["model", *(f"length {size:,}" for size in sizes)],
                  [[model, *cells] for model, cells in grid.items()])  # fmt: skip
    head = ["model (Mamba, Table 1)", "architecture", "layer", "accuracy at length 4,096"]
    paper = markdown_table(head, [[name, arch, layer, f"{acc:.1f}%"]
                          for name, arch, layer, acc in MAMBA_TABLE_1])  # fmt: skip
    notes = "\n".join(f"- {line}" for line in MAMBA_DIFFERENCES)
    return f"{ours}\n\n{paper}\n\n{notes}"


def markdown(results: dict[str, Any]) -> str:
    """Both comparisons, for ``leaderboard.md``."""
    return "\n\n".join([
        "### MQAR beside Zoology's Figure 2 (test accuracy: median (seeds run); `-`: not reached)",
        zoology(results),
        "### Selective copying beside the Mamba paper's Table 1 (test accuracy: median (seeds))",
        mamba(results),
    ])  # fmt: skip
