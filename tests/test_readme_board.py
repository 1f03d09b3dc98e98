"""``python -m seqtasks.benchmarks.readme``: the README's copy of the board is the board's text."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqtasks.benchmarks import readme

BOARD = """# The leaderboard: what each architecture remembers, and where it breaks

`seqtasks-leaderboard --out results --resume`: 12 training runs in 3.0 min; 1 of 2 ladders decided.

## Frontier: the largest size solved

| problem | lstm |
|---|---|
| echo | **50**: 700 steps |

## Ranking, one score per model

| rank | model |
|---|---|
| 1 | lstm |

![steps to solve against difficulty, one line per model](leaderboard.png)

## Beside the papers, where the settings match

### MQAR beside Zoology's Figure 2

| model | length 64 |
|---|---|

## Steps to solve at every size

### echo (lag)

| lag | lstm |

## The specification's claims, judged on runs at the default sizes

17 of 17 agree.
"""


def test_the_readme_gets_the_header_and_the_chosen_sections_headings_two_levels_down() -> None:
    text = f"intro\n\n{readme.START}\nold table\n{readme.END}\n\n## Next section\n"
    updated = readme.update(text, BOARD, "results/leaderboard.png")
    assert updated.startswith(f"intro\n\n{readme.START}\n\n`seqtasks-leaderboard --out results")
    assert updated.endswith(f"{readme.END}\n\n## Next section\n") and "old table" not in updated
    assert "#### Frontier: the largest size solved" in updated
    assert "#### Ranking, one score per model" in updated
    assert "##### MQAR beside Zoology's Figure 2" in updated
    assert "| echo | **50**: 700 steps |" in updated and "17 of 17 agree." in updated
    assert "](results/leaderboard.png)" in updated and "](leaderboard.png)" not in updated
    assert "Steps to solve" not in updated and "# The leaderboard" not in updated
    assert readme.update(updated, BOARD, "results/leaderboard.png") == updated  # idempotent


def test_refusals_name_what_is_missing() -> None:
    with pytest.raises(ValueError, match="markers"):
        readme.update("no markers here", BOARD, "x.png")
    with pytest.raises(ValueError, match=r"no section\(s\) \['Ranking'\]"):
        readme.sections(BOARD.replace("## Ranking", "## Order"))


def test_main_writes_the_readme_from_a_board_folder(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "leaderboard.md").write_text(BOARD)
    (tmp_path / "README.md").write_text(f"{readme.START}\n{readme.END}\n")
    readme.main(["--board", str(tmp_path / "results"), "--readme", str(tmp_path / "README.md")])
    assert "](results/leaderboard.png)" in (tmp_path / "README.md").read_text()


def test_a_board_without_the_claims_is_copied_without_them(tmp_path: Path) -> None:
    board = BOARD.split("## The specification's claims")[0]  # --problems or --quick
    text = readme.update(f"{readme.START}\n{readme.END}\n", board, "leaderboard.png")
    assert "#### Frontier" in text and "claims" not in text


def test_main_refuses_a_board_or_readme_it_cannot_copy_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "leaderboard.md").write_text(BOARD.replace("## Beside the papers", "## Other"))
    (tmp_path / "README.md").write_text(f"{readme.START}\n{readme.END}\n")
    paths = ["--board", str(tmp_path), "--readme", str(tmp_path / "README.md")]
    with pytest.raises(SystemExit) as exit_:
        readme.main(paths)
    assert exit_.value.code == 2
    assert "no section(s) ['Beside the papers']" in capsys.readouterr().err
    (tmp_path / "leaderboard.md").write_text(BOARD)
    (tmp_path / "README.md").write_text("a README without the markers\n")
    with pytest.raises(SystemExit) as exit_:
        readme.main(paths)
    assert exit_.value.code == 2 and "markers" in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text() == "a README without the markers\n"
