"""One prepared measurement of training and data on the device present (``cuda`` if available,
else ``cpu``), in one process, within a time budget (default 400 s: under 8 minutes with start-up).

    python -m seqtasks.benchmarks.device [--out results] [--budget SECONDS] [--quick]

``--quick`` scales the work down for a CPU test (smaller batches and lengths, 90 s).

Writes ``device-gpu.md`` / ``device-gpu.json`` on CUDA (``device-cpu.*`` on the CPU) into
``--out``, after every section (a run cut short keeps what it measured). Sections, in order, with
their share of the budget:

- ``data`` (10%): samples/s of every problem in ``seqtasks.available()`` at its default options,
  batches of 1024 and 8192 generated on the device (``device=``), through
  ``DataLoader(batch_size=None)``; one batch checked for host syncs.
- ``training`` (35%): steps/s of a plain loop (forward, loss, backward, gradient clipping 1.0,
  the model's optimiser step) for every family in ``models.FAMILIES`` at T = 100 and 1000, batch
  32 and 256, on fresh batches generated on the device; one step checked for host syncs.
- ``paper_4`` (25%): ``python train.py experiment=paper_4 trainer=gpu seed=N`` (``trainer=cpu``
  on the CPU) for seeds 0 and 1 through ``seqtasks.benchmarks.runner.run_jobs``.
- ``time_to_solve`` (30%): ``python train.py task=NAME trainer=gpu`` for the five problems of
  the specification (``seqtasks.benchmarks.time_to_solve.time_one``, a subprocess each).

Each section ends by its deadline: the start plus the budget shares of it and the sections before
(time a section leaves flows to the next). Work that would start after the deadline, or that is
predicted to overrun it, is not run and is listed as cut, with the reason, in both files.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

import seqtasks
from seqtasks import models
from seqtasks.benchmarks.device_report import environment, write_report
from seqtasks.benchmarks.device_runs import paper4_section, tts_section
from seqtasks.benchmarks.device_timing import (
    Section,
    error_message,
    gpu_form,
    host_syncs,
    optimizer_of,
    step_syncs,
    time_calls,
    training_step,
)
from seqtasks.benchmarks.runner import compose_config
from seqtasks.benchmarks.tables import command_line, out_folder
from seqtasks.models.size import num_parameters
from seqtasks.training.run import build_model


@dataclass(frozen=True)
class Plan:
    """The work asked for: the budget in seconds, data batch sizes, training lengths and batches."""

    budget: float
    data_batches: tuple[int, ...]
    lengths: tuple[int, ...]
    train_batches: tuple[int, ...]


SECTIONS = {"data": 0.10, "training": 0.35, "paper_4": 0.25, "time_to_solve": 0.30}
FULL = Plan(400.0, data_batches=(1024, 8192), lengths=(100, 1000), train_batches=(32, 256))
QUICK = Plan(90.0, data_batches=(256, 1024), lengths=(20, 100), train_batches=(8, 32))  # a test
CLIP = 1.0  # train.py's trainer.gradient_clip_val
EPOCH = 10**12  # samples per epoch: more than any measurement reads
# the problem each framing trains on in the training section, its length set to T
FRAMING_TASKS = {
    "many_to_one": ("adding", {"vary_length": False}),
    "one_to_one": ("classify", {}),
    "seq2seq": ("subsequence", {"framing": "seq2seq"}),
}
STEPS_PER_CELL = 5  # a training cell's calls at the least: 2 warm-up, 2 timed, 1 checked


def _next_batch(dataset: seqtasks.SequenceTask) -> Callable[[], int]:
    """A call that takes the next batch of ``dataset`` (a DataLoader of whole batches) and returns
    its size."""
    batches = iter(DataLoader(dataset, batch_size=None))
    return lambda: len(next(batches)[1])


def data_section(
    plan: Plan, device: torch.device, section: Section, log: Callable[[str], None]
) -> None:
    """Samples/s of every problem's default batches generated on ``device``."""
    cells = [(name, batch) for batch in plan.data_batches for name in seqtasks.available()]
    share = section.budget / len(cells)
    for index, (name, batch) in enumerate(cells):
        if section.left() <= 0:
            section.cut_rest([f"{n} batch {b}" for n, b in cells[index:]], "section deadline")
            return
        row: dict[str, Any] = {"problem": name, "batch": batch}
        try:
            dataset = seqtasks.make(name, batch_size=batch, num_samples=EPOCH, device=device)
            timing = time_calls(_next_batch(dataset), device, min(share, section.left()))
            with gpu_form():  # the tensor form's one-off set-up, as the warm-up on a GPU
                _next_batch(dataset)()
            check_batch = _next_batch(dataset)  # a fresh iterator: its first batch is made anew
            with host_syncs(device) as check:
                check_batch()
            row.update(samples_per_s=round(timing.pop("items_per_s")), **timing,
                       host_syncs=check.found)  # fmt: skip
        except Exception as error:  # a problem that cannot make such batches: said in its row
            row["error"] = error_message(error)
        section.rows.append(row)
        log(f"data {name} batch {batch}: {row.get('samples_per_s', row.get('error'))}")


def model_config(family: str) -> tuple[dict[str, Any], str]:
    """The family's ``training/conf/model`` options (or its class defaults) and where they came
    from."""
    try:
        cfg = compose_config([f"model={family}"])
    except Exception:  # no config file for this family
        return {"name": family}, "class defaults (no config file)"
    return OmegaConf.to_container(cfg.model, resolve=True), f"model={family}"


