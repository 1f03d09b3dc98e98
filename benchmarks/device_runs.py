"""The sections of ``seqtasks.benchmarks.device`` that train to a criterion: ``paper_4`` through
the runner (in this process) and ``time_to_solve`` (a ``train.py`` subprocess per problem)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from seqtasks.benchmarks import time_to_solve
from seqtasks.benchmarks.device_timing import Section, error_message
from seqtasks.benchmarks.runner import Job, max_time, run_jobs

PAPER_SEEDS = (0, 1)
RUN_OVERHEAD_S = {"paper_4": 8.0, "time_to_solve": 12.0}  # besides max_time: start-up and tests
MIN_FIT_S = 3.0  # a run is not started with less max_time than this


def runs_in_turn(
    section: Section, names: list[Any], run: Callable[[Any, float], dict[str, Any]], label: str
) -> None:
    """Runs one after another, each with an equal share of the time left as its max_time
    (minus the start-up and test overhead); those that do not fit are cut. The overhead is the
    section's default or, once larger, the largest a run has shown (its ``overhead_s``)."""
    overhead = RUN_OVERHEAD_S[section.name]
    for index, name in enumerate(names):
        fit = int(section.left() // (overhead + MIN_FIT_S))
        if fit < 1:
            left = max(0.0, section.left())
            section.cut_rest(
                [f"{label} {n}" for n in names[index:]],
                f"{left:.0f} s left, a run needs {overhead + MIN_FIT_S:.0f} s",
            )
            return
        limit = section.left() / min(fit, len(names) - index) - overhead
        row = run(name, limit)
        overhead = max(overhead, row.get("overhead_s") or 0.0)
        section.rows.append(row)


def paper4_section(device: torch.device, section: Section, log: Callable[[str], None]) -> None:
    """``experiment=paper_4`` for each seed through the runner, in this process."""
    trainer = "gpu" if device.type == "cuda" else "cpu"

    def run(seed: int, limit: float) -> dict[str, Any]:
        job = Job({"experiment": "paper_4"}, ("experiment=paper_4", f"trainer={trainer}"),
                  seed=seed, seconds=limit)  # fmt: skip
        row = run_jobs([job], threads=torch.get_num_threads(), progress=log, errors="row")[0]
        summary = row.pop("summary") or {}
        row.update(command=f"python train.py experiment=paper_4 trainer={trainer} seed={seed} "
                           f"trainer.max_time={max_time(limit)}",
                   solved_at_step=summary.get("solved_at_step"),
                   fit_seconds=summary.get("fit_seconds"))  # fmt: skip
        if row["fit_seconds"] is not None:  # building, final validation and test
            row["overhead_s"] = round(row["seconds"] - row["fit_seconds"], 2)
        return row

    runs_in_turn(section, list(PAPER_SEEDS), run, "seed")


def tts_section(device: torch.device, section: Section, log: Callable[[str], None]) -> None:
    """``python train.py task=NAME`` for the specification's problems, a subprocess each."""
    trainer = "gpu" if device.type == "cuda" else "cpu"

    def run(task: str, limit: float) -> dict[str, Any]:
        overrides = [f"trainer={trainer}", f"trainer.max_time={max_time(limit)}"]
        row: dict[str, Any] = {
            "task": task,
            "command": f"python train.py task={task} {' '.join(overrides)}",
        }
        try:
            summary = time_to_solve.time_one(task, overrides)
        except Exception as error:
            row["error"] = error_message(error)
            return row
        metric = f"test/{summary['metric']}"
        row.update(model=summary["model"], solved=summary["solved"], steps=summary["steps"],
                   sequences=summary["samples"], test_metric=metric,
                   test_value=summary["test"][metric], fit_seconds=summary["fit_seconds"],
                   wall_seconds=round(summary["wall"], 2),
                   overhead_s=round(summary["wall"] - summary["fit_seconds"], 2))  # fmt: skip
        log(f"time_to_solve {task}: solved={row['solved']} wall {row['wall_seconds']} s")
        return row

    runs_in_turn(section, list(time_to_solve.DEFAULT_TASKS), run, "task")
