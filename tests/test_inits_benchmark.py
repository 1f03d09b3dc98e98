"""``python -m seqtasks.benchmarks.inits``: the board's own runs at its first sizes, one per
initialisation, saved as they end and not run again."""

from __future__ import annotations

import json
import re

import pytest

from seqtasks.benchmarks import board, inits
from seqtasks.benchmarks.leaderboard import Ladder


def test_jobs_are_the_boards_first_runs_with_an_init():
    planned = inits.jobs("tcn", ["pytorch", "locuslab"], 2, [])
    keys = [problem.key for problem in board.problems(board.BOARD, warn=False)]
    served = [key for key in keys if key != "subsequence/seq2seq"]  # the TCN has no seq2seq
    assert sorted({job.label["problem"] for job in planned}) == sorted(served)
    assert len(planned) == len(served) * 2 * 2
    assert {job.seed for job in planned} == {0, 1}
    for job in planned:
        problem = next(p for p in board.problems(board.BOARD, warn=False)
                       if p.key == job.label["problem"])  # fmt: skip
        assert job.label["value"] == problem.values[0]
        ladder = Ladder("tcn", ["model=tcn", *board.BOARD.overrides()], problem, 3, ())
        theirs = ladder._job(problem.values[0], job.seed)
        scored = {item for item in theirs.overrides if item.startswith("report.eval_lengths")}
        ours = set(job.overrides) - {f"model.init={job.label['init']}"}
        assert ours == set(theirs.overrides) - scored and job.seed == theirs.seed
    assert any(p == "subsequence/seq2seq" for p in
               {job.label["problem"] for job in inits.jobs("lstm", ["chrono"], 1, [])})  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "transformer", "--inits", "x"], r"--model 'transformer' has no init option"),
        (["--model", "nope", "--inits", "x"], r"--model 'nope': allowed \["),
        (["--model", "tcn", "--inits", "he", "--problems", "echoes"], r"--problems \['echoes'\]"),
        (["--model", "tcn", "--inits", "he", "--seeds", "0"], r"--seeds 0: need at least 1"),
        (
            ["--model", "tcn", "--inits", "he", "lecun"],
            r"--inits lecun: model=tcn: init='lecun' is not available for model=tcn: choose one of",
        ),
    ],
)
def test_bad_arguments_are_refused_before_any_run(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        inits.main([*argv, "--out", str(tmp_path)])
    assert refused.value.code == 2 and re.search(message, capsys.readouterr().err)
    assert not list(tmp_path.iterdir())


def test_a_comparison_is_saved_as_it_runs_and_continues(tmp_path, capsys):
    argv = ["--model", "tcn", "--inits", "pytorch", "locuslab", "--problems", "memorize",
            "--seeds", "1", "--workers", "1", "--out", str(tmp_path)]  # fmt: skip
    inits.main(argv)
    saved = (tmp_path / "inits-tcn.rows.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in saved]
    assert sorted(row["init"] for row in rows) == ["locuslab", "pytorch"]
    assert all(row["problem"] == "memorize" and row["value"] == 5 for row in rows)
    text = (tmp_path / "inits-tcn.md").read_text()
    assert "--inits pytorch locuslab --seeds 1 --problems memorize" in text
    assert "| problem (first size) | init=pytorch | init=locuslab |" in text
    solved = {row["init"]: row["solved"] for row in rows}
    assert text.count("| memorize (5) |") == 1
    cells = text.split("| memorize (5) |")[1].split("\n")[0].split("|")[:2]
    for init, cell in zip(("pytorch", "locuslab"), cells, strict=True):
        assert cell.strip().startswith("1/1: " if solved[init] else "0/1 ")
    inits.main(argv)  # every row saved: nothing runs again, the same table
    assert (tmp_path / "inits-tcn.rows.jsonl").read_text().splitlines() == saved
    assert "2 runs (0 run by this call" in (tmp_path / "inits-tcn.md").read_text()
