"""Wall time of ``python train.py task=NAME`` with the defaults, start-up included.

    python -m seqtasks.benchmarks.time_to_solve [--tasks ramp memorize ...]
        [--out results/time_to_solve.md]

Each problem runs as its own subprocess (as a user would run it,
``seqtasks.benchmarks.runner.run_command``)
into a temporary run directory; the table gives the wall seconds of the whole command and what its
summary.json says.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

import seqtasks
from seqtasks.benchmarks.runner import Job, run_command

DEFAULT_TASKS = ["ramp", "memorize", "echo", "subsequence", "classify"]


def time_one(task: str, overrides: list[str]) -> dict:
    """``python train.py task=TASK *overrides`` in a subprocess: its summary and wall seconds."""
    row = run_command(Job({"task": task}, (f"task={task}", *overrides)))
    return {**row["summary"], "task": task, "wall": row["seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS, choices=seqtasks.available())
    parser.add_argument("--out", type=Path, help="also write the table to this markdown file")
    parser.add_argument("overrides", nargs="*", help="extra train.py overrides for every run")
    args = parser.parse_args()
    lines = [
        f"Machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; `python -m seqtasks.benchmarks.time_to_solve`",
        "",
        "| problem | framing | model | solved | test metric | steps | sequences | train s "
        "| wall s (whole command) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task in args.tasks:
        row = time_one(task, args.overrides)
        metric = f"test/{row['metric']}"
        lines.append(
            f"| {task} | {row['framing']} | {row['model']} | "
            f"{'yes' if row['solved'] else 'no'} | {metric} = {row['test'][metric]:.4g} | "
            f"{row['steps']} | {row['samples']:,} | {row['fit_seconds']:.1f} | "
            f"{row['wall']:.1f} |"
        )
        print(lines[-1], flush=True)
    table = "\n".join(lines)
    print("\n" + table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
