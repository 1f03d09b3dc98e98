"""A job killed mid-run in its run directory resumes there, with the uninterrupted run's row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from seqtasks.benchmarks import run_dirs
from seqtasks.benchmarks.runner import Job, run_job, run_plan
from seqtasks.training.checkpoint_io import AtomicCheckpointIO

# validation every 10 steps (320 sequences in batches of 32), stopped after 2 solved in a row,
# as the leaderboard runs; validation meets the criterion within the budget (320 steps, seed 0)
CLASSIFY = ("task=classify", "task.length=10", "data.batch_size=32", "data.train_samples=320",
            "data.val_samples=200", "data.test_samples=200", "data.eval_batch_size=200",
            "solved_in_a_row=2", "trainer.max_steps=600", "trainer.log_every_n_steps=10",
            "checkpoint.every_n_steps=0")  # fmt: skip
TIMING = ("seconds", "resumed_at_step")
SUMMARY_TIMING = ("seconds", "fit_seconds", "run_dir")


class Killed(BaseException):
    """A process killed mid-run: no ``except Exception`` sees it, so nothing is cleaned up."""


def comparable(row: dict[str, Any]) -> dict[str, Any]:
    summary = {k: v for k, v in row["summary"].items() if k not in SUMMARY_TIMING}
    return {**{k: v for k, v in row.items() if k not in TIMING}, "summary": summary}


def killed_after_checkpoint(job: Job, run_dir: Path, step: int,
                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Run ``job`` in ``run_dir`` and kill it once ``last.ckpt`` of ``step`` is on disk."""
    save = AtomicCheckpointIO.save_checkpoint

    def dies_after_saving(io: Any, checkpoint: dict, path: Any, storage_options: Any = None):
        save(io, checkpoint, path, storage_options)
        if Path(path).name == "last.ckpt" and checkpoint["global_step"] == step:
            raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(AtomicCheckpointIO, "save_checkpoint", dies_after_saving)
        with pytest.raises(Killed):
            run_job(job, run_dir=run_dir)
    assert (run_dir / "checkpoints/last.ckpt").is_file(), "left for the resume"


@pytest.fixture(scope="module")
def whole() -> dict[str, Any]:
    row = run_job(Job({"model": "lstm"}, CLASSIFY))
    assert row["stopped"] == "solved", "validation must meet the criterion within the budget"
    return row


@pytest.mark.parametrize("when", ["mid-run", "at-the-solving-validation"])
def test_a_killed_job_resumes_in_its_run_dir_with_the_uninterrupted_row(
    whole: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    solved_at = whole["summary"]["solved_at_step"]
    # mid-run: the last.ckpt of a validation halfway; at the solving validation: the fit's end,
    # a kill in the final validation and test
    step = 10 * (solved_at // 20) if when == "mid-run" else solved_at
    run_dir = tmp_path / "in-progress" / "job"
    killed_after_checkpoint(Job({"model": "lstm"}, CLASSIFY), run_dir, step, monkeypatch)
    resumed = run_job(Job({"model": "lstm"}, CLASSIFY), run_dir=run_dir)
    assert comparable(resumed) == comparable(whole)
    assert resumed["resumed_at_step"] == step and "resumed_at_step" not in whole
    assert not run_dir.exists(), "removed once the job has its row"


def test_a_run_dir_killed_before_its_first_checkpoint_starts_afresh(
    whole: dict[str, Any], tmp_path: Path
) -> None:
    run_dir = tmp_path / "job"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "metrics.csv").write_text("epoch,step\n0,9\n")  # what a killed run leaves
    row = run_job(Job({"model": "lstm"}, CLASSIFY), run_dir=run_dir)
    assert comparable(row) == comparable(whole) and "resumed_at_step" not in row
    assert not run_dir.exists()


def test_a_run_dir_set_up_by_other_defaults_starts_afresh(
    whole: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "job"
    killed_after_checkpoint(Job({"model": "lstm"}, CLASSIFY), run_dir, 10, monkeypatch)
    kept = run_dir / run_dirs.SETUP
    setup = json.loads(kept.read_text())
    assert setup == whole["setup"]  # the job's setup, kept beside its checkpoints
    kept.write_text(json.dumps({**setup, "model": {**setup["model"], "hidden_size": 7}}))
    row = run_job(Job({"model": "lstm"}, CLASSIFY), run_dir=run_dir)
    assert comparable(row) == comparable(whole) and "resumed_at_step" not in row  # not carried


def test_an_error_removes_the_run_dir(tmp_path: Path) -> None:
    job = Job({"model": "mlp"}, ("task=subsequence", "task.framing=seq2seq", "model=mlp"))
    row = run_job(job, errors="row", run_dir=tmp_path / "job")
    assert row["stopped"] == "error" and not (tmp_path / "job").exists()


class _TwoJobs:
    def __init__(self) -> None:
        self.jobs = [Job({"n": n}, (f"task.length={n}",)) for n in (1, 2)]
        self.rows: list[dict[str, Any]] = []

    def next_jobs(self) -> list[Job]:
        jobs, self.jobs = self.jobs, []
        return jobs

    def record(self, job: Job, row: dict[str, Any]) -> None:
        self.rows.append(row)


def test_run_plan_gives_each_job_its_own_run_dir_and_prune_keeps_unfinished(
    tmp_path: Path,
) -> None:
    given: dict[int, Path] = {}

    def fake(job: Job, seconds: Any, errors: str, threads: int, run_dir: Path) -> dict:
        given[job.label["n"]] = run_dir
        run_dir.mkdir(parents=True)  # as if killed: left behind
        return {**job.label, "seed": 0, "solved": True, "steps": 1, "sequences": 1,
                "test_metric": 1.0, "seconds": 0.0, "stopped": "solved", "summary": {}}  # fmt: skip

    rows = run_plan(_TwoJobs(), progress=lambda line: None, job_fn=fake, runs_dir=tmp_path)
    assert {path.parent for path in given.values()} == {tmp_path}
    assert sorted(path.name for path in given.values()) == sorted(row["job_id"] for row in rows)
    stale = tmp_path / "a-job-still-to-run"
    stale.mkdir()
    run_dirs.prune(tmp_path, {row["job_id"] for row in rows})
    assert [path.name for path in tmp_path.iterdir()] == [stale.name]
