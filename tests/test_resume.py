"""Exact resume: a stopped run carries on with the very batches an uninterrupted run trains on."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Timer

from seqtasks.training.checkpoint_io import AtomicCheckpointIO
from seqtasks.training.run import train

ROOT = Path(__file__).resolve().parents[1]
# 10 batches of 32 per epoch; a last.ckpt every 3 steps
RUN = ["task=classify", "data.train_samples=320", "trainer.deterministic=true",
       "checkpoint.every_n_steps=3", "report.plots=false"]  # fmt: skip


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints/last.ckpt", weights_only=False)["state_dict"]


def assert_history_whole(resumed: Path, whole: Path, monitor: str = "val/accuracy") -> None:
    """The resumed run's log is the uninterrupted run's, and best.ckpt its best validation."""
    assert (resumed / "metrics.csv").read_text() == (whole / "metrics.csv").read_text()
    assert sorted(p.name for p in (resumed / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    with (resumed / "metrics.csv").open() as handle:
        scores = [(float(row[monitor]), int(row["step"])) for row in csv.DictReader(handle)
                  if row[monitor] and not row["test/loss"]]  # fmt: skip
    best = torch.load(resumed / "checkpoints/best.ckpt", weights_only=False)
    (state,) = [v for k, v in best["callbacks"].items() if k.startswith("BestOrLater")]
    assert float(state["best_model_score"]) == max(score for score, _ in scores)
    expected = torch.load(whole / "checkpoints/best.ckpt", weights_only=False)["state_dict"]
    assert torch.equal(best["state_dict"]["head.weight"], expected["head.weight"])


@pytest.mark.parametrize("stop_at", [15, 20, 14], ids=["mid-epoch", "epoch-end", "off-a-save"])
def test_resumed_run_equals_uninterrupted_run(compose_config, tmp_path, stop_at):
    # 14: max_steps ends the fit between last.ckpt's every-3-steps saves and validations: the
    # stop's own save must carry the mid-epoch counters, not the fit's end (an epoch ahead)
    whole = train(compose_config(*RUN, "trainer.max_steps=27", f"run_dir={tmp_path}/whole"))
    train(compose_config(*RUN, f"trainer.max_steps={stop_at}", f"run_dir={tmp_path}/cut"))
    resumed = train(
        compose_config(*RUN, "trainer.max_steps=27", "ckpt_path=last", f"run_dir={tmp_path}/cut")
    )
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "cut")
    assert all(torch.equal(a[name], b[name]) for name in a), "same batches, same weights"
    for key in ("val", "test", "steps", "samples"):
        assert resumed[key] == whole[key], key
    assert_history_whole(tmp_path / "cut", tmp_path / "whole")


def test_a_run_with_limited_epochs_resumes_on_the_right_batches(compose_config, tmp_path):
    # 4 of each epoch's 10 batches: step 6 is the second epoch's third batch
    run = [*RUN, "+trainer.limit_train_batches=4", "checkpoint.every_n_steps=0"]
    whole = train(compose_config(*run, "trainer.max_steps=12", f"run_dir={tmp_path}/whole"))
    train(compose_config(*run, "trainer.max_steps=6", f"run_dir={tmp_path}/cut"))
    resumed = train(
        compose_config(*run, "trainer.max_steps=12", "ckpt_path=last", f"run_dir={tmp_path}/cut")
    )
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "cut")
    assert all(torch.equal(a[name], b[name]) for name in a), "same batches, same weights"
    assert resumed["test"] == whole["test"]


@pytest.mark.parametrize(("accumulate", "killed_at"), [(2, 9), (3, 6)])
def test_a_run_with_gradient_accumulation_resumes_exactly(
    compose_config, tmp_path, monkeypatch, accumulate, killed_at
):
    # 10 batches an epoch: with 3 a step, an epoch is 4 steps (the last takes one batch), so step
    # 6 is batch 16; last.ckpt is written once a step, after the step's last batch
    run = [*RUN, f"+trainer.accumulate_grad_batches={accumulate}", "trainer.max_steps=12"]
    whole = train(compose_config(*run, f"run_dir={tmp_path}/whole"))
    save, saved = AtomicCheckpointIO.save_checkpoint, []

    def dies_after_saving(io, checkpoint, path, storage_options=None):
        save(io, checkpoint, path, storage_options)
        if Path(path).name == "last.ckpt":
            saved.append(checkpoint["global_step"])
            if checkpoint["global_step"] == killed_at:
                raise Killed

    monkeypatch.setattr(AtomicCheckpointIO, "save_checkpoint", dies_after_saving)
    with pytest.raises(Killed):
        train(compose_config(*run, f"run_dir={tmp_path}/cut"))
    monkeypatch.undo()
    assert len(saved) == len(set(saved)) and 0 not in saved, f"one save a step: {saved}"
    resumed = train(compose_config(*run, "ckpt_path=last", f"run_dir={tmp_path}/cut"))
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "cut")
    assert all(torch.equal(a[name], b[name]) for name in a), "same batches, same weights"
    assert resumed["test"] == whole["test"] and resumed["samples"] == whole["samples"]


@pytest.mark.parametrize("cut", ["max_steps", "killed-after-a-validation"])
def test_a_resumed_run_draws_the_dropout_masks_of_the_uninterrupted_run(
    compose_config, tmp_path, monkeypatch, cut
):
    # Lightning keeps no random state, and a DataLoader draws its workers' seed from the global
    # generator at every iterator unless given its own: the resume makes its iterators elsewhere
    run = [*RUN, "model=transformer", "model.dropout=0.3", "trainer.max_steps=27"]
    whole = train(compose_config(*run, f"run_dir={tmp_path}/whole"))
    if cut == "max_steps":
        train(compose_config(*run, "trainer.max_steps=15", f"run_dir={tmp_path}/cut"))
    else:
        save = AtomicCheckpointIO.save_checkpoint

        def dies_after_saving(io, checkpoint, path, storage_options=None):
            save(io, checkpoint, path, storage_options)
            if Path(path).name == "last.ckpt" and checkpoint["global_step"] == 10:
                raise Killed

        monkeypatch.setattr(AtomicCheckpointIO, "save_checkpoint", dies_after_saving)
        with pytest.raises(Killed):
            train(compose_config(*run, f"run_dir={tmp_path}/cut"))
        monkeypatch.undo()
    resumed = train(compose_config(*run, "ckpt_path=last", f"run_dir={tmp_path}/cut"))
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "cut")
    assert all(torch.equal(a[name], b[name]) for name in a), "same batches and masks"
    assert resumed["test"] == whole["test"]


def test_finished_run_resumed_with_more_steps_keeps_its_history_and_best(compose_config, tmp_path):
    # 10 steps an epoch, last.ckpt every 5: the finished run's last.ckpt (step 10) is written
    # at the end of that step's validation, after best.ckpt
    run = [*RUN, "checkpoint.every_n_steps=5", "trainer.log_every_n_steps=5"]
    train(compose_config(*run, "trainer.max_steps=30", f"run_dir={tmp_path}/whole"))
    train(compose_config(*run, "trainer.max_steps=10", f"run_dir={tmp_path}/cut"))
    before = (tmp_path / "cut/metrics.csv").read_text().splitlines()[:4]
    train(compose_config(*run, "trainer.max_steps=30", "ckpt_path=last", f"run_dir={tmp_path}/cut"))
    assert (tmp_path / "cut/metrics.csv").read_text().splitlines()[:4] == before
    assert_history_whole(tmp_path / "cut", tmp_path / "whole")


def test_a_stop_in_mid_epoch_leaves_the_validated_weights_as_best(compose_config, tmp_path):
    # 10 steps an epoch: validations at steps 10 and 20; the run stops unvalidated at 25
    train(compose_config(*RUN, "trainer.max_steps=25", "model.lr=1e-30"))
    assert torch.load(tmp_path / "checkpoints/best.ckpt", weights_only=False)["global_step"] == 20


class Killed(BaseException):
    """Stands in for SIGKILL: no handler of Lightning's or ours catches a BaseException."""


