"""benchmarks.longlag: the presets' table, written from runs (a tiny time limit here)."""

import json

import pytest

from seqtasks.benchmarks import longlag, longlag_report


def test_every_paper_preset_has_a_row_and_a_recipe() -> None:
    assert [p.preset for p in longlag.PAPER] == [
        "paper_2a", "paper_2b", "paper_2c", "paper_4", "paper_4_t500", "paper_4_t1000",
        "paper_5", "paper_6a", "paper_6b",
    ]  # fmt: skip
    r = longlag.recipe("paper_4")
    assert (r["model"], r["batch_size"], r["test_samples"]) == ("lstm", 32, 2560)


def test_writes_table_and_runs(tmp_path) -> None:
    argv = ["--only", "paper_6a", "--seeds", "2", "--seconds", "2", "--workers", "1",
            "--out", str(tmp_path)]  # fmt: skip
    assert longlag.main(argv) == 0
    report = json.loads((tmp_path / "longlag.json").read_text())
    assert [(run["preset"], run["seed"]) for run in report["runs"]] == [
        ("paper_6a", 0),
        ("paper_6a", 1),
    ]
    assert all(run["sequences"] > 0 and run["test_wrong"] is not None for run in report["runs"])
    text = (tmp_path / "longlag.md").read_text()
    assert "31,390 [Table 9]" in text and "`paper_6a`" in text
    assert "time limit 2 s (--seconds)" in text  # the limit the runs had, not the preset's
    # --resume keeps the finished rows and runs nothing new
    assert longlag.main([*argv, "--resume"]) == 0
    assert json.loads((tmp_path / "longlag.json").read_text())["runs"] == report["runs"]
    # --table-only runs nothing, even for seeds not saved yet
    assert longlag.main([*argv[:2], "--seeds", "3", "--out", str(tmp_path), "--table-only"]) == 0
    assert json.loads((tmp_path / "longlag.json").read_text())["runs"] == report["runs"]


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(SystemExit):
        longlag.main(["--only", "paper_9"])


def test_a_copy_preset_whose_every_run_failed_still_gets_its_row() -> None:
    failed = {"preset": "copy_t1000", "seed": 0, "stopped": "error", "sequences": 0, "steps": 0,
              "test_metric": None, "test_wrong": None, "test_loss": None, "seconds": 1.0,
              "error": "RuntimeError: boom"}  # fmt: skip
    row = {"paper": longlag.PRESETS["copy_t1000"].__dict__, "recipe": longlag.recipe("copy_t1000"),
           "aggregate": longlag.aggregate([failed])}  # fmt: skip
    line = longlag_report.copy_table([row]).splitlines()[-1]
    assert line.startswith("| ours, `copy_t1000`: ") and "| - | - | 0/1: " in line
