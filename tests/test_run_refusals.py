"""train() refuses, before anything is written, what it cannot honour: a network that fails on the
problem's inputs, trainer settings the harness sets itself, booleans given as strings, and a
resume whose configuration differs from its checkpoint's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_module
from torch import nn

from seqtasks.training.run import ConfigError, build_model, train

HERE = "tests.test_run_refusals"
TINY = ["trainer.max_steps=4", "report.plots=false", "data.train_samples=64",
        "data.val_samples=16", "data.test_samples=16", "data.eval_batch_size=16"]  # fmt: skip


class WrongWidth(nn.Module):
    """A Linear of the wrong input width: torch raises inside forward."""

    def __init__(self, spec, width: int = 8) -> None:
        super().__init__()
        self.linear = nn.Linear(spec.input_size + 3, 2)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.linear(inputs)


class ChecksItsInputs(nn.Module):
    """A forward that refuses its inputs with a ValueError from a method of the same name as the
    harness's own shape check: still reported as the network's failure on the inputs."""

    def __init__(self, spec) -> None:
        super().__init__()
        self.linear = nn.Linear(spec.input_size, 2)

    def check_output(self, inputs: torch.Tensor) -> None:
        raise ValueError(f"expected 3 features, got {inputs.shape[-1]}")

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        self.check_output(inputs)
        return self.linear(inputs)


class TupleWhileTraining(nn.Module):
    """Right in eval mode; in training mode it also returns an auxiliary output."""

    def __init__(self, spec) -> None:
        super().__init__()
        self.linear = nn.Linear(spec.input_size, 2)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        logits = self.linear(inputs)  # (B, T, 2)
        return (logits, logits.mean()) if self.training else logits


class TimeFirstLSTM(nn.Module):
    """An nn.LSTM left at batch_first=False: it reads (B, T, F) as (T, B, F), shapes all right."""

    def __init__(self, spec) -> None:
        super().__init__()
        self.lstm = nn.LSTM(spec.input_size, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(inputs)[0])  # (B, T, 2), computed along the batch


class Detached(nn.Module):
    """An output no parameter acts on: nothing would train."""

    def __init__(self, spec) -> None:
        super().__init__()
        self.linear = nn.Linear(spec.input_size, 2)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.linear(inputs).detach()


class TwoArguments(nn.Module):
    """A forward that wants the lengths too: the harness passes the inputs alone."""

    def __init__(self, spec) -> None:
        super().__init__()
        self.linear = nn.Linear(spec.input_size, 2)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.linear(inputs)


REFUSED = [
    (["model=custom", f"model.net._target_={HERE}.WrongWidth"],
     r"model=custom: tests.test_run_refusals.WrongWidth failed on inputs \(8, 10, 1\) "
     r"\(torch.float32\), the shape of classify's inputs \(encoding real\): RuntimeError: "
     r"mat1 and mat2 shapes cannot be multiplied"),
    (["model=custom", f"model.net._target_={HERE}.TwoArguments"],
     r"model=custom: .*TwoArguments failed on inputs \(8, 10, 1\).*TypeError: .*missing 1 "
     r"required positional argument: 'lengths'"),
    (["model=custom", f"model.net._target_={HERE}.ChecksItsInputs"],
     r"model=custom: .*ChecksItsInputs failed on inputs \(8, 10, 1\) \(torch.float32\).*"
     r"ValueError: expected 3 features, got 1 \(forward\(inputs\) is called with the inputs"),
    (["model=custom", f"model.net._target_={HERE}.TupleWhileTraining"],
     r"model=custom: tests.test_run_refusals.TupleWhileTraining in training mode returned a "
     r"tuple, not a tensor of shape \(8, 10, 2\)"),
    (["model=custom", f"model.net._target_={HERE}.TimeFirstLSTM"],
     r"model=custom: tests.test_run_refusals.TimeFirstLSTM: one sample's output depends on the "
     r"other samples of the batch \(rolling the batch of inputs \(8, 10, 1\) did not roll the "
     r"outputs\).*without batch_first=True"),
    (["model=custom", f"model.net._target_={HERE}.Detached"],
     r"Detached in training mode returned an output that no parameter acts on "
     r"\(requires_grad=False"),
    (["model=transformer", "model.position=learned", "model.max_positions=12",
      "report.eval_lengths=[20]"],
     r"report.eval_lengths: the model cannot take length=20: CausalTransformer ValueError: "
     r"position=learned has max_positions=12 positions, but the input has 20 steps"),
    (["task=memorize", "task.length=5", "report.eval_lengths=[10]"],
     r"at length=10 memorize changes \['input_size', 'num_classes'\], which a model trained at "
     r"length=5 cannot take"),
    (["trainer.devices=0"], r"trainer: `Trainer\(devices=0\)` value is not a valid input"),
    (["trainer.max_time=banana"], r"trainer: `Timer\(duration='banana'\)` is not a valid"),
    (["trainer.max_time=600"], r"trainer.max_time=600: give DD:HH:MM:SS \(e.g. 00:00:10:00\)"),
    (["trainer.log_every_n_steps=0"], r"trainer.log_every_n_steps=0 must be an int >= 1"),
    (["trainer.gradient_clip_val=-1"], r"trainer.gradient_clip_val=-1 must be a number >= 0"),
    (["+trainer.enable_checkpointing=false"], r"trainer.enable_checkpointing=False: runs always "
                                              r"keep checkpoints"),
    (["+trainer.max_epochs=1"], r"trainer.max_epochs=1 is set by the harness itself: .*use "
                                r"trainer.max_steps"),
    (["+trainer.logger=false"], r"trainer.logger=False is set by the harness itself: choose "
                                r"loggers with the logger=\.\.\. config group"),
    (["+trainer.callbacks=null"], r"trainer.callbacks=None is set by the harness itself"),
    (["+trainer.plugins=null"], r"trainer.plugins=None is set by the harness itself"),
    (["+trainer.default_root_dir=elsewhere"], r"trainer.default_root_dir='elsewhere' is set by "
                                              r"the harness itself: .*hydra.run.dir"),
    (["test=no"], r"test='no' must be a bool: allowed true or false"),
    (["test=banana"], r"test='banana' must be a bool: allowed true or false"),
    (["report.plots=no"], r"report.plots='no' must be a bool: allowed true or false"),
    (["trainer.enable_progress_bar=no"], r"trainer.enable_progress_bar='no' must be a bool"),
    (["trainer.max_steps=0"], r"trainer.max_steps=0 must be an int >= 1 \(or -1: no limit\)"),
    (["+trainer.limit_val_batches=0"], r"trainer.limit_val_batches=0: validation is how a run "
                                       r"is scored"),
    (["+trainer.limit_val_batches=0.0"], r"trainer.limit_val_batches=0.0: validation"),
    (["trainer.strategy=ddp_spawn"], r"trainer.strategy=ddp_spawn: its processes keep the run's "
                                     r"steps, sequences and metrics to themselves"),
    (["+trainer.limit_train_batches=0"], r"trainer.limit_train_batches=0: a run trains on it"),
    (["+trainer.limit_train_batches=0.001"], r"trainer.limit_train_batches=0.001 leaves none of "
                                             r"the 2 train batches: allowed a fraction >= 1/2"),
    (["+trainer.limit_val_batches=0.01"], r"leaves none of the 1 val batches"),
    (["+trainer.accumulate_grad_batches=0"], r"trainer.accumulate_grad_batches=0 must be an int"),
    (["+trainer.check_val_every_n_epoch=0"], r"check_val_every_n_epoch=0 must be an int >= 1 "
                                             r"\(or null\)"),
    (["+trainer.val_check_interval=0"], r"val_check_interval=0: allowed a number of batches"),
    (["+trainer.val_check_interval=50"], r"trainer.val_check_interval=50 is past the 2 training "
                                         r"batches of an epoch"),
    (["report.eval_lengths=5"], r"report.eval_lengths=5 must be a list of lengths"),
    (["+trainer.limit_test_batches=0"], r"trainer.limit_test_batches=0: the final test scores "
                                        r"the best checkpoint \(test=false skips it\)"),
    (["task=ramp", "+optimized_metric=val/accuracy"], r"optimized_metric='val/accuracy': this "
                                                      r"model on this problem logs \['val/loss', "
                                                      r"'val/mae', 'val/mse'\]"),
    (["+optimized_metric=val/acc"], r"optimized_metric='val/acc': .* logs \['val/loss', "
                                    r"'val/accuracy', 'val/exact_match'\]; or choose one of"),
    (["+optimized_metric=test/loss"], r"optimized_metric='test/loss' must be a val/ metric"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "message"), REFUSED)
def test_refused_before_anything_is_written(compose_config, tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        train(compose_config(*TINY, *overrides))
    assert not any(tmp_path.iterdir()), "no half-made run directory"


# ---------------------------------------------------------------------------- resuming


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
        ("+trainer.limit_train_batches=2", r"trainer.limit_train_batches: None -> 2"),
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
    # the LSTM's lr defaults to 0.003 in Python; the run used the config's 0.01
    with pytest.raises(ConfigError, match=r"\n  model.lr: absent -> 0.01\n"):
        resume_check(a_copy(trained, tmp_path), {"hyper_parameters": ["lr"]})