@pytest.mark.parametrize(
    ("every", "killed_at", "rows_before"),
    [(3, 15, ["4", "9", "9"]), (5, 5, None), (5, 10, ["4", "9", "9"])],
    ids=["mid-history", "before-the-first-row", "after-a-validation-at-a-checkpoint-step"],
)  # fmt: skip
def test_a_run_killed_between_a_checkpoint_and_its_steps_row_resumes_whole(
    compose_config, tmp_path, monkeypatch, every, killed_at, rows_before
):
    # step `killed_at` saves last.ckpt (every `every` steps) before Lightning writes that step's
    # metrics row (every 5 steps): a kill between the two must not lose the row. At step 10 a
    # validation follows (10 steps an epoch): its save waits for the validation's end, else a
    # kill in the validation resumes past it, without its row and its best
    run = [*RUN, "trainer.log_every_n_steps=5", f"checkpoint.every_n_steps={every}"]
    whole = train(compose_config(*run, "trainer.max_steps=27", f"run_dir={tmp_path}/whole"))
    save = AtomicCheckpointIO.save_checkpoint

    def dies_after_saving(io, checkpoint, path, storage_options=None):
        save(io, checkpoint, path, storage_options)
        if Path(path).name == "last.ckpt" and checkpoint["global_step"] == killed_at:
            raise Killed

    monkeypatch.setattr(AtomicCheckpointIO, "save_checkpoint", dies_after_saving)
    with pytest.raises(Killed):
        train(compose_config(*run, "trainer.max_steps=27", f"run_dir={tmp_path}/cut"))
    monkeypatch.undo()
    log = tmp_path / "cut/metrics.csv"
    if rows_before is None:
        assert not log.exists(), "killed before the first row was written"
    else:
        steps = [line.split(",")[1] for line in log.read_text().splitlines()[1:]]
        assert steps == rows_before, f"killed before step {killed_at - 1}'s row was written"
    resumed = train(
        compose_config(*run, "trainer.max_steps=27", "ckpt_path=last", f"run_dir={tmp_path}/cut")
    )
    assert resumed["test"] == whole["test"]
    assert_history_whole(tmp_path / "cut", tmp_path / "whole")


