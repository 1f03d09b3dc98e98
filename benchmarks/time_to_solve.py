"""Wall time of ``python train.py task=NAME`` with the defaults, start-up included.

    python -m benchmarks.time_to_solve [--tasks ramp memorize ...] [--out results/time_to_solve.md]

Each problem runs as its own subprocess (as a user would run it) into a temporary run directory;
the table gives the wall seconds of the whole command and what its summary.json says.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import seqtasks

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TASKS = ["ramp", "memorize", "echo", "subsequence", "classify"]


def time_one(task: str, run_dir: Path, overrides: list[str]) -> dict:
    command = [sys.executable, "train.py", f"task={task}", f"hydra.run.dir={run_dir}",
               "trainer.enable_progress_bar=false", *overrides]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    summary = json.loads((run_dir / "summary.json").read_text())
    return {"task": task, "wall": wall, **summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS, choices=seqtasks.available())
    parser.add_argument("--out", type=Path, help="also write the table to this markdown file")
    parser.add_argument("overrides", nargs="*", help="extra train.py overrides for every run")
    args = parser.parse_args()
    lines = [
        f"Machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; `python -m benchmarks.time_to_solve`",
        "",
        "| problem | framing | model | solved | test metric | steps | sequences | train s "
        "| wall s (whole command) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks:
            row = time_one(task, Path(tmp) / task, args.overrides)
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
