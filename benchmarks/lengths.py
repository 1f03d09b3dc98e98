"""Length generalisation: train the default LSTM at one length, score it at others.

    python -m seqtasks.benchmarks.lengths [--out results]

For each problem below, ``train.py``'s defaults train at the problem's default length (``echo``
at lag 0, so that the target exists at every length; ``subsequence`` one-to-one, whose output
layout does not depend on the length), then ``report.eval_lengths`` scores the best checkpoint on
fixed test sets of other lengths. Runs go through ``seqtasks.benchmarks.runner``.
Writes ``lengths.md``, ``lengths.json`` and ``lengths.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from seqtasks.benchmarks.runner import Job, run_jobs
from seqtasks.benchmarks.tables import out_folder

LENGTHS = [5, 10, 20, 50, 100, 200]
RUNS = {  # name -> overrides; each trains at its default length 10 (subsequence: 5)
    "classify": ["task=classify"],
    "echo lag 0": ["task=echo", "task.lag=0"],
    "subsequence one_to_one": ["task=subsequence", "task.framing=one_to_one"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=out_folder, default=Path("results"))
    args = parser.parse_args()
    lengths = f"report.eval_lengths=[{','.join(map(str, LENGTHS))}]"
    jobs = [Job({"problem": name}, (*overrides, lengths)) for name, overrides in RUNS.items()]
    results = {}
    for row in run_jobs(jobs):
        summary = row["summary"]
        metric = f"test/{summary['metric']}"
        results[row["problem"]] = {
            "trained_length": summary["options"]["length"],
            "solved": summary["solved"],
            "metric": metric,
            "by_length": {int(n): m[metric] for n, m in summary["lengths"].items()},
        }
    lines = [
        "`python -m seqtasks.benchmarks.lengths`: the default LSTM trained at the default length "
        "(marked *), test accuracy at other lengths (1,000 fixed test sequences each).",
        "",
        "| problem | " + " | ".join(str(n) for n in LENGTHS) + " |",
        "|---|" + "---|" * len(LENGTHS),
    ]
    for name, result in results.items():
        cells = [
            f"{result['by_length'][n]:.3f}" + ("*" if n == result["trained_length"] else "")
            for n in LENGTHS
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "lengths.md").write_text("\n".join(lines) + "\n")
    (args.out / "lengths.json").write_text(json.dumps(results, indent=2) + "\n")
    figure, axis = plt.subplots(figsize=(6.5, 3.8))
    for name, result in results.items():
        axis.plot(LENGTHS, [result["by_length"][n] for n in LENGTHS], marker="o", label=name)
    axis.axhline(0.99, color="tab:green", linestyle="--", label="solved (0.99)")
    axis.set_xscale("log")
    axis.set_xlabel("test sequence length (trained at 10; subsequence at 5)")
    axis.set_ylabel("test accuracy")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(args.out / "lengths.png", dpi=100)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
