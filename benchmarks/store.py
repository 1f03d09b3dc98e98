"""Rows saved as runs end, one JSON line each, keyed by job id: the board survives and resumes.

``rows.jsonl`` in a board's folder receives every row the moment its job ends (written and
flushed by the submitting process, whatever engine ran the job). ``--resume`` reads it back, and
the rows files of other machines given beside it, merged by job id (the first row of an id is
kept): a job whose row exists is not run again, and the ladders replay their decisions from the
rows, so a board grows across days and machines. A line cut short by a killed process is skipped,
and the next row starts on a line of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Row = dict[str, Any]
ROWS = "rows.jsonl"


def rows_file(path: Path) -> Path:
    """``path`` itself, or its ``rows.jsonl`` when it is a folder."""
    return path / ROWS if path.is_dir() else path


def load(paths: list[Path]) -> dict[str, Row]:
    """Rows by job id from these rows files (or board folders); refuses a path that is neither."""
    rows: dict[str, Row] = {}
    for path in paths:
        file = rows_file(path)
        if not file.is_file():
            raise FileNotFoundError(f"--resume {path}: no {ROWS} there (nor is it a rows file)")
        for line in file.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # the last line of a killed run
                continue
            if isinstance(row, dict) and "job_id" in row:
                rows.setdefault(row["job_id"], row)
    return rows


class Store:
    """Appends rows to ``rows.jsonl`` in ``folder`` as they come, each line flushed."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / ROWS
        if self.path.is_file() and self.path.stat().st_size:
            with self.path.open("rb") as file:
                file.seek(-1, 2)  # the last byte
                ended = file.read(1) == b"\n"
            if not ended:  # a killed run's cut line: the next row must not be glued to it
                with self.path.open("a") as file:
                    file.write("\n")

    def ids(self) -> set[str]:
        return set(load([self.path])) if self.path.is_file() else set()

    def add(self, row: Row) -> None:
        with self.path.open("a") as file:
            file.write(json.dumps(row, default=str) + "\n")
            file.flush()  # a killed process loses nothing written (no fsync: a crash might)

    def merge(self, rows: dict[str, Row]) -> None:
        """Add the rows whose ids this store lacks (rows brought from another machine)."""
        have = self.ids()
        for key, row in rows.items():
            if key not in have:
                self.add(row)
