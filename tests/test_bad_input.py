"""Bad input, through seqtasks.make and train.py: a clear message naming key, value and what is
allowed, raised before anything is trained or written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import seqtasks
from seqtasks.training.run import ConfigError, train

ROOT = Path(__file__).resolve().parents[1]

MAKE_CASES = [
    (("echo",), {"lag": 10}, r"lag=10 is out of range: allowed 0 \.\. 9"),
    (("echo",), {"position": -1}, r"position=-1 is out of range: allowed 0 \.\. 9"),
    (("echo",), {"lag": 1, "position": 2}, r"lag or position, not both: got lag=1 and position=2"),
    (("echo",), {"vocab": 1}, r"vocab=1 is out of range: allowed 2 \.\."),
    (("ramp",), {"window": 10}, r"window=10 is out of range: allowed 1 \.\. 9"),
    (("subsequence",), {"framing": "seq2seq", "start": 3, "size": 3},
     r"size=3 is out of range: allowed 1 \.\. 2"),
    (("classify",), {"length": 0}, r"length=0 is out of range: allowed >= 1"),
    (("classify",), {"framing": "seq2seq"}, r"framing='seq2seq' is not available for classify"),
    (("memorize",), {"encoding": "real"}, r"encoding='real' is not available for memorize: "
                                          r"choose one of \['onehot', 'index', 'scaled'\]"),
    (("echo",), {"length": "10"}, r"length must be an int, got '10' \(str\)"),
    (("echo",), {"lagg": 1}, r"echo has no option 'lagg': allowed options are \['length'"),
    (("nope",), {}, r"unknown problem 'nope': choose one of \['ramp', 'memorize'"),
    # devices that do not exist or hold no data, and sizes no batch can hold: refused at make
    (("echo",), {"device": "meta"}, r"device='meta' cannot hold the generated data \(meta "
                                    r"tensors hold no values\): available devices are \['cpu'"),
    (("echo",), {"device": "cuda:7"}, r"device='cuda:7' cannot hold the generated data .*"
                                      r"available devices are \['cpu'"),
    (("echo",), {"device": 2**63}, r"device must be a str or torch.device such as 'cpu' or "
                                   r"'cuda:0', got 9223372036854775808 \(int\)"),
    (("echo",), {"device": "toaster"}, r"device='toaster' is not a torch device"),
    (("classify",), {"length": 2**31}, r"length=2147483648: samples of 2147483648 steps are "
                                       r"above the limit of MAX_STEPS = 1048576 steps"),
    (("multiply",), {"length": 10**12}, r"length=1000000000000: samples of 1100000000000 steps "
                                        r"are above the limit of MAX_STEPS"),
    (("echo",), {"vocab": 10**8}, r"length=10, vocab=100000000 \(encoding='onehot'\): samples "
                                  r"of 10 steps x 100000000 values = 1000000000 values are above "
                                  r"the limit of MAX_BATCH_VALUES = 268435456 values per batch"),
    (("memorize_long",), {"variant": "2c", "max_extra": 2**21},
     r"p=100, q=100, max_extra=2097152: samples of 2097255 steps are above the limit"),
    (("classify",), {"length": 1000, "batch_size": 2**20, "num_samples": 2**30},
     r"batch_size=1048576 is too large for samples of 1000 values \(length=1000\): a batch "
     r"holds at most MAX_BATCH_VALUES = 268435456 values, allowed batch_size <= 268435"),
    (("echo",), {"num_samples": 2**63}, r"num_samples=9223372036854775808 is out of range: "
                                        r"allowed 1 \.\. 9223372036854775807"),
    (("classify",), {"threshold": float("inf")}, r"threshold=inf is out of range"),
    (("ramp",), {"length": 2**40}, r"length=1099511627776 is out of range: allowed 2 \.\. 1048576"),
]  # fmt: skip

if not torch.cuda.is_available():  # without a GPU, 'cuda' names no device
    MAKE_CASES.append((("echo",), {"device": "cuda"}, r"device='cuda' cannot hold the generated "
                       r"data \(this machine has no cuda device\): available devices are "
                       r"\['cpu'\]"))  # fmt: skip

TRAIN_CASES = [
    (["task=echo", "task.lag=10"], r"lag=10 is out of range: allowed 0 \.\. 9"),
    (["task=echo", "task.length=abc"], r"length must be an int, got 'abc'"),
    (["task=ramp", "task.window=10"], r"window=10 is out of range"),
    (["task=subsequence", "task.start=1"], r"start=1 applies to framing='seq2seq' only"),
    (["task=classify", "task.threshold=1.5"], r"threshold=1.5 is out of range"),
    (["task=classify", "task.encoding=onehot"], r"encoding='onehot' is not available"),
    (["+task.lagg=3"], r"classify has no option 'lagg': allowed options are"),
    (["+task.seed=3"], r"option seed=3 is set by SequenceDataModule: use seed= and eval_seed="),
    (["+task.num_samples=9"], r"num_samples=9 is set by SequenceDataModule: use train_samples="),
    (["model=seq2seq"], r"model=seq2seq cannot serve framing='one_to_one'.*models for"),
    (["task=subsequence", "task.framing=seq2seq", "model=mlp"],
     r"model=mlp cannot serve framing='seq2seq'.*"
     r"\['lstm', 'gru', 'rnn', 'transformer', 'mlp_window'"),
    (["model.hidden_size=abc"], r"model=lstm: hidden_size must be an int, got 'abc'"),
    (["model.lr=-1"], r"model=lstm: lr=-1 is out of range"),
    (["+model.hiden=3"], r"model=lstm has no option 'hiden' \(given 3\): allowed model options"),
    (["trainer=gpu"], r"trainer.accelerator=gpu needs a CUDA GPU"),
    (["+trainer.foo=1"], r"trainer.foo=1 is not a lightning.Trainer argument"),
    (["trainer.max_steps=abc"], r"trainer.max_steps='abc' must be an int"),
    (["trainer.precision=banana"], r"Precision 'banana' is invalid. Allowed precision values"),
    (["data.batch_size=0"], r"batch_size=0 is out of range: allowed >= 1"),
    (["data.train_samples=0"], r"train_samples=0 is out of range: allowed >= 1"),
    (["data.train_samples=20"], r"train_samples=20 is below batch_size=32: an epoch would be one "
                                r"batch of 20; allowed train_samples >= batch_size"),
    (["data.num_workers=-1"], r"num_workers=-1 is out of range: allowed >= 0"),
    (["+data.bach=3"], r"data.bach=3 is not a known setting: allowed data keys are"),
    (["+foo=1"], r"foo=1 is not a known setting: allowed top-level keys are"),
    (["seed=-1"], r"seed=-1 must be an int >= 0"),
    (["ckpt_path=/no/such.ckpt"], r"ckpt_path='/no/such.ckpt': no checkpoint file"),
    (["checkpoint.every_n_steps=-3"], r"checkpoint.every_n_steps=-3 must be an int >= 0"),
    (["model.num_layers=2", "model.dropout=1.0"],
     r"model=lstm: dropout=1.0 is out of range: allowed 0.0 <= dropout < 1.0"),
    (["model.weight_decay=-0.1"], r"weight_decay=-0.1 is out of range: allowed 0.0 <= weight_dec"),
    (["seed=4294967296"], r"seed=4294967296 is above 4294967295: allowed 0 <= seed <= 4294967295"),
    (["data.eval_seed=-1"], r"data.eval_seed=-1 must be an int >= 0"),
    (["data.device=cuda"], r"data.device=cuda needs a CUDA GPU and none is available here"),
    (["trainer.deterministic=yes"], r"trainer.deterministic='yes': allowed true, false, warn or"),
    (["trainer.max_time=00:00:00:00"], r"trainer.max_time='00:00:00:00' is no time: allowed a "),
    (["trainer.max_time={minutes:-5}"], r"trainer.max_time=\{'minutes': -5\} is no time"),
    (["trainer.max_time={minits:5}"], r"trainer.max_time=\{'minits': 5\}: give DD:HH:MM:SS"),
    (["+trainer.min_steps=-5"], r"trainer.min_steps=-5 must be an int >= 0 \(or null\)"),
    (["+trainer.num_sanity_val_steps=-5"], r"trainer.num_sanity_val_steps=-5 must be an int >= -1"),
    (["trainer.max_steps=2", "+trainer.min_steps=100"],
     r"trainer.min_steps=100 is above trainer.max_steps=2: the run would stop at max_steps"),
    (["trainer.precision=16-mixed"], r"trainer.precision=16-mixed: float16 autocast needs a CUDA"),
    (["+trainer.overfit_batches=0.25"], r"trainer.overfit_batches=0.25 leaves none of the 1 val "),
    (["trainer.max_steps=5", "+trainer.overfit_batches=2", "+trainer.min_epochs=3"],
     r"trainer.min_epochs=3 needs 6 steps \(2 batches an epoch\)"),
    (["trainer.max_steps=2", "+trainer.min_epochs=5"],
     r"trainer.min_epochs=5 needs 40 steps \(8 batches an epoch\) and trainer.max_steps=2 stops"),
]  # fmt: skip

if torch.cuda.is_available():  # the gpu refusals are only for machines without one
    NEED_NO_GPU = (["trainer=gpu"], ["data.device=cuda"])
    TRAIN_CASES = [case for case in TRAIN_CASES if case[0] not in NEED_NO_GPU]


def test_at_least_25_bad_inputs_are_walked():
    assert len(MAKE_CASES) + len(TRAIN_CASES) >= 25


@pytest.mark.parametrize(("args", "options", "message"), MAKE_CASES)
def test_make_refuses(args, options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        seqtasks.make(*args, **options)


def test_generate_refuses_more_samples_than_a_batch_holds():
    dataset = seqtasks.make("memorize_long", p=1000, num_samples=10**6)  # 10^6 values a sample
    with pytest.raises(ValueError, match=r"count=300 is above the limit of 268 samples per batch"):
        dataset.generate(0, 300)
    assert dataset.max_batch == seqtasks.MAX_BATCH_VALUES // (1000 * 1001) == 268
    assert dataset.generate(0, 2)[0].shape == (2, 1000, 1001)


@pytest.mark.parametrize(("overrides", "message"), TRAIN_CASES)
def test_train_refuses_before_writing_anything(compose_config, tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        train(compose_config(*overrides))
    assert not any(tmp_path.iterdir()), "no half-made run directory"


def test_diverging_training_stops_with_a_message(compose_config, tmp_path):
    cfg = compose_config("task=ramp", "model.lr=1e30", "trainer.gradient_clip_val=null",
                         "trainer.max_steps=200")  # fmt: skip
    with pytest.raises(FloatingPointError, match=r"training diverged: loss is (nan|inf)"):
        train(cfg)
    assert not (tmp_path / "summary.json").exists(), "a diverged run presents no result"


@pytest.mark.parametrize(
    ("overrides", "code", "message"),
    [
        (["task=echo", "task.lag=10"], 2, "error: task=echo: lag=10 is out of range"),
        # a subprocess each (about 5 s): a mistyped key or choice, caught before Hydra, -m slow
        pytest.param(
            ["task.lagg=3"],
            2,
            "task (classify) has no key 'lagg': allowed task keys",
            marks=pytest.mark.slow,
        ),
        pytest.param(
            ["task=nope"], 2, "task=nope: no such task: choose one of", marks=pytest.mark.slow
        ),
    ],
)
def test_train_py_exits_nonzero_and_leaves_no_run_dir(tmp_path, overrides, code, message):
    run_dir = tmp_path / "run"
    command = [sys.executable, "train.py", *overrides, f"hydra.run.dir={run_dir}"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == code
    assert message in done.stderr
    assert not run_dir.exists()


def test_multirun_with_ddp_is_refused(tmp_path):
    command = [sys.executable, "train.py", "-m", "trainer=ddp", "trainer.accelerator=cpu",
               f"hydra.sweep.dir={tmp_path}/sweep"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "under Hydra multirun (-m) is not supported" in done.stderr
    assert not (tmp_path / "sweep" / "0").exists()


def test_a_refused_job_of_a_multirun_does_not_stop_the_others(tmp_path):
    command = [sys.executable, "train.py", "-m", "task=echo", "model=seq2seq,mlp",
               "trainer.max_steps=2", "report.plots=false", "test=false",
               f"hydra.sweep.dir={tmp_path}/sweep"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "error: model=seq2seq cannot serve framing='many_to_one'" in done.stderr
    assert done.stderr.rstrip().endswith("error: 1 job(s) of the sweep failed (each message above)")
    assert not (tmp_path / "sweep" / "0").exists()  # the refused job leaves nothing
    assert (tmp_path / "sweep" / "1" / "summary.json").is_file()  # the job after it ran


def test_a_diverged_job_of_a_multirun_is_counted_once_and_not_scored(tmp_path):
    command = [sys.executable, "train.py", "-m", "task=adding", "model=mlp", "model.lr=1e30,0.01",
               "trainer.max_steps=20", "report.plots=false", "test=false",
               f"hydra.sweep.dir={tmp_path}/sweep"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "error: training diverged" in done.stderr
    assert "trial scored as the worst" not in done.stderr  # no Optuna search here
    assert done.stderr.rstrip().endswith("error: 1 job(s) of the sweep failed (each message above)")
    assert (tmp_path / "sweep" / "1" / "summary.json").is_file()
