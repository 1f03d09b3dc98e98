"""The leaderboard's one-number summaries: a ranking of the models, and the rates they were given.

The ranking's formula (:data:`FORMULA`): a model's score is 100 x the mean, over the board's
problems, of the share of the problem's ladder it climbed: (the number of sizes up to and
including its frontier) / (the number of sizes up to the ceiling). A problem it solved at no size,
cannot serve (n/a) or failed on (error) counts 0; a ladder cut by the time limit counts what it
reached (a lower bound: the ranking says "provisional"); a model none of whose ladders is decided
yet is listed last, unranked. Models are ranked by score, ties by the median, over the problems at
which both solved their frontier, of the steps it took (fewer first).
"""

from __future__ import annotations

import statistics
from typing import Any

FORMULA = (
    "score = 100 x mean over problems of (sizes up to and including the frontier) / (sizes up to "
    "the ceiling); 0 where no size was solved, the model cannot serve the framing (n/a) or a run "
    "failed (error); ties: fewer median steps at the frontiers first"
)


def one_line(text: str, limit: int = 160) -> str:
    """An error message fit for a table cell: one line, no pipes, at most ``limit`` characters."""
    flat = " ".join(str(text).split()).replace("|", "/")
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def share(entry: dict[str, Any], values: list[int]) -> float:
    """The share of the ladder ``values`` climbed by a frontier entry (0 when none)."""
    if entry["status"] in ("n/a", "error") or entry["value"] is None:
        return 0.0
    return (values.index(entry["value"]) + 1) / len(values)


def ranking(frontiers: list[dict[str, Any]], problems: list[dict[str, Any]]) -> list[dict]:
    """One entry per model: its score (see :data:`FORMULA`), rank and what went into it."""
    ladders = {problem["key"]: list(problem["values"]) for problem in problems}
    models = list(dict.fromkeys(entry["model"] for entry in frontiers))
    entries = []
    for model in models:
        mine = [e for e in frontiers if e["model"] == model and e["problem"] in ladders]
        shares = [share(e, ladders[e["problem"]]) for e in mine]
        steps = [e["steps"] for e in mine if e["steps"] is not None]
        entries.append({
            "model": model,
            "score": round(100 * sum(shares) / len(shares), 1) if shares else 0.0,
            "problems": len(mine),
            "at_ceiling": sum(e["status"] in ("ceiling", "largest size") for e in mine),
            "broke": sum(e["status"] == "broke" for e in mine),
            "not_applicable": sum(e["status"] == "n/a" for e in mine),
            "errors": sum(e["status"] == "error" for e in mine),
            "cut": sum(e["status"] == "time limit" for e in mine),
            "median_steps": statistics.median(steps) if steps else None,
        })  # fmt: skip
    # a model none of whose ladders is decided yet (a board still being built) is not ranked
    entries.sort(key=lambda e: (e["cut"] == e["problems"], -e["score"],
                                e["median_steps"] or float("inf")))  # fmt: skip
    for index, entry in enumerate(entries):
        same = index and entries[index - 1]["score"] == entry["score"]
        entry["rank"] = entries[index - 1]["rank"] if same else index + 1
        if entry["problems"] and entry["cut"] == entry["problems"]:
            entry["rank"] = None
    return entries


def ranking_table(entries: list[dict[str, Any]]) -> str:
    lines = ["| rank | model | score | at the ceiling | broke | n/a | errors | cut by time |"
             " median steps at the frontiers |", "|---" * 9 + "|"]  # fmt: skip
    for e in entries:
        steps = f"{e['median_steps']:,.0f}" if e["median_steps"] is not None else "-"
        if e["rank"] is None:  # nothing decided: no score to rank by
            lines.append(f"| - | {e['model']} | no ladder decided yet |" + " - |" * 6)
            continue
        lines.append(f"| {e['rank']} | {e['model']} | {e['score']:.1f} | {e['at_ceiling']} | "
                     f"{e['broke']} | {e['not_applicable']} | {e['errors']} | {e['cut']} | "
                     f"{steps} |")  # fmt: skip
    provisional = any(e["cut"] for e in entries)
    note = " Provisional: some ladders were cut by the time limit." if provisional else ""
    return f"Formula: {FORMULA}.{note}\n\n" + "\n".join(lines)


def lr_table(frontiers: list[dict[str, Any]], models: list[str]) -> str:
    """Problem x model: the learning rate each model was given (the best of the tried rates)."""
    by_key = {(e["problem"], e["model"]): e for e in frontiers}
    problems = list(dict.fromkeys(e["problem"] for e in frontiers))
    lines = ["| problem | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    for problem in problems:
        cells = []
        for model in models:
            lr = by_key.get((problem, model), {}).get("lr")
            cells.append(f"{lr:g}" if lr is not None else "-")
        lines.append(f"| {problem} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
