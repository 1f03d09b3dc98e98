"""A family's initialisations on the leaderboard's first sizes: the table that chose its default.

    python -m seqtasks.benchmarks.inits --model tcn --inits pytorch locuslab [--seeds 3]
        [--problems KEY ...] [--workers 2] [--engine dask --address ...] [--out results]

Every problem of the leaderboard at the first size of its ladder, run exactly as the board runs
it (``benchmarks/board.py``: its batch, its budget of 3,000 steps, validation every 100 steps, a
stop after two validations in a row meet the criterion, 1,000 validation and test sequences, the
one-hour guard), with ``model=MODEL model.init=INIT`` at the model's configured learning rate;
the board's scoring at longer lengths (``report.eval_lengths``) is left out: it decides nothing
here. Rows are saved as runs end (``--out/inits-MODEL.rows.jsonl``, keyed by job id) and a
rerun skips the jobs that have a row, so an interrupted comparison continues where it stopped.
Writes ``--out/inits-MODEL.{json,md}``: per problem and initialisation, the seeds solved and the
median steps of the solved seeds.

Example: ``python -m seqtasks.benchmarks.inits --model tcn --inits pytorch --problems echo
--seeds 1``: 1 run, the TCN on echo at lag 5, batch 32; its row, then the table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import seqtasks
import seqtasks.models
from seqtasks.benchmarks import board, engines, setups, store
from seqtasks.benchmarks.runner import Job, machine, run_jobs
from seqtasks.benchmarks.tables import grid, out_folder, write_results
from seqtasks.training.run import ConfigError, build_model, model_options

Row = dict[str, Any]


def jobs(model: str, inits: list[str], seeds: int, only: list[str]) -> list[Job]:
    """One job per problem (its first size), initialisation and seed, in the board's settings;
    problems whose framing the family does not serve (the TCN's seq2seq) are left out."""
    profile = board.BOARD
    serves = seqtasks.models.FAMILIES[model]  # framing -> class
    chosen = [
        problem
        for problem in board.problems(profile, warn=False)
        if (not only or problem.key in only) and problem.framing in (None, *serves)
    ]
    planned = []
    for seed in range(seeds):
        for problem in chosen:
            value = problem.values[0]
            for init in inits:
                label = {"model": model, "init": init, "problem": problem.key, "value": value}
                overrides = (*problem.overrides(value), f"model={model}", f"model.init={init}",
                             *profile.overrides())  # fmt: skip
                planned.append(Job(label, overrides, seed))
    return planned


def check(model: str, inits: list[str], seeds: int, only: list[str]) -> None:
    """Bad arguments, refused (``ValueError``) before any run starts."""
    if model not in seqtasks.models.FAMILIES:
        raise ValueError(f"--model {model!r}: allowed {sorted(seqtasks.models.FAMILIES)}")
    allowed = {option for family in seqtasks.models.FAMILIES[model].values()
               for option in model_options(family)}  # fmt: skip
    if "init" not in allowed:
        raise ValueError(f"--model {model!r} has no init option (it takes {sorted(allowed)})")
    if seeds < 1:
        raise ValueError(f"--seeds {seeds}: need at least 1")
    keys = [problem.key for problem in board.problems(board.BOARD, warn=False)]
    unknown = sorted(set(only) - set(keys))
    if unknown:
        raise ValueError(f"--problems {unknown}: allowed {keys}")
    if not inits:
        raise ValueError("--inits: give at least one")
    framing = next(f for f in seqtasks.models.FAMILIES[model] if f != "seq2seq")
    spec = seqtasks.make("memorize", length=5, framing=framing).spec
    for init in inits:  # the family's own check, on a small model
        try:
            build_model({"name": model, "init": init}, spec)
        except ConfigError as error:
            raise ValueError(f"--inits {init}: {error}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.inits")
    parser.add_argument("--model", required=True, help="a family with an init option, e.g. tcn")
    parser.add_argument("--inits", nargs="+", required=True, help="its model.init values")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--problems", nargs="+", default=[], metavar="KEY",
                        help="only these of the board's problems (default: all)")  # fmt: skip
    engines.add_arguments(parser)  # --engine, --address, --workers
    parser.add_argument("--out", type=out_folder, default=Path("results"))
    args = parser.parse_args(argv)
    try:
        check(args.model, args.inits, args.seeds, args.problems)
    except ValueError as error:
        parser.error(str(error))  # exit 2, with the usage line
    engine = engines.from_args(args, parser)
    planned = jobs(args.model, args.inits, args.seeds, args.problems)
    name = f"inits-{args.model}"
    saved = args.out / f"{name}.rows.jsonl"
    known = store.load([saved]) if saved.is_file() else {}
    try:
        setups.check_rows(known)  # before any run starts
    except setups.StaleRows as error:
        parser.error(str(error))
    args.out.mkdir(parents=True, exist_ok=True)

    def save(row: Row) -> None:
        with saved.open("a") as file:
            file.write(json.dumps({k: v for k, v in row.items() if k != "summary"}) + "\n")

    started = time.perf_counter()
    rows = run_jobs(planned, board.BOARD.run_seconds, known=known, on_row=save, errors="row",
                    **engine)  # fmt: skip
    wall = time.perf_counter() - started
    order = {job.label["problem"]: index for index, job in enumerate(planned)}
    rows.sort(key=lambda row: (order[row["problem"]], args.inits.index(row["init"]), row["seed"]))
    table = grid(rows, lambda row: f"{row['problem']} ({row['value']})",
                 lambda row: f"init={row['init']}", "problem (first size)")  # fmt: skip
    command = (f"python -m seqtasks.benchmarks.inits --model {args.model} --inits "
               f"{' '.join(args.inits)} --seeds {args.seeds}"
               + (f" --problems {' '.join(args.problems)}" if args.problems else ""))  # fmt: skip
    solved = {init: sum(row["solved"] for row in rows if row["init"] == init)
              for init in args.inits}  # fmt: skip
    total = {init: sum(row["init"] == init for row in rows) for init in args.inits}
    ran = sum(row["job_id"] not in known for row in rows)
    text = (f"# model={args.model}: initialisations on the leaderboard's first sizes\n\n"
            f"`{command}`: {len(rows)} runs ({ran} run by this call, {wall / 60:.0f} min, "
            f"{args.workers} at once, 1 torch thread each, on "
            f"{machine()['cpu_count']} shared CPU cores). A cell: seeds solved, then the median "
            "steps and wall seconds of the solved seeds. Solved in all: "
            + ", ".join(f"init={init} {solved[init]}/{total[init]}" for init in args.inits)
            + f".\n\n{table}\n")  # fmt: skip
    write_results(args.out, name, text, {"machine": machine(), "command": command,
                  "runs": rows})  # fmt: skip


if __name__ == "__main__":
    main()
