"""The long-time-lag table of Hochreiter & Schmidhuber (1997): the presets, at the paper's sizes.

    python -m seqtasks.benchmarks.longlag [--seeds 5] [--only paper_4,paper_6a] [--workers 2]
        [--resume]

Each row is a preset of ``training/conf/experiment`` (``python train.py experiment=paper_4``), the
paper's task at the paper's size with our recipe; each run goes through
``seqtasks.benchmarks.runner`` (``train()`` with the composed config, quietly). A run stops at the
first validation that meets the problem's criterion, or at the preset's ``trainer.max_time``;
"sequences" is ``summary["samples"]``,
the training sequences seen until it stopped. The checkpoint that solved is then scored on the
preset's 2,560 test sequences, the size of the paper's test sets. ``copy_t1000`` (copy memory at
T=1000, Bai et al. 2018) is reported as a loss beside the TCN paper's table.

Writes ``results/longlag.json`` (every run) and ``results/longlag.md``; rows are saved as runs end
(``results/longlag.partial.jsonl``), so ``--resume`` carries on after an interruption.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqtasks.benchmarks import engines
from seqtasks.benchmarks.longlag_report import markdown
from seqtasks.benchmarks.runner import Job, compose_config, machine, run_jobs
from seqtasks.benchmarks.tables import command_line, out_folder, require_positive, write_json


@dataclass(frozen=True)
class Paper:
    """One preset and what the paper reports for it."""

    preset: str  # experiment config name
    title: str
    size: str  # the paper's size, which the preset runs
    sequences: int | None  # training sequences until the paper's criterion (None: a loss)
    source: str  # figure / table
    wrong: str  # wrong test sequences of 2,560 the paper reports


PAPER = [
    Paper("paper_2a", "2a: noise-free, long lag", "p=100", 5_040, "Table 2", "-"),
    Paper("paper_2b", "2b: no local regularities", "p=100", 5_680, "Sec. 5.2", "-"),
    Paper("paper_2c", "2c: very long lags, distractors", "q=p=100", 31_000, "Table 3", "-"),
    Paper("paper_4", "4: adding", "T=100", 74_000, "Table 7", "1"),
    Paper("paper_4_t500", "4: adding", "T=500", 209_000, "Table 7", "0"),
    Paper("paper_4_t1000", "4: adding", "T=1000", 853_000, "Table 7", "1"),
    Paper("paper_5", "5: multiplication", "T=100", 482_000, "Table 8", "139"),
    Paper("paper_6a", "6a: temporal order, 2 symbols", "T=100-110", 31_390, "Table 9", "1"),
    Paper("paper_6b", "6b: temporal order, 3 symbols", "T=100-110", 571_100, "Table 9", "2"),
]
COPY = Paper("copy_t1000", "copy memory (Bai et al. 2018)", "T=1000", None, "TCN Table 1", "-")
COPY_TCN = Paper("copy_t1000_tcn", "copy memory, TCN", "T=1000", None, "TCN Table 1", "-")
PRESETS = {paper.preset: paper for paper in [*PAPER, COPY, COPY_TCN]}


def recipe(preset: str) -> dict[str, Any]:
    """The preset's model and training settings, read from its composed config."""
    cfg = compose_config([f"experiment={preset}"])
    model = cfg.model
    size = model.get("hidden_size")
    if model.name == "tcn":  # levels x channels, kernel
        size = f"{model.num_levels}x{model.channels}, kernel {model.kernel_size}"
    return {
        "model": model.name,
        "init": model.get("init"),
        "hidden_size": size,
        "optimizer": model.get("optimizer", "adamw"),
        "lr": model.lr,
        "batch_size": cfg.data.batch_size,
        "gradient_clip_val": cfg.trainer.gradient_clip_val,
        "validate_every": cfg.data.train_samples,
        "val_samples": cfg.data.val_samples,
        "test_samples": cfg.data.test_samples,
        "max_time": cfg.trainer.max_time,
    }


