"""The malloc comparison's command: it refuses bad flags before starting anything, and a tiny run
writes its table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seqtasks.benchmarks import keep_memory
from seqtasks.benchmarks.engines import keep_memory_available


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["--families", "lstm,nope"], "['nope']: not a family"), (["--rounds", "0"], "--rounds=0")],
)
def test_bad_flags_are_refused(flags: list[str], message: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    with pytest.raises(SystemExit):
        keep_memory.main([*flags, "--out", str(tmp_path)])
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
@pytest.mark.skipif(not keep_memory_available(), reason="glibc's malloc only")
def test_a_tiny_comparison_writes_its_table(tmp_path: Path) -> None:
    argv = ["--length", "8", "--rounds", "2", "--steps", "1", "--families", "lstm,mamba"]
    assert keep_memory.main([*argv, "--out", str(tmp_path)]) == 0
    payload = json.loads((tmp_path / "keep_memory.json").read_text())
    assert [row["family"] for row in payload["rows"]] == ["lstm", "mamba"]
    for row in payload["rows"]:
        assert all(len(rates) == 2 and min(rates) > 0 for rates in row["rates"].values())
        assert row["speedup"] == pytest.approx(row["kept"] / row["default"])
    assert payload["rows"][0]["refaults"]["kept"] < 100 <= payload["rows"][0]["refaults"]["default"]
    text = (tmp_path / "keep_memory.md").read_text()
    assert "--families lstm,mamba" in text and "| `mamba` |" in text
