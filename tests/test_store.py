"""The rows store: a line cut short by a killed process is skipped, and the rows written after
it stay whole."""

from __future__ import annotations

from pathlib import Path

from seqtasks.benchmarks import store


def test_a_row_after_a_killed_runs_cut_line_is_kept(tmp_path: Path) -> None:
    store.Store(tmp_path).add({"job_id": "a", "x": 1})
    with (tmp_path / store.ROWS).open("a") as file:
        file.write('{"job_id": "b", "x"')  # the process was killed mid-line
    resumed = store.Store(tmp_path)
    resumed.add({"job_id": "c", "x": 3})
    resumed.add({"job_id": "d", "x": 4})
    assert sorted(store.load([tmp_path])) == ["a", "c", "d"]
    assert store.Store(tmp_path).ids() == {"a", "c", "d"}  # a whole file: nothing added
    assert (tmp_path / store.ROWS).read_text().count("\n") == 4
