"""``experiment=paper_*`` and ``copy_t1000``: each preset composes, keeps its recipe and runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqtasks.training.run import train

CONF = Path(__file__).resolve().parents[1] / "training" / "conf" / "experiment"

# preset -> (task name, the paper's size as task options, the solved criterion of summary.json)
PRESETS = {
    "paper_2a": ("memorize_long", {"variant": "2a", "p": 100}, ">= 1"),
    "paper_2b": ("memorize_long", {"variant": "2b", "p": 100}, ">= 1"),
    "paper_2c": ("memorize_long", {"variant": "2c", "p": 100, "q": 100}, ">= 1"),
    "paper_4": ("adding", {"length": 100, "vary_length": True}, ">= 1"),
    "paper_4_t500": ("adding", {"length": 500, "vary_length": True}, ">= 1"),
    "paper_4_t1000": ("adding", {"length": 1000, "vary_length": True}, ">= 1"),
    "paper_5": ("multiply", {"length": 100, "vary_length": True}, ">= 0.93"),
    "paper_6a": ("temporal_order", {"num_relevant": 2, "length": 100, "vary_length": True}, ">= 1"),
    "paper_6b": ("temporal_order", {"num_relevant": 3, "length": 100, "vary_length": True}, ">= 1"),
    "copy_t1000": ("copy_memory", {"delay": 1000, "symbols": 10, "variant": "bai"}, ">= 0.99"),
}
TINY = [  # shrink the evaluation sets and the run, nothing else
    "trainer.max_steps=3",
    "data.train_samples=64",  # a validation after step 2, so that path runs too
    "data.val_samples=16",
    "data.test_samples=16",
    "data.eval_batch_size=16",
    "trainer.enable_progress_bar=false",
    "report.plots=false",
    "trainer.log_every_n_steps=1",
]


def test_every_preset_file_is_listed() -> None:
    assert {path.stem for path in CONF.glob("*.yaml")} >= set(PRESETS)


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_is_the_paper_task_at_the_paper_size_with_the_recipe(compose_config, name):
    cfg = compose_config(f"experiment={name}", small=False)
    task, size, _ = PRESETS[name]
    assert cfg.task.name == task
    assert {key: cfg.task[key] for key in size} == size
    model, data, trainer = cfg.model, cfg.data, cfg.trainer
    assert (model.name, model.init, model.hidden_size, model.lr) == ("lstm", "chrono", 64, 0.003)
    assert data.batch_size in (8, 32) and trainer.gradient_clip_val == 1.0
    assert data.train_samples <= 1000, "validate every 1,000 training sequences or finer"
    assert data.train_samples % data.batch_size == 0, "the interval is whole batches"
    assert (data.val_samples, data.test_samples) == (2000, 2560)
    assert trainer.max_steps == -1 and trainer.max_time, "a time budget, no step limit"
    text = (CONF / f"{name}.yaml").read_text()
    assert text.startswith("# @package _global_\n")
    assert "# How " in text and "differs from" in text, "the differences from the paper are stated"


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_runs_a_few_steps_and_counts_its_sequences(compose_config, name):
    cfg = compose_config(f"experiment={name}", *TINY, small=False)
    summary = train(cfg)
    task, size, criterion = PRESETS[name]
    assert summary["task"] == task and summary["criterion"] == criterion
    assert {key: summary["options"][key] for key in size} == size
    assert summary["steps"] == 3 and summary["samples"] == 3 * cfg.data.batch_size
    assert len(summary["test"]) >= 2 and "test/loss" in summary["test"]


def test_overrides_apply_on_top_of_a_preset(compose_config):
    cfg = compose_config("experiment=paper_4", "seed=3", "model.lr=0.01", "task.length=20",
                         small=False)  # fmt: skip
    assert (cfg.seed, cfg.model.lr, cfg.task.length) == (3, 0.01, 20)
    assert cfg.task.name == "adding" and cfg.model.hidden_size == 64  # the rest stays
    assert compose_config("experiment=paper_4", small=False).seed == 0
    cfg = compose_config("experiment=paper_6b", "model=gru", small=False)
    assert cfg.model.name == "gru" and cfg.model.hidden_size == 64, "the preset's sizes stay"


def test_a_preset_stops_at_the_first_solving_validation(compose_config):
    # copy with one symbol and a delay of 1 is learnt in a few hundred sequences
    overrides = ["task.delay=1", "task.symbols=1", "data.train_samples=320", "model.lr=0.01",
                 "trainer.max_steps=2000", *TINY[2:]]  # fmt: skip
    summary = train(compose_config("experiment=copy_t1000", *overrides, small=False))
    assert summary["solved"] and summary["solved_at_step"] == summary["steps"] < 2000
    assert summary["samples"] == summary["steps"] * 32 and summary["samples"] % 320 == 0
