"""Saved rows are checked on resume: a row whose setup today's code would change is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seqtasks.benchmarks import inits, suite
from seqtasks.benchmarks.engines import job_id
from seqtasks.benchmarks.runner import Job, compose_config, run_job
from seqtasks.benchmarks.setups import DECIDING, StaleRows, check_rows, differences, setup_of

TINY = ("task=echo", "task.lag=1", "trainer.max_steps=3", "data.batch_size=16",
        "data.train_samples=160", "data.val_samples=32", "data.test_samples=32",
        "data.eval_batch_size=32")  # fmt: skip


def test_setup_is_the_deciding_keys_resolved() -> None:
    cfg = compose_config(["model=tcn", "task=echo", "task.lag=7", "data.batch_size=32"])
    setup = setup_of(cfg)
    assert list(setup) == list(DECIDING)
    assert setup["model"]["init"] == "he" and setup["model"]["name"] == "tcn"
    assert setup["task"]["lag"] == 7 and setup["data.batch_size"] == 32
    assert setup["trainer.gradient_clip_val"] == cfg.trainer.gradient_clip_val
    assert "seed" not in setup and "logger" not in setup  # they do not decide (or are in the id)
    # where and how a run logs does not change its setup
    quiet = compose_config(["model=tcn", "task=echo", "task.lag=7", "data.batch_size=32",
                            "trainer.enable_progress_bar=false", "report.plots=false",
                            "checkpoint.every_n_steps=0", "seed=5"])  # fmt: skip
    assert setup_of(quiet) == setup


def test_differences_name_each_changed_leaf() -> None:
    saved = {"model": {"hidden": 64, "dropout": 0.0}, "task": {"lag": 5}}
    today = {"model": {"hidden": 64, "dropout": 0.1, "init": "he"}, "task": {"lag": 5}}
    assert differences(saved, today) == ["model.dropout 0.0 -> 0.1", "model.init absent -> 'he'"]
    assert differences(today, today) == []


def test_a_row_records_its_overrides_and_setup_and_passes_its_own_check() -> None:
    job = Job({"model": "lstm"}, TINY, seed=1)
    row = {**run_job(job), "job_id": job_id(job, None)}
    assert row["overrides"] == list(TINY)
    assert row["setup"] == setup_of(compose_config(list(TINY)))
    json.loads(json.dumps(row))  # it saves as a rows.jsonl line
    check_rows({row["job_id"]: row})  # today's code sets the same job up the same way


def _tcn_row_before_init_existed() -> dict:
    """A TCN row as the code before ``model.init`` would have saved it (with a setup)."""
    overrides = ["model=tcn", "task=echo", "task.lag=5"]
    setup = setup_of(compose_config(overrides))
    del setup["model"]["init"]  # the old config had no such key: its model was locuslab's
    label = {"model": "tcn", "problem": "echo", "value": 5, "lr": 0.003}
    return {**label, "seed": 0, "solved": False, "steps": 3000, "seconds": 1.0,
            "overrides": overrides, "setup": setup, "job_id": "0123456789abcdef"}  # fmt: skip


def test_a_row_whose_default_changed_is_refused() -> None:
    stale = _tcn_row_before_init_existed()
    with pytest.raises(StaleRows) as refused:
        check_rows({stale["job_id"]: stale})
    message = str(refused.value)
    assert "1 saved row was set up differently" in message
    assert ("model=tcn problem=echo value=5 lr=0.003 seed=0 (job 0123456789abcdef): "
            "model.init absent -> 'he'") in message  # fmt: skip
    assert "delete these rows" in message


def test_rows_without_a_setup_are_taken_and_each_overrides_composed_once() -> None:
    composed: list[list[str]] = []

    def compose(overrides: list[str]):
        composed.append(overrides)
        return compose_config(overrides)

    fresh = {**_tcn_row_before_init_existed(), "setup": setup_of(compose_config(["model=tcn",
             "task=echo", "task.lag=5"]))}  # fmt: skip
    old = {key: value for key, value in fresh.items() if key not in ("setup", "overrides")}
    check_rows({"a": fresh, "b": {**fresh, "seed": 1}, "c": old}, compose)
    assert composed == [["model=tcn", "task=echo", "task.lag=5"]]


def test_a_row_whose_overrides_no_longer_compose_is_refused() -> None:
    gone = {**_tcn_row_before_init_existed(), "overrides": ["model=tcn", "model.no_such_key=1"]}
    with pytest.raises(StaleRows, match=r"its overrides no longer compose: .*no_such_key"):
        check_rows({"gone": gone})


def test_many_stale_rows_are_counted_and_the_first_few_shown() -> None:
    stale = _tcn_row_before_init_existed()
    rows = {f"job{seed}": {**stale, "seed": seed} for seed in range(8)}
    with pytest.raises(StaleRows, match="8 saved rows were set up differently") as refused:
        check_rows(rows)
    assert str(refused.value).count("model.init absent -> 'he'") == 5
    assert "\n  ...\n" in str(refused.value)


def test_the_leaderboard_refuses_a_stale_row_before_merging_it(tmp_path: Path, capsys) -> None:
    stale = _tcn_row_before_init_existed()
    (tmp_path / "rows.jsonl").write_text(json.dumps(stale) + "\n")

    def never(*args: object) -> dict:
        raise AssertionError("a job ran although the board holds a stale row")

    with pytest.raises(SystemExit) as stopped:
        suite.main(["--out", str(tmp_path / "new"), "--resume", str(tmp_path)], job_fn=never)
    assert stopped.value.code == 2
    assert "model.init absent -> 'he'" in capsys.readouterr().err
    assert not (tmp_path / "new" / "rows.jsonl").exists()  # refused before the rows were merged


def test_the_inits_comparison_refuses_a_stale_row(tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "inits-tcn.rows.jsonl").write_text(json.dumps(_tcn_row_before_init_existed()))
    monkeypatch.setattr(inits, "run_jobs", lambda *a, **k: pytest.fail("a job ran"))
    with pytest.raises(SystemExit) as stopped:
        inits.main(["--model", "tcn", "--inits", "he", "--out", str(tmp_path)])
    assert stopped.value.code == 2 and "model.init absent -> 'he'" in capsys.readouterr().err
