"""train() refuses, before anything is written, what it cannot honour: a network that fails on the
problem's inputs (or mixes samples, or trains nothing), trainer settings the harness sets itself
or Lightning would refuse only later, booleans given as strings (a resume's refusals:
tests/test_resume_refusals.py)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqtasks.training.run import ConfigError, train

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
    (["report.eval_lengths=[20,30,20]"],
     r"report.eval_lengths=\[20, 30, 20\] lists \[20\] more than once: each length has one test "
     r"set and one score; list it once"),
    (["model.embedding_size=64"],
     r"model=lstm: embedding_size=64 sizes the embedding of index inputs, but this problem's "
     r"inputs are encoding='real' \(input_size=1, taken as they are\): leave embedding_size at "
     r"32$"),  # classify has no symbols: no index encoding to suggest
    (["model=transformer", "model.max_positions=64"],
     r"model=transformer: max_positions=64 sizes the table of position=learned, but "
     r"position='sinusoidal'"),
    (["task=memorize", "task.length=5", "report.eval_lengths=[10]"],
     r"at length=10 memorize changes \['input_size', 'num_classes'\], which a model trained at "
     r"length=5 cannot take"),
    (["trainer.devices=0"], r"trainer: `Trainer\(devices=0\)` value is not a valid input"),
    (["trainer.max_time=banana"], r"trainer.max_time='banana': give DD:HH:MM:SS \(e.g. 00:00"),
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


def test_the_batch_checks_read_one_ranks_share_and_let_a_duration_pass() -> None:
    from seqtasks.training import checks

    checks.check_trainer_options({"val_check_interval": "00:00:00:30"})  # a duration: Lightning's
    checks.check_trainer_options({"val_check_interval": {"seconds": 30}})
    batches = {"train": 10, "val": 2, "test": 2}
    checks.check_batch_counts({"val_check_interval": 10}, batches)  # one process: 10 batches
    with pytest.raises(ConfigError, match=r"val_check_interval=10 is past the 5 training batches"):
        checks.check_batch_counts({"val_check_interval": 10, "devices": 2}, batches)
