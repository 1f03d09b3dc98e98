"""Wall time of ``python train.py task=NAME`` with the defaults, start-up included.

    python -m seqtasks.benchmarks.time_to_solve [--tasks ramp memorize ...]
        [--out results/time_to_solve.md]

Each problem runs as its own subprocess (as a user would run it, :func:`run_command`) into a
temporary run directory; the table gives the wall seconds of the whole command and what its
summary.json says.
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
from typing import Any

import torch
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

import seqtasks
from seqtasks.benchmarks.runner import Job, compose_config, max_time, summary_row
from seqtasks.benchmarks.tables import command_line, compose_message, out_file

DEFAULT_TASKS = ["ramp", "memorize", "echo", "subsequence", "classify"]


def run_command(job: Job, seconds: float | None = None) -> dict[str, Any]:
    """Run one job as ``python -m seqtasks.training.cli ...`` (``train.py``'s command line, from
    the installed package) in a subprocess, as a user would; its row, with ``seconds`` the wall
    time of the whole command (start-up, imports and the final test). It runs in its own run
    directory, so it works from an installed wheel as from a checkout, and a folder named
    ``seqtasks`` in the caller's working directory cannot shadow the installed package."""
    limit = job.seconds if job.seconds is not None else seconds
    with tempfile.TemporaryDirectory(prefix="seqtasks-run-") as run_dir:
        command = [sys.executable, "-m", "seqtasks.training.cli", f"seed={job.seed}",
                   *job.overrides, f"hydra.run.dir={run_dir}",
                   "trainer.enable_progress_bar=false"]  # fmt: skip
        if limit is not None:
            command.append(f"trainer.max_time={max_time(limit)}")
        started = time.perf_counter()
        done = subprocess.run(command, cwd=run_dir, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
        summary = json.loads((Path(run_dir) / "summary.json").read_text())
    stopped = "ended" if summary["solved_at_step"] is None else "solved"
    return summary_row(job, summary, wall, stopped)


def time_one(task: str, overrides: list[str]) -> dict:
    """``python train.py task=TASK *overrides`` in a subprocess: its summary and wall seconds."""
    row = run_command(Job({"task": task}, (f"task={task}", *overrides)))
    return {**row["summary"], "task": task, "wall": row["seconds"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.time_to_solve",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS, choices=seqtasks.available())
    parser.add_argument("--out", type=out_file, help="also write the table to this markdown file")
    parser.add_argument("overrides", nargs="*", help="extra train.py overrides for every run")
    args = parser.parse_args(argv)
    for task in args.tasks:  # an unknown key or model ends here, before the first run
        try:
            compose_config([f"task={task}", *args.overrides])
        except (HydraException, OmegaConfBaseException) as error:
            message = compose_message(error)
            parser.error(f"overrides {' '.join(args.overrides)}: task={task}: {message}")
    threads, load = torch.get_num_threads(), os.getloadavg()[0]  # a shared machine's other work
    lines = [
        f"Machine: {os.cpu_count()} CPU cores (load average {load:.1f} at the start), torch "
        f"{torch.__version__}, {threads} thread{'s' if threads != 1 else ''}; "
        f"`{command_line('seqtasks.benchmarks.time_to_solve', argv)}`",
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
