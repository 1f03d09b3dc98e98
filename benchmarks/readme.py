"""Copy the committed leaderboard's main tables into the README, between its two markers.

    python -m seqtasks.benchmarks.readme [--board results] [--readme README.md]

The board grows across sessions (``seqtasks-leaderboard --out results --resume``); after each,
this puts the same text as ``results/leaderboard.md`` into the README, so the README's figures
are the board's, never typed by hand: the header (command, progress, budget), the frontier, the
ranking, the figure, the comparison with the papers and the specification's claims, headings
moved two levels down to sit under the README's own. The rest stays in ``leaderboard.md``,
which the README links.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

START = "<!-- leaderboard: from results/leaderboard.md by python -m seqtasks.benchmarks.readme -->"
END = "<!-- leaderboard: end -->"
# the sections of leaderboard.md the README shows, by the start of their heading
SECTIONS = ("Frontier", "Ranking", "Beside the papers", "The specification's claims")
# a board without the claims' cases (--problems, --models without lstm) has no claims section
OPTIONAL = ("The specification's claims",)


def sections(markdown: str, wanted: tuple[str, ...] = SECTIONS) -> list[str]:
    """The text before the first ``## `` heading (less the title), then each ``## `` section
    whose heading starts with one of ``wanted``, with its ``###`` subsections; ValueError when
    one that is not ``OPTIONAL`` is missing."""
    parts = re.split(r"(?m)^(?=## )", markdown)
    head = "\n".join(line for line in parts[0].splitlines() if not line.startswith("# "))
    chosen = [part for part in parts[1:] if part[3:].startswith(wanted)]
    missing = [
        name
        for name in wanted
        if name not in OPTIONAL and not any(part[3:].startswith(name) for part in chosen)
    ]
    if missing:
        raise ValueError(f"leaderboard.md has no section(s) {missing}")
    return [head.strip(), *(part.strip() for part in chosen)]


def block(markdown: str, image: str) -> str:
    """The README's copy: headings two levels down, the figure's path from the README."""
    text = "\n\n".join(sections(markdown))
    text = re.sub(r"(?m)^(#{2,4}) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", text)
    return text.replace("](leaderboard.png)", f"]({image})")


def update(readme: str, markdown: str, image: str) -> str:
    """``readme`` with the text between its markers replaced by the board's ``block``."""
    if readme.count(START) != 1 or readme.count(END) != 1:
        raise ValueError(f"the README needs the markers {START!r} and {END!r} once each")
    before, rest = readme.split(START)
    _, after = rest.split(END)
    return f"{before}{START}\n\n{block(markdown, image)}\n\n{END}{after}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", type=Path, default=Path("results"), help="the board's folder")
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    args = parser.parse_args(argv)
    for option, path in (("--board", args.board / "leaderboard.md"), ("--readme", args.readme)):
        if not path.is_file():
            parser.error(f"{option}: no file {path} (run from the repository, or give {option})")
    markdown = (args.board / "leaderboard.md").read_text()
    image = Path(os.path.relpath(args.board / "leaderboard.png", args.readme.parent)).as_posix()
    try:
        text = update(args.readme.read_text(), markdown, image)
    except ValueError as error:
        parser.error(f"{args.board / 'leaderboard.md'} into {args.readme}: {error}")
    args.readme.write_text(text)
    print(f"{args.readme}: the leaderboard's tables from {args.board / 'leaderboard.md'}")


if __name__ == "__main__":
    main()
