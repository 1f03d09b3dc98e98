"""train(cfg) end to end: every problem with every model that serves it, refusals, outputs."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import seqtasks
from seqtasks import models
from seqtasks.training.run import ConfigError, train
from seqtasks.training.run import build_model as build

ROOT = Path(__file__).resolve().parents[1]

FRAMED_TASKS = [
    (name, framing) for name in seqtasks.available() for framing in seqtasks.make(name).framings
]
BUILT_IN = list(models.FAMILIES)  # every model config but custom
EVERY_PROBLEM = ("lstm", "transformer")  # the default run trains these on every problem


def _pairs() -> list:
    """Every problem, framing and model that serves it; in the default run, the models of
    ``EVERY_PROBLEM`` on every problem and each other model once per framing (the rest: slow)."""
    pairs, seen = [], set()
    for name, framing in FRAMED_TASKS:
        for model in BUILT_IN:
            if framing not in models.FAMILIES[model]:
                continue
            default = model in EVERY_PROBLEM or (model, framing) not in seen
            seen.add((model, framing))
            marks = () if default else (pytest.mark.slow,)
            pairs.append(pytest.param(name, framing, model, marks=marks))
    return pairs


PAIRS = _pairs()
REFUSED = [
    (name, framing, model)
    for name, framing in FRAMED_TASKS
    for model in BUILT_IN
    if framing not in models.FAMILIES[model]
]


@pytest.mark.parametrize(("task", "framing", "model"), PAIRS)
def test_fast_dev_run_every_problem_and_compatible_model(compose_config, task, framing, model):
    cfg = compose_config(
        f"task={task}", f"task.framing={framing}", f"model={model}", "+trainer.fast_dev_run=true"
    )
    summary = train(cfg)
    spec = seqtasks.make(task, framing=framing).spec
    assert summary["task"] == task and summary["framing"] == framing
    assert summary["steps"] == 1
    assert f"test/{spec.metric}" in summary["test"]
    assert isinstance(summary["solved"], bool)


@pytest.mark.parametrize(("task", "framing", "model"), REFUSED)
def test_incompatible_model_is_refused_before_training(compose_config, tmp_path, task, framing,
                                                       model):  # fmt: skip
    cfg = compose_config(f"task={task}", f"task.framing={framing}", f"model={model}")
    with pytest.raises(ConfigError, match=rf"model={model} cannot serve framing='{framing}'.*"):
        train(cfg)
    assert not any(tmp_path.iterdir()), "a refused run must leave nothing behind"


def test_refusal_names_the_models_that_can(compose_config):
    cfg = compose_config("task=classify", "model=seq2seq")
    with pytest.raises(
        ConfigError, match=r"models for 'one_to_one': \['lstm', 'gru', 'rnn'.*'custom'\]"
    ):
        train(cfg)


def test_run_directory_contents_and_checkpoint_reload(compose_config, tmp_path):
    summary = train(compose_config("task=classify", "trainer.max_steps=20"))
    for name in ("config.yaml", "metrics.csv", "summary.json", "learning_curves.png",
                 "predictions.png", "checkpoints/best.ckpt", "checkpoints/last.ckpt"):  # fmt: skip
        assert (tmp_path / name).is_file(), name
    assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert summary["steps"] == 20 and summary["samples"] == 20 * 32
    reloaded = models.OneToOneLSTM.load_from_checkpoint(tmp_path / "checkpoints/last.ckpt")
    inputs, _ = seqtasks.make("classify", split="test").generate(0, 8)
    assert reloaded(inputs).shape == (8, 10, 2)
    state = torch.load(tmp_path / "checkpoints/last.ckpt", weights_only=False)["state_dict"]
    assert all(torch.equal(state[k], v) for k, v in reloaded.state_dict().items())


def test_train_outside_hydra_without_a_run_dir_names_it(compose_config, tmp_path):
    cfg = compose_config("task=echo")
    cfg.run_dir = None  # as composed without +run_dir=
    with pytest.raises(ConfigError, match=r"run_dir: train\(cfg\) outside a Hydra run needs"):
        train(cfg)
    assert not any(tmp_path.iterdir())


def test_no_sample_plot_when_asked_for_none(compose_config, tmp_path):
    train(compose_config("task=echo", "trainer.max_steps=2", "report.plot_samples=0"))
    assert (tmp_path / "learning_curves.png").is_file()
    assert not (tmp_path / "predictions.png").exists()


def test_unknown_model_option_is_refused(compose_config):
    cfg = compose_config("task=echo", "+model.bidirectional=true")  # the seq2seq-safe lstm alias
    model = build(cfg.model, seqtasks.make("echo").spec)  # many_to_one LSTM has bidirectional
    assert model.rnn.bidirectional
    cfg = compose_config("task=subsequence", "task.framing=seq2seq", "+model.bidirectional=true")
    with pytest.raises(ConfigError, match=r"model=lstm has no option 'bidirectional'"):
        train(cfg)


def test_missing_checkpoint_is_refused(compose_config, tmp_path):
    cfg = compose_config("task=classify", f"ckpt_path={tmp_path}/nope.ckpt")
    with pytest.raises(ConfigError, match=r"ckpt_path=.*nope.ckpt.*no checkpoint file"):
        train(cfg)


def test_gpu_preset_without_gpu_is_refused(compose_config):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match=r"trainer.accelerator=gpu needs a CUDA GPU"):
        train(compose_config("task=classify", "trainer=gpu"))


@pytest.mark.slow  # test_console runs train.py in a subprocess in the default run
def test_train_py_subprocess_classify(tmp_path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable, "train.py", "task=classify", "trainer.max_steps=30",
        "trainer.enable_progress_bar=false", f"hydra.run.dir={run_dir}",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "solved" in done.stdout and "test/accuracy" in done.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 30
    assert (run_dir / ".hydra" / "config.yaml").is_file()


def test_train_py_bad_override_exits_nonzero_without_run_dir(tmp_path):
    (tmp_path / "kept").mkdir()  # a folder of the user's own, empty: left alone
    command = [sys.executable, str(ROOT / "train.py"), "task=classify", "model=seq2seq"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "model=seq2seq cannot serve framing='one_to_one'" in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["kept"], "nor runs/classify/ on the way"


@pytest.mark.slow
@pytest.mark.parametrize("task", ["ramp", "memorize", "echo", "subsequence", "classify"])
def test_default_solves_its_problem(compose_config, task):
    summary = train(compose_config(f"task={task}", small=False))
    assert summary["solved"], summary


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_preset_generates_on_the_gpu_with_the_same_bits(compose_config):
    summary = train(compose_config("task=classify", "trainer=gpu", "+trainer.fast_dev_run=true"))
    assert summary["steps"] == 1
    cpu = seqtasks.make("classify", batch_size=64).generate(0, 64)
    gpu = seqtasks.make("classify", batch_size=64, device="cuda").generate(0, 64)
    assert all(torch.equal(a, b.cpu()) for a, b in zip(cpu, gpu, strict=True))


def test_batches_are_generated_on_the_trainers_device(compose_config):
    from seqtasks.training.datamodule import SequenceDataModule

    datamodule = SequenceDataModule("classify", device="auto")
    datamodule.setup("fit")  # no trainer attached: the CPU
    inputs, _ = next(iter(datamodule.train_dataloader()))
    assert inputs.device.type == "cpu"


def test_eval_lengths_scores_other_lengths(compose_config, tmp_path):
    summary = train(
        compose_config(
            "task=echo", "task.lag=0", "report.eval_lengths=[5,10,40]", "trainer.max_steps=5"
        )
    )
    assert list(summary["lengths"]) == ["5", "10", "40"]
    test_metrics = {k: v for k, v in summary["test"].items() if k != "test/loss"}
    assert summary["lengths"]["10"] == pytest.approx(test_metrics), "length 10 is the test set"
    assert (tmp_path / "length_generalisation.png").is_file()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["task=subsequence"], r"at length=8 subsequence changes \['target_length'\]"),
        (["task=echo", "model=mlp_window"], r"mlp_window takes one fixed input length"),
        (["task=echo"], r"length=8: echo's default target, lag=5, is outside|lag=5"),
    ],
)
def test_eval_lengths_refuses_what_cannot_be_scored(compose_config, overrides, message):
    lengths = (
        "report.eval_lengths=[3,8]" if overrides == ["task=echo"] else "report.eval_lengths=[8]"
    )
    with pytest.raises(ConfigError, match=message):
        train(compose_config(*overrides, lengths))


def test_solved_in_a_row_stops_only_after_that_many_validations() -> None:
    from types import SimpleNamespace

    from seqtasks.training.callbacks import StopWhenSolved

    stopper = StopWhenSolved(seqtasks.make("echo").spec, in_a_row=2)
    trainer = SimpleNamespace(sanity_checking=False, should_stop=False)  # what the callback uses
    for step, accuracy in [(100, 0.995), (200, 0.9), (300, 0.991), (400, 0.999)]:
        trainer.global_step, trainer.callback_metrics = (
            step,
            {"val/accuracy": torch.tensor(accuracy)},
        )
        stopper.on_validation_end(trainer, None)
        assert trainer.should_stop == (step == 400)  # 100 alone, then 300 and 400 in a row
    assert stopper.solved_at_step == 400 and stopper.state_dict() == {
        "solved_at_step": 400,
        "streak": 2,
    }
    trainer.global_step = 500  # trained on (trainer.min_steps): the first solved step stands
    stopper.on_validation_end(trainer, None)
    assert stopper.solved_at_step == 400 and trainer.should_stop


def test_steps_trained_after_a_stop_log_their_own_loss(compose_config, tmp_path):
    """Lightning writes every step once a stop is asked for and min_steps trains on."""
    overrides = ["task=ramp", "model.lr=0.03", "trainer.max_steps=60", "+trainer.min_steps=60",
                 "+trainer.val_check_interval=4", "trainer.log_every_n_steps=50"]  # fmt: skip
    summary = train(compose_config(*overrides, "report.plots=false"))
    assert summary["solved_at_step"] is not None and summary["solved_at_step"] < 50
    with open(tmp_path / "metrics.csv") as file:
        rows = [row for row in csv.DictReader(file) if row["train/loss"]]
    assert int(rows[-1]["step"]) == 59 and len(rows) > 2, "every step after the stop"
    losses = [row["train/loss"] for row in rows]
    assert len(set(losses)) == len(losses), "no cached value written again"


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "two"])
def test_solved_in_a_row_must_be_a_positive_integer(compose_config, value):
    with pytest.raises(ConfigError, match=rf"solved_in_a_row={value!r}: allowed an integer >= 1"):
        train(compose_config(f"solved_in_a_row={value}", "trainer.max_steps=1"))


def test_a_flat_validation_metric_keeps_the_latest_checkpoint_as_best(compose_config, tmp_path):
    # lr 1e-30: the weights and so the validation metric never change (Adam steps by about lr,
    # far below float32 resolution); Lightning alone would keep the first validation's
    # checkpoint, and the test set would score an older model than the run trained
    train(compose_config("task=classify", "model.lr=1e-30", "trainer.max_steps=24"))
    best = torch.load(tmp_path / "checkpoints/best.ckpt", weights_only=False)
    assert best["global_step"] == 24


def test_best_or_later_keeps_a_tie_and_refuses_a_worse_value() -> None:
    from types import SimpleNamespace

    from seqtasks.training.callbacks import BestOrLater

    trainer = SimpleNamespace(strategy=SimpleNamespace(reduce_boolean_decision=bool))
    for mode, worse, better in (("max", 0.4, 0.6), ("min", 0.6, 0.4)):
        checkpoint = BestOrLater(monitor="val/metric", mode=mode)
        checkpoint.best_k_models, checkpoint.kth_best_model_path = (
            {"a.ckpt": torch.tensor(0.5)},
            "a.ckpt",
        )
        assert checkpoint.check_monitor_top_k(trainer, torch.tensor(0.5))
        assert checkpoint.check_monitor_top_k(trainer, torch.tensor(better))
        assert not checkpoint.check_monitor_top_k(trainer, torch.tensor(worse))


def test_summary_records_the_effective_options_not_null(compose_config, tmp_path):
    summary = train(compose_config("task=echo", "trainer.max_steps=2", "report.plots=false"))
    recorded = json.loads((tmp_path / "summary.json").read_text())["options"]
    assert recorded == summary["options"]
    assert recorded["lag"] == 5 and "position" not in recorded, "lag given, position derived"
    assert recorded["framing"] == "many_to_one" and None not in recorded.values()
    rebuilt = seqtasks.make("echo", **recorded)  # make() takes them back
    assert (rebuilt.lag, rebuilt.position) == (5, 4), "echo's default target"


def test_the_learning_curve_has_the_fits_validations_alone(compose_config, tmp_path, capsys):
    # the final evaluation of best.ckpt is not a point of the curve (it was logged at the last
    # step, as if the model were there); test=false: the table names the stage that judged it
    summary = train(compose_config("task=echo", "trainer.max_steps=16", "report.plots=false",
                                   "test=false"))  # fmt: skip
    from seqtasks.training.report import read_metrics

    steps = [step for step, _ in read_metrics(tmp_path / "metrics.csv")["val/accuracy"]]
    assert steps == [7, 15], steps  # an epoch is 8 batches: steps 8 and 16, counted from 0
    assert summary["test"] == {}
    assert re.search(r"\ncriterion +val/accuracy >= 0.99\n", capsys.readouterr().out)
