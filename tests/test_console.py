"""Console commands (``seqtasks list|show|train``, ``seqtasks-train``), the wheel, quiet runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import seqtasks
from seqtasks.__main__ import COMMON, main
from seqtasks.registry import PROBLEMS, options

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WARNING_LINE = re.compile(r"^\S+\.py:\d+: ", re.M)  # how Python and Lightning print a warning


def entries(text: str) -> dict[str, dict[str, str]]:
    """``seqtasks list`` output as {problem: {field: value}}."""
    found = {}
    for block in text.split("\n\n"):
        head, *fields = block.splitlines()
        name = head.split(":")[0]
        if name in PROBLEMS:
            found[name] = dict(line.strip().split(None, 1) for line in fields)
    return found


def test_list_shows_every_problem_with_framings_encodings_and_option_defaults(capsys):
    assert main(["list"]) == 0
    listed = entries(capsys.readouterr().out)
    assert list(listed) == seqtasks.available()
    for name, fields in listed.items():
        problem = PROBLEMS[name]
        framings = fields["framings"].replace(" (default)", "").split(", ")
        assert framings == list(problem.framings)
        assert fields["framings"].startswith(f"{problem.framings[0]} (default)")
        assert fields["encodings"].replace(" (default)", "").split(", ") == list(problem.encodings)
        shown = dict(item.split("=", 1) for item in re.split(r", (?=\w+=)", fields["options"]))
        own = {k: v for k, v in options(name).items() if k not in COMMON}
        assert list(shown) == list(own), name
        for key, default in own.items():
            if default is not None:
                assert shown[key] == repr(default), (name, key)
                continue
            for framing in problem.framings:  # what the problem uses when the option is None
                used = getattr(seqtasks.make(name, framing=framing), key)
                given = {key: used} if used is not None else {}
                try:  # a framing that refuses the option given is not described
                    seqtasks.make(name, framing=framing, **given)
                except ValueError:
                    assert framing not in shown[key], (name, key)
                    continue
                expected = repr(used)
                assert shown[key] == "None" if used is None else expected in shown[key], (name, key)
        assert fields["targets"] == ("classes" if problem.target == "classes" else "real values")


def test_effective_defaults_cover_the_options_every_problem_takes_too():
    from seqtasks.listing import effective_defaults

    found = effective_defaults("subsequence")
    assert found["framing"] == {f: f for f in ("many_to_one", "one_to_one", "seq2seq")}
    assert found["start"] == {"seq2seq": 0} and found["size"] == {"seq2seq": 3}


def test_list_shows_the_effective_defaults_the_issue_names(capsys):
    assert main(["list", "echo", "ramp", "subsequence"]) == 0
    listed = entries(capsys.readouterr().out)
    assert listed["echo"]["options"] == (
        "length=10, vocab=100, lag=None (means 5), position=None (means 4)"
    )
    assert "window=None (means 1 for many_to_one, 9 for one_to_one)" in listed["ramp"]["options"]
    assert listed["subsequence"]["options"].endswith(
        "start=None (means 0 for seq2seq), size=None (means 3 for seq2seq)"  # seq2seq's options
    )


def test_list_models_names_every_model_with_its_classes_and_options(capsys):
    from seqtasks import models

    assert main(["list", "models"]) == 0
    out = capsys.readouterr().out
    assert "every problem also takes" not in out and "experiments (" not in out
    listed = {block.split(":")[0]: block for block in out.split("\n\n")[1:]}
    assert list(listed) == models.available()
    for name, family in models.FAMILIES.items():
        serves = ", ".join(f"{framing} {cls.__name__}" for framing, cls in family.items())
        assert f"\n  framings   {serves}\n" in listed[name]
    assert "  options    hidden_size=128 num_layers=1" in listed["lstm"]
    assert "model.net._target_=pkg.Class" in listed["custom"]


def test_list_experiments_names_every_preset_and_what_it_runs(capsys):
    assert main(["list", "experiments"]) == 0
    out = capsys.readouterr().out
    presets = sorted(p.stem for p in (ROOT / "training/conf/experiment").glob("*.yaml"))
    listed = {block.split(":")[0]: block for block in out.split("\n\n")[1:]}
    assert list(listed) == presets
    assert listed["paper_4"].startswith(
        "paper_4: Hochreiter & Schmidhuber (1997), Experiment 4, the adding problem at T=100"
    )
    assert (
        "\n  runs       task=adding (length=100 vary_length=True) model=lstm (" in listed["paper_4"]
    )


def test_show_names_the_count_flag(capsys):
    assert main(["show", "echo", "-n", "0"]) == 2
    assert capsys.readouterr().err == "error: -n 0: the number of samples to show is 1 or more\n"


def test_list_of_named_problems_and_an_unknown_one(capsys):
    assert main(["list", "echo", "classify"]) == 0
    assert list(entries(capsys.readouterr().out)) == ["echo", "classify"]
    assert main(["list", "nope"]) == 2
    assert (
        "unknown problem or section 'nope': choose problems of ['ramp'" in capsys.readouterr().err
    )


def test_show_is_kept(capsys):
    assert main(["show", "echo", "lag=1", "-n", "2"]) == 0
    assert capsys.readouterr().out.startswith("echo: framing=many_to_one")


def run_command(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", [["seqtasks-train"], ["seqtasks", "train"]])
def test_installed_train_command_finds_the_configs_from_anywhere(tmp_path, command):
    if not (BIN / command[0]).exists():
        pytest.skip(f"{command[0]} is not installed (pip install -e .)")
    done = run_command(str(BIN / command[0]), *command[1:], "task=echo", "task.lag=2",
                       "logger=tensorboard", "--cfg", "job", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "name: echo" in done.stdout and "lag: 2" in done.stdout
    assert "TensorBoardLogger" in done.stdout
    assert not any(tmp_path.iterdir()), "--cfg job only prints"


def test_train_command_names_the_module_a_ddp_launch_runs_again(monkeypatch):
    # Lightning starts the other DDP ranks as `python -m <__main__'s module>` (or runs argv[0]):
    # for `seqtasks train` that must be the training entry point, not "seqtasks train"
    from lightning.fabric.strategies.launchers.subprocess_script import _basic_subprocess_cmd

    launched = []
    monkeypatch.setattr(
        "seqtasks.training.cli.main", lambda: launched.append(_basic_subprocess_cmd())
    )
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    assert main(["train", "task=echo", "trainer=ddp"]) == 0
    assert launched == [[sys.executable, "-m", "seqtasks.training.cli", "task=echo", "trainer=ddp"]]


@pytest.mark.slow  # a DDP launch: two processes
@pytest.mark.parametrize("command", [["seqtasks", "train"], ["python", "-m", "seqtasks", "train"]])
def test_train_command_trainer_ddp_from_another_directory(tmp_path, command):
    program = sys.executable if command[0] == "python" else str(BIN / command[0])
    done = run_command(program, *command[1:], "task=classify", "trainer=ddp",
                       "trainer.accelerator=cpu", "trainer.max_steps=4", "data.train_samples=2048",
                       "trainer.enable_progress_bar=false", "report.plots=false",
                       f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "run/summary.json").read_text())
    assert (summary["steps"], summary["samples"]) == (4, 2 * 4 * 256), "two ranks trained"


def test_installed_list_command(tmp_path):
    if not (BIN / "seqtasks").exists():
        pytest.skip("seqtasks is not installed (pip install -e .)")
    done = run_command(str(BIN / "seqtasks"), "list", cwd=tmp_path)
    assert done.returncode == 0 and list(entries(done.stdout)) == seqtasks.available()


def test_wheel_ships_every_config_and_both_commands(tmp_path):
    pytest.importorskip("setuptools")
    built = run_command(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "-q", str(ROOT), "-w", str(tmp_path), cwd=tmp_path)  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("seqtasks-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # one import root: no top-level models or training for a user's own files to collide with
    assert {name.split("/")[0] for name in names} == {"seqtasks", "seqtasks-0.1.0.dist-info"}
    assert {"seqtasks/models/__init__.py", "seqtasks/training/run.py"} <= names
    configs = {f"seqtasks/training/{p.relative_to(ROOT / 'training').as_posix()}"
               for p in (ROOT / "training" / "conf").rglob("*.yaml")}  # fmt: skip
    assert len(configs) >= 30 and configs <= names
    points = zipfile.ZipFile(wheel).read("seqtasks-0.1.0.dist-info/entry_points.txt").decode()
    assert "seqtasks = seqtasks.__main__:main" in points
    assert "seqtasks-train = seqtasks.training.cli:main" in points


def test_a_default_run_prints_no_warning(tmp_path):
    # the default configuration at a smaller budget: 80 batches of 32, one validation
    done = run_command(sys.executable, "train.py", "task=classify", "data.batch_size=32",
                       "data.train_samples=2560", "trainer.max_steps=80",
                       f"hydra.run.dir={tmp_path / 'run'}", cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert WARNING_LINE.findall(done.stderr + done.stdout) == [], done.stderr
    assert "litlogger" not in done.stderr + done.stdout  # Lightning's advertisement, filtered
    # Hydra's job log holds the run: the command, Lightning's messages and the outcome
    log = (tmp_path / "run/cli.log").read_text()  # Hydra's job name: the entry point, cli
    assert "][seqtasks.training.cli][INFO] - train.py task=classify data.batch_size=32" in log
    assert "`Trainer.fit` stopped: `max_steps=80` reached." in log
    assert "outcome:\nproblem           classify (one_to_one)\n" in log
    assert "steps             80\nsamples           2,560\n" in log
    assert "[INFO]" not in done.stdout + done.stderr, "the terminal output is as before"


def test_seqtasks_train_writes_its_log_into_cli_log(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    run = tmp_path / "run"
    assert main(["train", "task=echo", "task.lag=1", "data.batch_size=32", "data.train_samples=64",
                 "data.val_samples=32", "data.test_samples=32", "report.plots=false",
                 "trainer.max_steps=4", "trainer.enable_progress_bar=false",
                 f"hydra.run.dir={run}"]) == 0  # fmt: skip
    log = (run / "cli.log").read_text()
    assert "][seqtasks.training.cli][INFO] - seqtasks train task=echo task.lag=1 " in log
    assert "outcome:\nproblem           echo (many_to_one)\n" in log


@pytest.mark.slow
def test_the_readme_default_command_prints_no_warning(tmp_path):
    done = run_command(sys.executable, "train.py", "task=classify",
                       f"hydra.run.dir={tmp_path / 'run'}", cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "solved            yes" in done.stdout
    assert WARNING_LINE.findall(done.stderr + done.stdout) == [], done.stderr