def run_row(row: dict[str, Any], test_samples: int) -> dict[str, Any]:
    """What the table needs from one runner row."""
    summary = row["summary"] or {"test": {}}
    right = row["test_metric"]
    return {
        "preset": row["preset"],
        "seed": row["seed"],
        "solved": row["stopped"]
        == "solved",  # the paper's kind of criterion: met, training stopped
        "test_solved": row["solved"],  # and the test set met it too (the paper: test errors beside)
        "stopped": row["stopped"],
        "sequences": row["sequences"],
        "steps": row["steps"],
        "test_metric": right,
        "test_wrong": None if right is None else round((1 - right) * test_samples),
        "test_loss": summary["test"].get("test/loss"),
        "seconds": row["seconds"],
        "time_limit": row.get("time_limit"),  # --seconds, or None: the preset's max_time
        **({"error": row["error"]} if "error" in row else {}),
    }


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Seeds solved, sequences (median, range) over the solved seeds, medians of the rest."""
    solved = [run["sequences"] for run in runs if run["stopped"] == "solved"]
    scored = [run for run in runs if run["test_metric"] is not None]
    return {
        "solved": len(solved),
        "runs": len(runs),
        "median_sequences": statistics.median(solved) if solved else None,
        "min_sequences": min(solved, default=None),
        "max_sequences": max(solved, default=None),
        "unsolved_sequences": [run["sequences"] for run in runs if run["stopped"] != "solved"],
        "median_test_wrong": statistics.median(r["test_wrong"] for r in scored) if scored else None,
        "median_test_loss": statistics.median(r["test_loss"] for r in scored) if scored else None,
        "test_losses": [r["test_loss"] for r in scored],
        "test_metrics": [r["test_metric"] for r in scored],
        "median_seconds": statistics.median(run["seconds"] for run in runs),
        "all_seconds": [run["seconds"] for run in runs],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.longlag")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--only", default="", help=f"comma-separated presets, of {list(PRESETS)}")
    engines.add_arguments(parser)  # --engine, --address, --workers
    parser.add_argument("--out", type=out_folder, default=Path("results"))
    parser.add_argument("--seconds", type=float, default=None,
                        help="time limit of each run (default: the preset max_time)")  # fmt: skip
    parser.add_argument("--resume", action="store_true", help="skip the runs already in "
                        "--out/longlag.partial.jsonl (written as runs end)")  # fmt: skip
    parser.add_argument("--table-only", action="store_true", help="run nothing: write the table "
                        "from the runs saved in --out/longlag.partial.jsonl")  # fmt: skip
    args = parser.parse_args(argv)
    require_positive(parser, args, "seeds", "seconds")
    # bad engine options end here, before any file is touched
    engine = engines.from_args(args, parser)
    args.resume = args.resume or args.table_only
    chosen = [p for p in PRESETS if not args.only or p in args.only.split(",")]
    unknown = set(args.only.split(",")) - set(PRESETS) - {""}
    if unknown:
        parser.error(f"--only: unknown preset(s) {sorted(unknown)}; allowed: {list(PRESETS)}")
    if not chosen:
        parser.error(f"--only={args.only!r}: no preset named; allowed: {list(PRESETS)}")
    partial = args.out / "longlag.partial.jsonl"
    if args.table_only and not partial.is_file():
        parser.error(f"--table-only: no saved runs in {partial} (run without it first)")
    recipes = {preset: recipe(preset) for preset in chosen}
    limit = {"time_limit": args.seconds}  # kept in each row: a table may mix runs of two calls
    jobs = [Job({"preset": p}, (f"experiment={p}",), seed, seconds=args.seconds, extra=limit)
            for p in chosen for seed in range(args.seeds)]  # fmt: skip
    finished: list[dict[str, Any]] = []
    if args.resume and partial.is_file():
        finished = [json.loads(line) for line in partial.read_text().splitlines()]
        for run in finished:  # rows saved before "solved" meant "met the criterion and stopped"
            run.setdefault("test_solved", run["solved"])
            run["solved"] = run["stopped"] == "solved"
        ran = {(row["preset"], row["seed"]) for row in finished}
        jobs = [job for job in jobs if (job.label["preset"], job.seed) not in ran]
    else:
        partial.unlink(missing_ok=True)
    jobs = [] if args.table_only else jobs
    finished = [run for run in finished if run["preset"] in chosen]
    args.out.mkdir(parents=True, exist_ok=True)

    def save(row: dict[str, Any]) -> None:
        with partial.open("a") as file:
            test_samples = recipes[row["preset"]]["test_samples"]
            file.write(json.dumps(run_row(row, test_samples)) + "\n")

    started = time.perf_counter()
    new = run_jobs(jobs, errors="row", on_row=save, **engine)
    wall = time.perf_counter() - started
    runs = finished + [run_row(row, recipes[row["preset"]]["test_samples"]) for row in new]
    previous = args.out / "longlag.json"
    kept = json.loads(previous.read_text()) if previous.is_file() else {}
    if "runs" in kept and "recipes" in kept:  # keep the rows of presets not rerun
        runs = [run for run in kept["runs"] if run["preset"] not in chosen] + runs
        recipes = {**kept["recipes"], **recipes}
    runs.sort(key=lambda run: (list(PRESETS).index(run["preset"]), run["seed"]))
    for run in runs:  # the limit a preset's runs had, where --seconds replaced its max_time
        if run.get("time_limit") is not None:
            recipes[run["preset"]]["max_time"] = f"{run['time_limit']:g} s (--seconds)"
    presets = [p for p in PRESETS if any(run["preset"] == p for run in runs)]
    rows = [{"paper": PRESETS[p].__dict__, "recipe": recipes[p],
             "aggregate": aggregate([run for run in runs if run["preset"] == p])}
            for p in presets]  # fmt: skip
    report = {"machine": machine(), "seeds": args.seeds, "workers": args.workers,
              "command": command_line("seqtasks.benchmarks.longlag", argv),
              "wall_seconds": round(wall), "run_seconds": round(sum(r["seconds"] for r in runs)),
              "recipes": recipes, "rows": rows,
              "runs": runs}  # fmt: skip
    write_json(previous, report)
    (args.out / "longlag.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
