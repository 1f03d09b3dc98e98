"""The benchmarks' command lines refuse a bad option by name before any work, and before any saved
file is touched or any folder is made."""

from __future__ import annotations

import pytest

from seqtasks.benchmarks import architectures, longlag, readme, suite, throughput

REFUSED = [
    (longlag.main, ["--seeds", "0"], "--seeds=0: must be >= 1"),
    (longlag.main, ["--seconds", "0"], "--seconds=0.0: must be > 0"),
    (architectures.main, ["--seeds", "-1"], "--seeds=-1: must be >= 1"),
    (architectures.main, ["--steps", "0"], "--steps=0: must be >= 1"),
    (architectures.main, ["--seconds", "-2"], "--seconds=-2.0: must be > 0"),
    (throughput.main, ["--threads", "0"], "--threads=0: must be >= 1"),
    (throughput.main, ["--repeats", "0"], "--repeats=0: must be >= 1"),
    (throughput.main, ["--seconds", "-1"], "--seconds=-1.0: must be > 0"),
    (suite.main, ["--time-limit", "-5"], "--time-limit=-5.0: must be >= 0"),
    (suite.main, ["--max-steps", "0"], "--max-steps=0: must be >= 1"),
    (suite.main, ["--problems", ","], "--problems ,: no problem named; allowed: ['ramp'"),
    (readme.main, ["--board", "nowhere"], "--board: no file nowhere/leaderboard.md"),
]


@pytest.mark.parametrize(("main", "argv", "message"), REFUSED)
def test_a_bad_option_is_refused_by_name(main, argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = [] if main in (throughput.main, readme.main) else ["--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as stopped:
        main([*argv, *out])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists(), "nothing made before the refusal"


@pytest.mark.parametrize("main", [longlag.main, architectures.main])
def test_bad_engine_options_leave_the_saved_runs_alone(main, tmp_path):
    partial = tmp_path / f"{main.__module__.rsplit('.', 1)[1]}.partial.jsonl"
    partial.write_text('{"saved": 1}\n')
    with pytest.raises(SystemExit, match="--workers 0: need at least 1"):
        main(["--out", str(tmp_path), "--workers", "0"])
    assert partial.read_text() == '{"saved": 1}\n'


def test_the_leaderboard_refuses_a_file_for_out_and_a_folder_without_rows(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    (tmp_path / "empty").mkdir()
    for argv, message in [
        (["--out", str(tmp_path / "a-file")], "is a file; give a folder"),
        (["--out", str(tmp_path / "new"), "--resume", str(tmp_path / "empty")],
         "no rows.jsonl there"),
    ]:  # fmt: skip
        with pytest.raises(SystemExit) as stopped:
            suite.main(argv)
        assert stopped.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "new").exists(), "no board folder made for a refused resume"
