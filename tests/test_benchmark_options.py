"""The benchmarks' command lines refuse a bad option by name before any work, and before any saved
file is touched or any folder is made."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

from seqtasks.benchmarks import (
    architectures,
    keep_memory,
    longlag,
    readme,
    readout,
    suite,
    throughput,
    time_to_solve,
)
from seqtasks.benchmarks.board import BOARD, FULL, QUICK

REFUSED = [
    (longlag.main, ["--seeds", "0"], "--seeds=0: must be >= 1"),
    (longlag.main, ["--seconds", "0"], "--seconds=0.0: must be finite and > 0"),
    (longlag.main, ["--seconds", "nan"], "--seconds=nan: must be finite and > 0"),
    (longlag.main, ["--only", ","], "--only=',': no preset named"),
    (longlag.main, ["--table-only"], "--table-only: no saved runs in "),
    (architectures.main, ["--seconds", "inf"], "--seconds=inf: must be finite and > 0"),
    (architectures.main, ["--seeds", "-1"], "--seeds=-1: must be >= 1"),
    (architectures.main, ["--steps", "0"], "--steps=0: must be >= 1"),
    (architectures.main, ["--seconds", "-2"], "--seconds=-2.0: must be finite and > 0"),
    (architectures.main, ["--models", "rnn", "--problems", "ramp (default)"],
     "--models rnn --problems ['ramp (default)']: no run: only lstm runs the default sizes"),
    (throughput.main, ["--threads", "0"], "--threads=0: must be >= 1"),
    (throughput.main, ["--repeats", "0"], "--repeats=0: must be >= 1"),
    (throughput.main, ["--seconds", "-1"], "--seconds=-1.0: must be finite and > 0"),
    (suite.main, ["--time-limit", "-5"], "--time-limit=-5.0: must be >= 0"),
    (suite.main, ["--max-steps", "0"], "--max-steps=0: must be >= 1"),
    (suite.main, ["--problems", ","], "--problems ,: no problem named; allowed: ['ramp'"),
    (readme.main, ["--board", "nowhere"], "--board: no file nowhere/leaderboard.md"),
    (readout.main, ["--models", "nope", "lstm"], "--models nope,lstm: ['nope']: not a family"),
    (readout.main, ["--models", "seq2seq"], "allowed: ['gru', 'linear_attention', 'lru'"),
    (keep_memory.main, ["--families", "seq2seq"], "--families seq2seq: ['seq2seq']: not a fam"),
    (keep_memory.main, ["--families", ""], "--families : no model named: not a family"),
    (time_to_solve.main, ["model.bogus=1"], "overrides model.bogus=1: task=ramp: Could not "
                                            "override 'model.bogus'"),
    (time_to_solve.main, ["model=nope", "--tasks", "echo"], "task=echo: In 'config': Could not "
                                                            "find 'model/nope'"),
    (suite.main, ["model.kernel_size=3"], "model.kernel_size=3 (they reach every model: give "
                                          "model=NAME to run one alone): model=lstm, case="),
    (suite.main, ["model=nowhere"], "model=nowhere, case=echo/lag=5: In 'config': Could not find "
                                    "'model/nowhere' Available options in 'model': custom gru"),
    (suite.main, ["model=tcn", "+model.kernel_size=3"], "Could not append to config. An item is "
                                                        "already at 'model.kernel_size'"),
]  # fmt: skip


@pytest.mark.parametrize(("main", "argv", "message"), REFUSED)
def test_a_bad_option_is_refused_by_name(main, argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = [] if main in (throughput.main, readme.main) else ["--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as stopped:
        main([*argv, *out])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists(), "nothing made before the refusal"


FOLDER_OUT = ["architectures", "chunks", "device", "families", "inits", "keep_memory", "longlag",
              "lookup", "optimizers", "readout", "scan"]  # fmt: skip


@pytest.mark.parametrize("name", [*FOLDER_OUT, "throughput", "time_to_solve"])
def test_an_out_that_cannot_be_written_is_refused_before_measuring(name, tmp_path, capsys):
    module = importlib.import_module(f"seqtasks.benchmarks.{name}")
    (tmp_path / "a-file").write_text("")
    folder = name in FOLDER_OUT
    bad = [tmp_path / "a-file", tmp_path / "a-file" / "under"] if folder else [tmp_path]
    expected = "a-file is a file; give a folder" if folder else "is a folder; give a markdown file"
    for out in bad:
        with pytest.raises(SystemExit) as stopped:
            module.main(["--out", str(out)])
        assert stopped.value.code == 2 and expected in capsys.readouterr().err
    if not folder:
        with pytest.raises(SystemExit):
            module.main(["--out", str(tmp_path / "a-file" / "t.md")])
        assert "a-file is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("main", [longlag.main, architectures.main])
def test_bad_engine_options_leave_the_saved_runs_alone(main, tmp_path, capsys):
    partial = tmp_path / f"{main.__module__.rsplit('.', 1)[1]}.partial.jsonl"
    partial.write_text('{"saved": 1}\n')
    refused = [(["--workers", "0"], "--workers 0: need at least 1"),
               (["--address", "tcp://x"], "--address 'tcp://x' needs --engine dask")]  # fmt: skip
    for argv, message in refused:
        with pytest.raises(SystemExit) as stopped:
            main(["--out", str(tmp_path), *argv])
        assert stopped.value.code == 2 and message in capsys.readouterr().err  # argparse's exit
    assert partial.read_text() == '{"saved": 1}\n'


def test_the_leaderboard_refuses_a_file_for_out_and_a_folder_without_rows(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    (tmp_path / "empty").mkdir()
    for argv, message in [
        (["--out", str(tmp_path / "a-file")], "is a file; give a folder"),
        (["--out", str(tmp_path / "new"), "--resume", str(tmp_path / "empty")],
         "no rows.jsonl there"),
        (["--out", str(tmp_path / "new"), "--resume"], "holds no board to continue"),
        (["--out", str(tmp_path / "empty"), "--resume"], "drop --resume to start one there"),
    ]:  # fmt: skip
        with pytest.raises(SystemExit) as stopped:
            suite.main(argv)
        assert stopped.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "new").exists(), "no board folder made for a refused resume"


def test_overrides_for_the_model_chosen_compose(tmp_path):
    suite.check_overrides(BOARD, ["model=tcn", "model.kernel_size=3"])  # no error: a key of tcn's


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=lstm", "data.batch_size=0"], r"model=lstm, task=ramp: .*batch_size=0 is out of"),
        (["model=gru", "model.hidden_size=-1"], r"model=gru: hidden_size=-1 is out of range"),
        (["model=mlp", "trainer.max_time=00:00:00:00"], r"trainer.max_time='00:00:00:00'"),
    ],
)
def test_values_train_would_refuse_end_the_board_before_it_starts(tmp_path, capsys, overrides,
                                                                  message):  # fmt: skip
    with pytest.raises(SystemExit) as stopped:  # mlp: it cannot serve seq2seq, which is n/a
        suite.main(["--quick", "--out", str(tmp_path / "board"), *overrides])
    assert stopped.value.code == 2 and re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "board").exists(), "no board folder, no error rows"


@pytest.mark.slow  # about 10 s: every claim's run and every ladder's first run, composed
@pytest.mark.parametrize("profile", [BOARD, QUICK, FULL], ids=["board", "quick", "full"])
def test_every_first_run_of_the_boards_composes(profile):
    suite.check_overrides(profile, ["seed=0"])  # the board's own overrides, and a harmless one


def test_python_m_leaderboard_is_the_board_command(tmp_path):
    command = [sys.executable, "-m", "seqtasks.benchmarks.leaderboard", "--workers", "0"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--workers 0: need at least 1" in done.stderr