@pytest.mark.slow  # three train.py processes; .ci/run runs the slow tests too
def test_killed_run_resumes_exactly(tmp_path):
    def command(run_dir: Path, *extra: str) -> list[str]:
        return [sys.executable, "train.py", *RUN, "data.train_samples=3200",
                "trainer.max_steps=150", "trainer.enable_progress_bar=false",
                "trainer.log_every_n_steps=5", f"hydra.run.dir={run_dir}", *extra]  # fmt: skip

    whole = subprocess.run(command(tmp_path / "whole"), cwd=ROOT, capture_output=True, timeout=300)
    assert whole.returncode == 0, whole.stderr[-2000:]
    victim = subprocess.Popen(command(tmp_path / "cut"), cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    last = tmp_path / "cut/checkpoints/last.ckpt"
    deadline = time.monotonic() + 120
    while not last.exists() and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)  # let it train on a little past its first checkpoint
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert last.exists() and not (tmp_path / "cut/summary.json").exists(), "killed mid-run"
    stopped_at = torch.load(last, weights_only=False)["global_step"]
    assert 0 < stopped_at < 150
    resumed = subprocess.run(
        command(tmp_path / "cut", "ckpt_path=last"), cwd=ROOT, capture_output=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "cut")
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert_history_whole(tmp_path / "cut", tmp_path / "whole")


