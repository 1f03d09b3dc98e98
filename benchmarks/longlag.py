"""The long-time-lag table of Hochreiter & Schmidhuber (1997), rerun with the default LSTM.

    python -m benchmarks.longlag [--seeds 3] [--only 2a,4] [--threads 1] [--out results]

Every run goes through ``benchmarks.runner`` (``train()`` with the composed config of ``train.py``
and ``model=lstm``: the many-to-one LSTM, AdamW, gradient clipping 1.0), with the per-experiment
learning rate, batch size and hidden size below. Training stops at the first validation (every
``every`` training sequences, on the fixed 1000-sequence val set) that meets the problem's solved
criterion (``StopWhenSolved``), or at the run's time limit. "Sequences" is the number of training
sequences seen when the criterion was met (``solved_at_step * batch_size``); the best checkpoint
is then scored on a 2560-sequence test set, the size of the paper's test sets.

Writes ``results/longlag.json`` (every run) and ``results/longlag.md`` (the table and its notes).
The sizes are the paper's where a run fits this benchmark's budget (about 15 minutes on a 2-core
CPU), else the largest that fits; the notes give the command for the paper's size.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from benchmarks.longlag_report import markdown, table
from benchmarks.runner import Job, run_jobs

VAL_SAMPLES, TEST_SAMPLES = 1000, 2560


@dataclass(frozen=True)
class Experiment:
    """One row of the table: a problem at one size, the paper's figure and our settings."""

    key: str  # "2a", "4", "6b", ...
    title: str
    task: tuple[str, ...]  # task overrides of the size we run
    size: str  # the size we run
    paper_size: str
    paper_sequences: int  # training sequences until the paper's stopping criterion
    paper_table: str
    paper_wrong: str  # wrong test sequences reported by the paper, out of 2560
    lr: float
    batch: int
    hidden: int
    every: int  # training sequences between validations (the resolution of "sequences")
    seconds: int  # wall-time limit of one run
    full_size: tuple[str, ...] = field(default=())  # task overrides of the paper's size

    def overrides(self, model: tuple[str, ...] = ("model=lstm",)) -> list[str]:
        """``train.py`` overrides of one run (the runner adds the seed and the time limit)."""
        return [
            *self.task,
            *model,
            f"model.hidden_size={self.hidden}",
            f"model.lr={self.lr}",
            f"data.batch_size={self.batch}",
            f"data.train_samples={self.every}",
            f"data.val_samples={VAL_SAMPLES}",
            f"data.test_samples={TEST_SAMPLES}",
            f"data.eval_batch_size={TEST_SAMPLES // 2}",
            "trainer.max_steps=-1",
            "trainer.log_every_n_steps=100",
            "+trainer.enable_model_summary=false",
            "checkpoint.every_n_steps=0",
        ]

    def full_size_command(self) -> str:
        """``python train.py ...`` at the paper's size with our hyperparameters."""
        task = self.full_size or self.task
        settings = [
            f"model.hidden_size={self.hidden}",
            f"model.lr={self.lr}",
            f"data.batch_size={self.batch}",
            f"data.train_samples={self.every}",
            f"data.test_samples={TEST_SAMPLES}",
            "trainer.max_steps=-1",
        ]
        return "python train.py " + " ".join([*task, *settings])


EXPERIMENTS = [
    Experiment(
        key="2a", title="noise-free, long lag",
        task=("task=memorize_long", "task.variant=2a", "task.p=20"), size="p=20",
        paper_size="p=100", paper_sequences=5_040, paper_table="Table 2", paper_wrong="-",
        lr=0.01, batch=32, hidden=32, every=640, seconds=40,
        full_size=("task=memorize_long", "task.variant=2a", "task.p=100"),
    ),
    Experiment(
        key="2b", title="no local regularities",
        task=("task=memorize_long", "task.variant=2b", "task.p=20"), size="p=20",
        paper_size="p=100", paper_sequences=5_680, paper_table="Sec. 5.2 text", paper_wrong="-",
        lr=0.01, batch=32, hidden=32, every=640, seconds=40,
        full_size=("task=memorize_long", "task.variant=2b", "task.p=100"),
    ),
    Experiment(
        key="2c", title="very long lags, distractors",
        task=("task=memorize_long", "task.variant=2c", "task.p=20", "task.q=20"),
        size="q=p=20", paper_size="q=p=100", paper_sequences=31_000, paper_table="Table 3",
        paper_wrong="-", lr=0.01, batch=32, hidden=32, every=640, seconds=40,
        full_size=("task=memorize_long", "task.variant=2c", "task.p=100", "task.q=100"),
    ),
    Experiment(
        key="4", title="adding",
        task=("task=adding", "task.length=20"), size="T=20",
        paper_size="T=100", paper_sequences=74_000, paper_table="Table 7",
        paper_wrong="1 of 2560", lr=0.003, batch=32, hidden=32, every=1600, seconds=30,
        full_size=("task=adding", "task.length=100"),
    ),
    Experiment(
        key="5", title="multiplication",
        task=("task=multiply", "task.length=20"), size="T=20",
        paper_size="T=100", paper_sequences=482_000, paper_table="Table 8",
        paper_wrong="139 of 2560", lr=0.001, batch=16, hidden=64, every=1600, seconds=60,
        full_size=("task=multiply", "task.length=100"),
    ),
    Experiment(
        key="6a", title="temporal order, 2 symbols",
        task=("task=temporal_order", "task.num_relevant=2", "task.length=61",
              "task.vary_length=false"),
        size="length 61 (fixed)", paper_size="length 100-110", paper_sequences=31_390,
        paper_table="Table 9", paper_wrong="1 of 2560", lr=0.003, batch=32, hidden=32,
        every=640, seconds=25, full_size=("task=temporal_order", "task.num_relevant=2"),
    ),
    Experiment(
        key="6b", title="temporal order, 3 symbols",
        task=("task=temporal_order", "task.num_relevant=3", "task.length=77",
              "task.vary_length=false"),
        size="length 77 (fixed)", paper_size="length 100-110", paper_sequences=571_100,
        paper_table="Table 9", paper_wrong="2 of 2560", lr=0.003, batch=32, hidden=32,
        every=1600, seconds=40, full_size=("task=temporal_order", "task.num_relevant=3"),
    ),
]  # fmt: skip


