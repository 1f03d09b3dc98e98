"""The README's front door: its snippet runs, its gallery is real output, CI runs its tests."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import torch

from seqtasks.__main__ import main as seqtasks_cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_plain_pytorch_snippet_runs_and_learns(capsys):
    snippet = README.split("<!-- snippet: plain-pytorch")[1].split("```python\n")[1]
    snippet = snippet.split("```")[0]
    exec(compile(snippet, "README.md", "exec"), {"__name__": "readme"})
    accuracy = float(re.search(r"test accuracy ([0-9.]+)", capsys.readouterr().out).group(1))
    assert accuracy > 0.9, "the README's loop should learn echo at lag 1"


GALLERY = re.findall(r"```text\n\$ python -m seqtasks (show [^\n]+)\n(.*?)```", README, re.S)


def test_every_problem_has_a_row_in_the_problem_tables():
    import seqtasks

    problems = README.split("## The problems")[1].split("\n## ")[0]
    problems += README.split("Content-based recall")[1].split("**Targets with no answer.**")[0]
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", problems, re.M))
    assert rows == set(seqtasks.available())


def test_gallery_is_present():
    assert len(GALLERY) >= 11


@pytest.mark.parametrize(("command", "shown"), GALLERY, ids=[c for c, _ in GALLERY])
def test_gallery_block_is_the_commands_output(capsys, command, shown):
    assert seqtasks_cli(shlex.split(command)) == 0
    assert capsys.readouterr().out == shown


def test_setup_command_trains_classify_and_ci_runs_the_test_command():
    setup_block = r"## Set up and train, one command\n\n```bash\n([^\n]+)\n```"
    setup = re.search(setup_block, README).group(1)
    assert setup == "make demo"
    makefile = (ROOT / "Makefile").read_text()
    demo = makefile.split("\ndemo:")[1].split("\n\n")[0]
    assert "train.py task=classify" in demo
    test_command = re.search(r"## Run the tests\n\n```bash\n([^\n]+)\n```", README).group(1)
    assert test_command == "make test"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci
    # after it, the wheel from a user's directory that holds its own models.py and training.py
    assert ci.index("\nmake test\n") < ci.index("\ntests/wheel_smoke.sh\n")
    smoke = (ROOT / "tests" / "wheel_smoke.sh").read_text()
    for step in (
        "pip wheel --no-deps",
        '"$WHEEL[train]"',
        "for name in models training",
        "## Public Python API",
        '"$BIN/seqtasks" train',
        'seqtasks-leaderboard" --quick',
    ):
        assert step in smoke, step


def test_own_network_snippets_run_and_learn(monkeypatch, tmp_path):
    section = README.split("### Your own network")[1].split("\n## ")[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "the module and the models.wrap example"
    monkeypatch.chdir(tmp_path)  # Lightning writes its logs in the working directory
    namespace: dict = {"__name__": "readme"}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    trainer = namespace["L"].Trainer(logger=False, enable_progress_bar=False)
    (result,) = trainer.test(namespace["model"], datamodule=namespace["data"], verbose=False)
    assert result["test/accuracy"] > 0.9, "the README's own network should learn echo at lag 3"
    outputs = torch.cat(namespace["outputs"])  # trainer.predict's batches
    assert outputs.shape == (namespace["data"].sizes["test"], namespace["data"].spec.num_classes)


def test_make_demo_installs_only_what_the_demo_needs_and_make_test_the_rest(tmp_path):
    def dry_run(target: str) -> list[str]:
        done = subprocess.run(["make", "-n", target, f"VENV={tmp_path / 'venv'}"], cwd=ROOT,
                              capture_output=True, text=True, check=True)  # fmt: skip
        return [line for line in done.stdout.splitlines() if "pip install" in line]

    demo, test = dry_run("demo"), dry_run("test")
    assert [line.split("pip install ")[1] for line in demo] == ["torch==2.13.0", '-e ".[train]"']
    assert [line.split("pip install ")[1] for line in test] == [
        "torch==2.13.0", '-e ".[train]"', '-e ".[dev]"'
    ]  # fmt: skip


def test_public_api_section_names_real_imports_and_its_example_runs(monkeypatch, tmp_path):
    section = README.split("## Public Python API")[1].split("\n## ")[0]
    for dotted in re.findall(r"`(seqtasks(?:\.\w+)+)", section):  # every name it lists imports
        found = __import__("seqtasks")
        for part in dotted.split(".")[1:]:
            found = getattr(found, part, None) or __import__(
                f"{found.__name__}.{part}", fromlist=["_"]
            )
    (block,) = re.findall(r"```python\n(.*?)```", section, re.S)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme"}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["summary"]["steps"] == 20 and namespace["summary"]["options"]["lag"] == 1
    assert (tmp_path / "runs/from_python/summary.json").exists()