def training_cells(plan: Plan) -> list[tuple[str, int, int]]:
    """(family, T, batch) of every family registered now, smallest sizes first."""
    return [(family, length, batch) for length in plan.lengths for batch in plan.train_batches
            for family in models.FAMILIES]  # fmt: skip


def train_cell(device: torch.device, family: str, length: int, batch: int, seconds: float
               ) -> dict[str, Any]:  # fmt: skip
    """Steps/s of one family at length ``length`` and ``batch`` sequences per step."""
    serves = models.FAMILIES[family]
    framing = next((f for f in FRAMING_TASKS if f in serves), None)
    row: dict[str, Any] = {"family": family, "length": length, "batch": batch}
    if framing is None:
        row["error"] = f"serves {list(serves)}, none of {list(FRAMING_TASKS)}"
        return row
    task, options = FRAMING_TASKS[framing]
    config, source = model_config(family)
    row.update(framing=framing, task=task, config=source)
    dataset = seqtasks.make(task, length=length, **options, batch_size=batch, num_samples=EPOCH,
                            device=device)  # fmt: skip
    torch.manual_seed(0)
    model = build_model(config, dataset.spec).to(device)
    model.train()
    optimizer = optimizer_of(model)
    step = training_step(model, optimizer, iter(dataset), CLIP)
    timing = time_calls(step, device, seconds, min_calls=2, max_calls=50)
    row.update(model=model.display_name, parameters=num_parameters(model),
               steps_per_s=round(timing.pop("calls_per_s"), 2),
               sequences_per_s=round(timing.pop("items_per_s")), **timing,
               host_syncs=step_syncs(step, optimizer, device))  # fmt: skip
    return row


def training_section(
    plan: Plan, device: torch.device, section: Section, log: Callable[[str], None]
) -> None:
    """Steps/s of every family, smallest cells first; a cell predicted to overrun is cut."""
    cells = training_cells(plan)
    share = section.budget / len(cells)
    last: dict[str, tuple[float, int, int]] = {}  # family -> (seconds per step, T, batch)
    for index, (family, length, batch) in enumerate(cells):
        name = f"{family} T={length} batch {batch}"
        if section.left() <= 0:
            section.cut_rest([f"{f} T={t} batch {b}" for f, t, b in cells[index:]],
                             "section deadline")  # fmt: skip
            return
        if family in last:  # scaled from the family's last cell: linear in T and batch
            per_step, t0, b0 = last[family]
            predicted = STEPS_PER_CELL * per_step * (length / t0) * (batch / b0)
            if predicted > section.left():
                section.cut.append(f"{name}: predicted {predicted:.1f} s > "
                                   f"{section.left():.1f} s left")  # fmt: skip
                continue
        try:
            row = train_cell(device, family, length, batch, min(share, section.left()))
        except Exception as error:  # a family that cannot train here: said in its row
            row = {
                "family": family,
                "length": length,
                "batch": batch,
                "error": error_message(error),
            }
        if "steps_per_s" in row:
            last[family] = (1.0 / row["steps_per_s"], length, batch)
        section.rows.append(row)
        log(f"training {name}: {row.get('steps_per_s', row.get('error'))} steps/s")


RUNNERS: dict[str, Callable[..., None]] = {
    "data": data_section,
    "training": training_section,
    "paper_4": lambda plan, *args: paper4_section(*args),
    "time_to_solve": lambda plan, *args: tts_section(*args),
}


def run_all(plan: Plan, out: Path, command: str, log: Callable[[str], None]) -> dict[str, Any]:
    """Every section on the device present; the report is rewritten after each section."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    started, done, budget = time.perf_counter(), 0.0, plan.budget
    result: dict[str, Any] = {"command": command, "budget_s": budget,
                              "plan": {**plan.__dict__, "shares": SECTIONS},
                              "environment": environment(device), "sections": {}}  # fmt: skip
    for name, share in SECTIONS.items():
        done += share
        section = Section(name, share * budget, started + done * budget)
        log(f"== {name}: budget {section.budget:.0f} s, {section.left():.0f} s allowed")
        RUNNERS[name](plan, device, section, log)
        result["sections"][name] = section.summary()
        result["wall_s"] = round(time.perf_counter() - started, 1)
        result["complete"] = len(result["sections"]) == len(SECTIONS)
        write_report(result, out)
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.device",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--out", type=out_folder, default=Path("results"), help="output directory")
    parser.add_argument("--budget", type=float,
                        help=f"seconds for all sections (default {FULL.budget:g}; --quick "
                        f"{QUICK.budget:g})")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help=f"smaller work for a CPU test: data batches {QUICK.data_batches}, T "
                        f"{QUICK.lengths}, training batches {QUICK.train_batches}")  # fmt: skip
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.budget is not None:
        if not 0 < args.budget < math.inf:
            parser.error(f"--budget={args.budget}: allowed a finite number of seconds > 0")
        plan = replace(plan, budget=args.budget)
    command = command_line("seqtasks.benchmarks.device", argv)
    result = run_all(plan, args.out, command, lambda line: print(line, file=sys.stderr,
                                                                    flush=True))  # fmt: skip
    print(f"wrote {result['files']['md']} and {result['files']['json']} in {result['wall_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