def model_overrides(forget_bias: float | None) -> tuple[str, ...]:
    """The default LSTM, or (``--forget-bias``) the LSTM with its forget-gate biases set.

    Not the default model: ``init=forget_bias`` starts every forget gate near
    ``sigmoid(forget_bias)`` (``bias_ih = forget_bias``, ``bias_hh = 0``, see ``models/init.py``).
    """
    if forget_bias is None:
        return ("model=lstm",)
    return ("model=lstm", "model.init=forget_bias", f"model.forget_bias={forget_bias}")


def job(experiment: Experiment, seed: int, model: tuple[str, ...]) -> Job:
    """One seed of one experiment, under its time limit."""
    label = {"experiment": experiment.key}
    return Job(label, tuple(experiment.overrides(model)), seed, seconds=experiment.seconds)


def run_row(experiment: Experiment, row: dict[str, Any]) -> dict[str, Any]:
    """What the table needs from one run's row."""
    summary = row["summary"]
    solved_at = summary["solved_at_step"]
    accuracy = summary["test"]["test/accuracy"]
    return {
        "seed": row["seed"],
        "solved_on_val": solved_at is not None,
        "solved_on_test": summary["solved"],
        "sequences": None if solved_at is None else solved_at * experiment.batch,
        "samples_trained": summary["samples"],
        "steps": summary["steps"],
        "test_accuracy": accuracy,
        "test_wrong": round((1 - accuracy) * TEST_SAMPLES),
        "fit_seconds": summary["fit_seconds"],
        "seconds": round(row["seconds"], 1),
    }


def aggregate(experiment: Experiment, runs: list[dict[str, Any]]) -> dict[str, Any]:
    solved = [run["sequences"] for run in runs if run["solved_on_val"]]
    return {
        "solved": f"{len(solved)}/{len(runs)}",
        "median_sequences": statistics.median(solved) if solved else None,
        "min_sequences": min(solved) if solved else None,
        "max_sequences": max(solved) if solved else None,
        "median_test_wrong": statistics.median(run["test_wrong"] for run in runs),
        "median_seconds": statistics.median(run["seconds"] for run in runs),
        "trained_unsolved": [run["samples_trained"] for run in runs if not run["solved_on_val"]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.longlag")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated keys, e.g. 2a,4")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--name", default="longlag", help="output file names: NAME.md, NAME.json")
    parser.add_argument(
        "--paper-size", action="store_true", help="run every experiment at the paper's size"
    )
    parser.add_argument(
        "--seconds", type=int, default=None, help="time limit of each run (default: per row)"
    )
    parser.add_argument(
        "--forget-bias",
        type=float,
        default=None,
        help="not the default model: set the LSTM's forget-gate biases to this value",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    chosen = [e for e in EXPERIMENTS if not args.only or e.key in args.only.split(",")]
    if args.seconds is not None:
        chosen = [replace(e, seconds=args.seconds) for e in chosen]
    if args.paper_size:
        chosen = [replace(e, task=e.full_size, size=e.paper_size) for e in chosen]
    model = model_overrides(args.forget_bias)
    started, rows = time.perf_counter(), []
    jobs = [job(e, seed, model) for e in chosen for seed in range(args.seeds)]
    done = run_jobs(jobs, threads=args.threads, progress=lambda line: print(line, flush=True))
    for experiment in chosen:
        runs = [run_row(experiment, r) for r in done if r["experiment"] == experiment.key]
        rows.append(
            {
                "experiment": asdict(experiment),
                "full_size_command": experiment.full_size_command(),
                "aggregate": aggregate(experiment, runs),
                "runs": runs,
            }
        )
    total = time.perf_counter() - started
    report = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "threads": args.threads,
        },
        "argv": "".join(f" {arg}" for arg in (sys.argv[1:] if argv is None else argv)),
        "seeds": args.seeds,
        "model": " ".join(model),
        "forget_bias": args.forget_bias,
        "val_samples": VAL_SAMPLES,
        "test_samples": TEST_SAMPLES,
        "total_seconds": round(total, 1),
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / f"{args.name}.md").write_text(markdown(report))
    print(table(rows))
    print(f"total {total:.0f} s; wrote {args.out}/{args.name}.md and {args.name}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
