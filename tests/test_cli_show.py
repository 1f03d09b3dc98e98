"""``python -m seqtasks show NAME [key=value ...] [-n COUNT]``."""

from __future__ import annotations

import pytest

import seqtasks
from seqtasks.__main__ import main, parse_option

SHOW_CASES = [
    (name, framing)
    for name in seqtasks.available()
    for framing in seqtasks.make(name, num_samples=1).framings
]


def table_rows(text: str) -> list[tuple[list[str], list[str]]]:
    """The (x cells, y cells) of every sample row of a printed table."""
    lines = text.strip().splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:3] == ["x", "->", "y"])
    rows = []
    for line in lines[header + 1 :]:
        x, arrow, y = line.partition("  ->  ")
        assert arrow, line
        rows.append((x.split(), y.split()))
    return rows


@pytest.mark.parametrize(("name", "framing"), SHOW_CASES)
def test_show_prints_a_table(name: str, framing: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", name, f"framing={framing}", "-n", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    first_line = captured.out.splitlines()[0]
    assert first_line.startswith(f"{name}: framing={framing} ")
    spec = seqtasks.make(name, framing=framing).spec
    assert f"shape={list(spec.target_shape)}" in first_line
    assert f"input_length={spec.input_length}" in first_line
    rows = table_rows(captured.out)
    assert len(rows) == 3
    for x, y in rows:
        assert len(x) == spec.input_length
        assert len(y) == (spec.target_length if spec.target_shape else 1)


def test_show_memorize_prints_the_two_sequences(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "memorize", "-n", "12"]) == 0
    rows = {(" ".join(x), " ".join(y)) for x, y in table_rows(capsys.readouterr().out)}
    assert rows == {("3 0 1 2", "0 1 2 3"), ("4 0 1 2", "0 1 2 4")}


@pytest.mark.parametrize(("option", "column"), [("lag=0", -1), ("lag=1", -2), ("position=2", 2)])
def test_show_echo_targets(option: str, column: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "echo", option, "encoding=index", "vocab=1000", "-n", "5"]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert len(rows) == 5
    assert all(y == [x[column]] for x, y in rows)


def test_show_ramp_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "ramp", "framing=one_to_one", "-n", "1"]) == 0
    [(x, y)] = table_rows(capsys.readouterr().out)
    assert x == ["0.00", "0.10", "0.20", "0.30", "0.40", "0.50", "0.60", "0.70", "0.80"]
    assert y == ["0.10", "0.20", "0.30", "0.40", "0.50", "0.60", "0.70", "0.80", "0.90"]


def test_show_count_is_capped_by_num_samples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "classify", "num_samples=2", "-n", "10"]) == 0
    assert len(table_rows(capsys.readouterr().out)) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "echo", "lag=99"], "lag=99 is out of range"),
        (["show", "echo", "lagg=1"], "echo has no option 'lagg'"),
        (["show", "nope"], "unknown problem 'nope'"),
        (["show", "echo", "lag"], "options are written key=value, got 'lag'"),
        (["show", "echo", "=3"], "options are written key=value"),
        (["show", "echo", "framing=seq2seq"], "framing='seq2seq' is not available for echo"),
        (["show", "echo", "length=ten"], "length must be an int, got 'ten'"),
        (["show", "classify", "threshold=2"], "threshold=2 is out of range"),
        (["show", "echo", "-n", "0"], "-n 0: the number of samples to show is 1 or more"),
        (["show", "ramp", "window=4", "window=5"], "options ['window'] given more than once"),
    ],
)
def test_show_bad_option_exits_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert message in captured.err


@pytest.mark.parametrize("argv", [[], ["show"], ["lst"], ["show", "echo", "-n", "many"]])
def test_bad_command_line_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lag=3", ("lag", 3)),
        ("threshold=0.5", ("threshold", 0.5)),
        ("framing=seq2seq", ("framing", "seq2seq")),
        ("framing='one_to_one'", ("framing", "one_to_one")),
        ("window=None", ("window", None)),
    ],
)
def test_parse_option(text: str, expected: tuple[str, object]) -> None:
    assert parse_option(text) == expected
