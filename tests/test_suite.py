"""The suite report's machinery on a tiny budget: files, tables, claims and scaling structure."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import suite


def _tables(markdown: str) -> list[list[str]]:
    """Markdown tables as lists of their lines."""
    tables, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables + ([current] if current else [])


def test_quick_report(tmp_path: Path) -> None:
    report = suite.main(["--quick", "--out", str(tmp_path)])

    for name in ("suite.md", "suite.json", "suite.png", "scaling.md", "scaling.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "suite.json").read_text())
    assert saved["machine"]["torch_threads"] == 1 and saved["machine"]["nproc"] >= 1
    assert saved["budget"]["max_steps"] == suite.QUICK.max_steps

    # every row of the quick selection, every model it lists, each with one budget
    expected = [(r.key, m) for r in suite.ROWS if r.key in suite.QUICK_ROWS for m in r.models]
    assert [(r["row"], r["model"]) for r in saved["rows"]] == expected
    for record in saved["rows"]:  # the same budget for every row
        assert set(suite.QUICK.overrides()) <= set(record["overrides"])
    by_key = {(r["row"], r["model"]): r for r in saved["rows"]}
    assert by_key[("subsequence/seq2seq", "mlp")]["status"] == "n/a"  # mlp cannot serve seq2seq
    ran = by_key[("ramp/window=1", "lstm")]
    assert ran["status"] == "ok" and ran["steps"] <= suite.QUICK.max_steps
    assert {"solved", "solved_at_step", "samples", "seconds", "test", "chance"} <= set(ran)

    # one verdict per claim; claims on rows that were not run say so
    assert len(saved["claims"]) == len(suite.CLAIMS)
    assert {c["verdict"] for c in saved["claims"]} <= {"agree", "disagree", "not measured"}
    assert any(c["verdict"] == "not measured" for c in saved["claims"])

    # scaling: each quick sweep has a point per value, every run of the default LSTM
    assert set(saved["scaling"]) == {s.problem for s in suite.QUICK_SWEEPS}
    for sweep in suite.QUICK_SWEEPS:
        points = saved["scaling"][sweep.problem]
        assert [p["value"] for p in points] == list(sweep.values)
        assert points[0]["runs"] and all(r["model"] == "lstm" for r in points[0]["runs"])

    markdown = (tmp_path / "suite.md").read_text()
    assert "python -m benchmarks.suite" in markdown and "torch threads 1" in markdown
    tables = _tables(markdown)
    assert len(tables) == 3  # claims, suite, scaling
    for table in tables:
        widths = {line.count(" | ") for line in table[2:]}
        assert len(widths) == 1 and widths == {table[0].count(" | ")}, table[0]
    claims, runs, scaling = tables
    assert len(claims) == 2 + len(suite.CLAIMS)
    assert len(runs) == 2 + len(expected)
    assert len(scaling) == 2 + sum(len(s.values) for s in suite.QUICK_SWEEPS)
    assert "suite.png" in markdown and "scaling.png" in markdown
    assert _tables((tmp_path / "scaling.md").read_text()) == [scaling]
    assert report["wall_seconds"] > 0
