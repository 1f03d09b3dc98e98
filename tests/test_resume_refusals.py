"""A resumed run continues the same run: ``ckpt_path`` with another model, data or run settings,
another optimiser or a step past the budget is refused before anything is written; the same
settings, given as Lightning reads them, resume."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_module

from seqtasks.training.run import ConfigError, build_model, train
from tests.test_run_refusals import TINY


def compose_tiny(run_dir: Path, *overrides: str):
    with initialize_config_module("seqtasks.training.conf", version_base="1.3"):
        small = ["trainer.enable_progress_bar=false", "data.batch_size=16", *TINY]
        return compose("config", overrides=[*small, f"+run_dir={run_dir}", *overrides])


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A run trained to step 4 (its last.ckpt is at step 4)."""
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    assert train(compose_tiny(run_dir))["steps"] == 4
    return run_dir


def a_copy(trained: Path, tmp_path: Path) -> Path:
    shutil.copytree(trained, tmp_path / "run")
    return tmp_path / "run"


def contents(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("model.hidden_size=16", r"\n  model.hidden_size: 128 -> 16\n"),
        ("model.lr=0.5", r"\n  model.lr: 0.01 -> 0.5\n"),
        ("data.batch_size=8", r"\n  data.batch_size: 16 -> 8\n"),
        ("seed=1", r"\n  seed: 0 -> 1\n"),
        ("task.length=12", r"task.length: 10 -> 12"),
        ("model=gru", r"the weights of another model than OneToOneGRU(?s:.*)"
                      r"rnn.weight_hh_l0: \(512, 128\) -> \(384, 128\)"),
        ("trainer.max_steps=3", r"the checkpoint is at step 4, past trainer.max_steps=3"),
        ("trainer.gradient_clip_val=0.1", r"\n  trainer.gradient_clip_val: 1.0 -> 0.1"),
        ("+trainer.accumulate_grad_batches=3", r"trainer.accumulate_grad_batches: 1 -> 3"),
        ("+trainer.limit_train_batches=2", r"trainer.limit_train_batches: 1.0 -> 2"),
        ("trainer.precision=bf16-mixed", r"trainer.precision: '32-true' -> 'bf16-mixed'"),
        ("solved_in_a_row=3", r"\n  solved_in_a_row: 1 -> 3"),
    ],
)  # fmt: skip
def test_a_resume_with_another_configuration_is_refused_and_writes_nothing(
    trained, tmp_path, change, message
):
    run_dir = a_copy(trained, tmp_path)
    before = contents(run_dir)
    with pytest.raises(ConfigError, match=rf"ckpt_path='last': (?s:.*){message}"):
        train(compose_tiny(run_dir, "ckpt_path=last", change))
    assert contents(run_dir) == before, "config.yaml, metrics.csv and checkpoints untouched"


def test_the_refusal_says_a_resume_continues_the_same_run(trained, tmp_path):
    with pytest.raises(ConfigError, match=r"A resumed run continues the same run: .*new run dir"):
        train(compose_tiny(a_copy(trained, tmp_path), "ckpt_path=last", "model.lr=0.5"))


@pytest.mark.parametrize("max_steps", [4, 6])  # 4: a finished run scored again (the board's)
def test_an_unchanged_resume_still_runs(tmp_path, max_steps):
    run_dir = tmp_path / "run"
    train(compose_tiny(run_dir))
    summary = train(compose_tiny(run_dir, "ckpt_path=last", f"trainer.max_steps={max_steps}"))
    assert summary["steps"] == max_steps


def resume_check(run_dir: Path, drop: dict[str, list[str]], *overrides: str) -> None:
    """check_resume of ``run_dir``'s last.ckpt with the ``drop`` hyperparameters removed, as a
    checkpoint written before those options existed."""
    from seqtasks.training import resume_check
    from seqtasks.training.datamodule import SequenceDataModule

    path = run_dir / "checkpoints/last.ckpt"
    saved = torch.load(path, map_location="cpu", weights_only=False)
    for section, keys in drop.items():
        for key in keys:
            parent, _, leaf = key.rpartition(".")
            del (saved[section][parent] if parent else saved[section])[leaf]
    torch.save(saved, path)
    cfg = compose_tiny(run_dir, "ckpt_path=last", *overrides)
    options = {key: value for key, value in cfg.task.items() if key != "name"}
    data = SequenceDataModule(cfg.task.name, options, seed=cfg.seed, **cfg.data)
    resume_check.check_resume("last", str(path), build_model(cfg.model, data.spec), data, 4)


def test_an_option_newer_than_the_checkpoint_is_no_change_at_its_default(trained, tmp_path):
    # Lightning's load_from_checkpoint fills a missing option with the same default
    drop = {"hyper_parameters": ["weight_decay", "spec.ignore_index"],
            "datamodule_hyper_parameters": ["num_workers"]}  # fmt: skip
    resume_check(a_copy(trained, tmp_path), drop)


def test_an_option_newer_than_the_checkpoint_is_a_change_off_its_default(trained, tmp_path):
    # the LSTM's lr defaults to 0.01: a resume at 0.5 is a change from a checkpoint without lr
    with pytest.raises(ConfigError, match=r"\n  model.lr: absent -> 0.5\n"):
        resume_check(a_copy(trained, tmp_path), {"hyper_parameters": ["lr"]}, "model.lr=0.5")


def test_a_checkpoint_whose_optimiser_has_other_groups_is_refused_by_name(tmp_path):
    # saved before weight decay left biases alone: one group, where this version makes two
    run_dir = tmp_path / "run"
    train(compose_tiny(run_dir, "model.weight_decay=0.1"))
    path = run_dir / "checkpoints" / "last.ckpt"
    saved = torch.load(path, weights_only=False)
    groups = saved["optimizer_states"][0]["param_groups"]
    assert len(groups) == 2
    groups[0]["params"] += groups.pop()["params"]
    torch.save(saved, path)
    before = contents(run_dir)
    with pytest.raises(
        ConfigError,
        match=r"holds an optimiser of 1 parameter group\(s\), and this "
        r"version makes 2 \(weight decay now leaves",
    ):
        train(compose_tiny(run_dir, "model.weight_decay=0.1", "ckpt_path=last",
                           "trainer.max_steps=8"))  # fmt: skip
    assert contents(run_dir) == before


SAME = ["trainer.precision=32", "+trainer.val_check_interval=1.0",
        "+trainer.limit_train_batches=1.0", "trainer.gradient_clip_val=1",
        "data.num_workers=1", "data.device=cpu"]  # fmt: skip  # the same batches either way


@pytest.mark.parametrize("same", SAME)
def test_a_resume_giving_a_setting_as_lightning_reads_it_is_no_change(trained, tmp_path, same):
    run_dir = a_copy(trained, tmp_path)  # precision 32 is 32-true; a null interval is 1.0
    assert train(compose_tiny(run_dir, "ckpt_path=last", "trainer.max_steps=6", same))["steps"] == 6


def test_a_resume_on_another_number_of_processes_is_refused(trained, tmp_path):
    from seqtasks.training.resume_check import check_processes

    path = str(a_copy(trained, tmp_path) / "checkpoints" / "last.ckpt")
    check_processes("last", path, 1)  # the run's own
    with pytest.raises(ConfigError, match=r"trained on 1 process\(es\) .* this run has 2: "):
        check_processes("last", path, 2)