def test_a_save_removes_the_strays_of_ended_processes_only(tmp_path):
    """A run killed mid-save leaves ``.last.ckpt.PID.tmp``; the next save (the resumed run's)
    removes it, and keeps a file that a running process may still be writing."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # its pid now names no process (until the system reuses it)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        ended_stray = tmp_path / f".last.ckpt.{ended.pid}.tmp"
        alive_stray = tmp_path / f".last.ckpt.{alive.pid}.tmp"
        other = tmp_path / f".best.ckpt.{ended.pid}.tmp"  # another checkpoint's, same writer
        kept = tmp_path / "notes.tmp"  # not a checkpoint's temporary file
        for path in (ended_stray, alive_stray, other, kept):
            path.write_bytes(b"partial")
        AtomicCheckpointIO().save_checkpoint({"step": 1}, tmp_path / "last.ckpt")
        assert not ended_stray.exists() and not other.exists()
        assert alive_stray.exists() and kept.exists()
        assert torch.load(tmp_path / "last.ckpt")["step"] == 1
    finally:
        alive.kill()
        alive.wait()


def test_checkpoint_write_that_dies_leaves_the_previous_one_whole(tmp_path, monkeypatch):
    io, path = AtomicCheckpointIO(), tmp_path / "last.ckpt"
    io.save_checkpoint({"step": 1, "weights": torch.ones(1000)}, path)

    def dies_half_way(obj, handle, *args, **kwargs):
        handle.write(b"partial bytes")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", dies_half_way)
    with pytest.raises(OSError, match="disk full"):
        io.save_checkpoint({"step": 2, "weights": torch.zeros(1000)}, path)
    monkeypatch.undo()
    assert torch.load(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"], "no temporary file left"


@pytest.mark.parametrize("stop_at", [14, 10], ids=["between-validations", "at-a-validation"])
def test_a_run_stopped_by_its_time_limit_resumes_exactly(
    compose_config, tmp_path, monkeypatch, stop_at
):
    # the time limit (Lightning's Timer) stops the fit after a step; here at a chosen step, as if
    # the clock ran out there. Resumed without a limit, the run goes on with the very batches
    run = [*RUN, "trainer.max_steps=27"]
    whole = train(compose_config(*run, f"run_dir={tmp_path}/whole"))

    def out_of_time(timer, trainer):
        trainer.should_stop = trainer.should_stop or trainer.global_step >= stop_at

    monkeypatch.setattr(Timer, "_check_time_remaining", out_of_time)
    cut = train(compose_config(*run, "trainer.max_time=00:01:00:00", f"run_dir={tmp_path}/cut"))
    assert cut["steps"] == stop_at
    monkeypatch.undo()
    resumed = train(compose_config(*run, "ckpt_path=last", f"run_dir={tmp_path}/cut"))
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "cut")
    assert all(torch.equal(a[name], b[name]) for name in a), "same batches, same weights"
    assert resumed["test"] == whole["test"]


def test_a_resumed_run_counts_the_seconds_of_the_processes_before_it(compose_config, tmp_path):
    run = [*RUN, "test=false", f"run_dir={tmp_path}"]
    first = train(compose_config(*run, "trainer.max_steps=6"))
    last = tmp_path / "checkpoints/last.ckpt"
    checkpoint = torch.load(last, weights_only=False)
    saved = checkpoint["callbacks"]["RunClock"]["seconds"]
    assert 0 < saved <= first["fit_seconds"] <= first["seconds"]
    checkpoint["callbacks"]["RunClock"]["seconds"] = 1000.0  # as if the first process took long
    torch.save(checkpoint, last)
    started = time.perf_counter()
    resumed = train(compose_config(*run, "trainer.max_steps=9", "ckpt_path=last"))
    took = time.perf_counter() - started
    assert 1000 < resumed["fit_seconds"] < resumed["seconds"] < 1000 + took
    del checkpoint["callbacks"]["RunClock"]  # a checkpoint of a version without the clock
    torch.save(checkpoint, last)
    again = train(compose_config(*run, "trainer.max_steps=9", "ckpt_path=last"))
    assert again["seconds"] < 1000  # no earlier seconds: 0
