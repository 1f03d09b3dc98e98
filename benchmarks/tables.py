"""Tables of runner rows: seeds solved, median steps and seconds, as markdown."""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

Row = dict[str, Any]


def group(rows: Iterable[Row], key: Callable[[Row], Any]) -> dict[Any, list[Row]]:
    """Rows by ``key(row)``, in first-seen order."""
    groups: dict[Any, list[Row]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return groups


def outcome(runs: list[Row]) -> dict[str, Any]:
    """Seeds solved and medians over the solved seeds (steps, sequences, seconds)."""
    solved = [run for run in runs if run["solved"]]
    median = (lambda name: statistics.median(run[name] for run in solved)) if solved else None
    return {
        "solved": len(solved),
        "runs": len(runs),
        "steps": median("steps") if median else None,
        "sequences": median("sequences") if median else None,
        "seconds": median("seconds") if median else None,
        "max_steps_unsolved": max(
            (run["steps"] for run in runs if not run["solved"]), default=None
        ),
    }


def cell(runs: list[Row]) -> str:
    """``2/3: 150 steps, 12 s`` (medians of the solved seeds), or ``0/3 (>= 700 steps)``."""
    o = outcome(runs)
    head = f"{o['solved']}/{o['runs']}"
    if not o["solved"]:
        return f"{head} (unsolved at {o['max_steps_unsolved']:,} steps)"
    return f"{head}: {o['steps']:,.0f} steps, {o['seconds']:.0f} s"


def grid(rows: list[Row], row_key: Callable[[Row], str], column_key: Callable[[Row], str],
         corner: str, cell_text: Callable[[list[Row]], str] = cell) -> str:  # fmt: skip
    """Markdown table: one line per ``row_key``, one column per ``column_key``, runs in cells
    (written by ``cell_text``, :func:`cell` unless given)."""
    columns = list(group(rows, column_key))
    lines = [f"| {corner} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, runs in group(rows, row_key).items():
        by_column = group(runs, column_key)
        cells = [cell_text(by_column[c]) if c in by_column else "-" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table: the header, its rule, one line per row of cell texts."""
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """``payload`` as indented JSON, without each row's full summary."""
    slim = dict(payload)
    if "runs" in slim:
        slim["runs"] = [{k: v for k, v in row.items() if k != "summary"} for row in slim["runs"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(slim, indent=1) + "\n")


def write_results(out: Path, name: str, text: str, payload: dict[str, Any]) -> None:
    """A benchmark's results: ``out/NAME.md`` (``text``, also printed) and ``out/NAME.json``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(text)
    write_json(out / f"{name}.json", payload)
    print(text)


def in_turn(
    ways: dict[str, Callable[[], object]],
    rounds: int,
    calls: int = 1,
    before: Callable[[], object] | None = None,
) -> dict[str, float]:
    """Median seconds a call of each way, the ways timed in turn (so they meet the same machine
    load) for ``rounds`` rounds of ``calls`` calls, after a warm-up round; ``before`` runs,
    untimed, before each way's turn."""
    times: dict[str, list[float]] = {name: [] for name in ways}
    for round_ in range(rounds + 1):  # round 0 warms up
        for name, way in ways.items():
            if before is not None:
                before()
            started = time.perf_counter()
            for _ in range(calls):
                way()
            if round_:
                times[name].append((time.perf_counter() - started) / calls)
    return {name: statistics.median(values) for name, values in times.items()}


def command_line(module: str, argv: list[str] | None = None) -> str:
    """The command a table names, as typed: ``python -m MODULE`` and ``argv`` (the process's own
    arguments when None)."""
    return " ".join([f"python -m {module}", *(sys.argv[1:] if argv is None else argv)])


def _first_existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (the current folder at worst)."""
    return next((p for p in (path, *path.parents) if p.exists()), Path("."))


def out_folder(text: str) -> Path:
    """argparse ``type`` of a benchmark's ``--out`` folder: refused, before anything is measured,
    where it or a folder above it is a file (the results would be lost after the run)."""
    path = Path(text)
    found = _first_existing(path)
    if not found.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {found} is a file; give a folder")
    return path


def out_file(text: str) -> Path:
    """argparse ``type`` of a benchmark's markdown ``--out`` file: refused where it is a folder or
    a folder above it is a file."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a markdown file (e.g. out.md)")
    found = _first_existing(path.parent)
    if not found.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {found} is a file, not a folder")
    return path


def require_positive(parser: argparse.ArgumentParser, args: argparse.Namespace,
                     *names: str) -> None:  # fmt: skip
    """``parser.error`` (exit 2, before any work) unless each option of ``names``, a number or a
    list of numbers, is finite and above 0 (ints: at least 1); None, an option left unset,
    passes."""
    for name in names:
        value = getattr(args, name)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        if not all(math.isfinite(v) and v > 0 for v in values):  # nan and inf too
            bound = ">= 1" if all(isinstance(v, int) for v in values) else "finite and > 0"
            every = "every value " if isinstance(value, list) else ""
            parser.error(f"--{name.replace('_', '-')}={value}: {every}must be {bound}")


def compose_message(error: Exception) -> str:
    """Hydra's or OmegaConf's error on one line, less the config search path it lists."""
    return " ".join(str(error).split()).split(" Config search path:")[0]


def require_models(parser: argparse.ArgumentParser, option: str, names: list[str],
                   framing: str = "one_to_one") -> None:  # fmt: skip
    """``parser.error`` (exit 2, before any work) unless every name of ``names`` is a model
    family (``model=NAME``) that serves ``framing``."""
    from seqtasks.models import FAMILIES

    refused = [name for name in names if framing not in FAMILIES.get(name, {})]
    if refused == [""] * len(names):  # --families "" or ","
        refused = []
    if refused or not any(names):
        able = sorted(name for name, serves in FAMILIES.items() if framing in serves)
        parser.error(f"{option} {','.join(names)}: {refused or 'no model named'}: not a family "
                     f"for the {framing} problems here; allowed: {able}")  # fmt: skip


def measure_and_write(out: Path, name: str, args: Any, machine: dict[str, Any],
                      measure: Callable[[], list[Row]],
                      markdown: Callable[[list[Row], float], str]) -> None:  # fmt: skip
    """Time ``measure()``, then write ``out/NAME.md`` (``markdown(rows, wall seconds)``) and
    ``out/NAME.json``: the machine, the options ``args`` as strings, the wall seconds, the rows."""
    started = time.perf_counter()
    rows = measure()
    wall = time.perf_counter() - started
    options = {key: str(value) for key, value in vars(args).items()}
    payload = {"machine": machine, "args": options, "wall_seconds": round(wall), "rows": rows}
    write_results(out, name, markdown(rows, wall), payload)


def write_side_by_side(
    out: Path,
    name: str,
    command: str,
    what: str,
    header: list[str],
    cells: list[list[str]],
    machine: dict[str, Any],
    args: Any,
    rows: list[dict[str, Any]],
) -> None:
    """The results of two ways timed in turn for ``args.rounds`` rounds (a cell: the median):
    ``out/NAME.md`` says the command, what was timed, the rounds, the threads and the machine,
    then the table of ``header`` and ``cells``."""
    table = markdown_table(header, cells)
    text = (
        f"`{command}`: {what}; median of {args.rounds} rounds, the two in turn; {args.threads} "
        f"torch thread(s) on {machine['cpu_count']} shared CPU cores, torch {machine['torch']}."
        f"\n\n{table}\n"
    )
    payload = {"machine": machine, "args": vars(args) | {"out": str(args.out)}, "rows": rows}
    write_results(out, name, text, payload)


def describe(row: dict[str, Any], keys: Iterable[str]) -> str:
    """``key=value`` words of a row's label, then its outcome."""
    words = " ".join(f"{key}={row[key]}" for key in keys)
    if row.get("stopped") == "error":
        return f"{words} seed={row['seed']}: error: {row['error']}"
    outcome = "solved" if row["solved"] else "unsolved"
    if row.get("stopped") in ("time", "solved") and not row["solved"]:
        outcome += " (time limit)" if row["stopped"] == "time" else " (validation only)"
    return (
        f"{words} seed={row['seed']}: {outcome} after {row['steps']} steps "
        f"({row['sequences']:,} sequences), test {row['test_metric']:.4g}, {row['seconds']:.1f} s"
    )
