"""The leaderboard's summaries: each ladder's frontier and curve (:func:`frontier`, :func:`curve`),
a ranking of the models, and the rates they were given.

The ranking's formula (:data:`FORMULA`): a model's score is 100 x the mean, over the board's
problems, of the share of the problem's ladder it climbed: (the number of sizes up to and
including its frontier) / (the number of sizes up to the ceiling). A problem it solved at no size,
cannot serve (n/a) or failed on (error) counts 0. Models are ranked by score, ties by the median
of the steps it took at its frontiers (fewer first). Only a model whose every ladder is decided is
ranked: while a board is being built (ladders cut by the time limit, to go on with ``--resume``),
a model with some ladders decided follows the ranked ones, unranked, its score provisional (an
unfinished ladder counts what it reached so far, which its next seeds may confirm or lower) with
how many of its ladders are decided; a model with none decided is listed last.

A ladder whose first unsolved size is unsolved only because runs there met the wall-clock limit
(those stopped by their step budget are no majority of the size's runs) is ``time-limited``, not
``broke``: the break may be the machine's speed, not the model. It scores its frontier as a broken
ladder does, and the ranking counts it apart.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

from seqtasks.benchmarks.runner import failed

if TYPE_CHECKING:
    from seqtasks.benchmarks.leaderboard import Ladder

FORMULA = (
    "score = 100 x mean over problems of (sizes up to and including the frontier) / (sizes up to "
    "the ceiling); 0 where no size was solved, the model cannot serve the framing (n/a) or a run "
    "failed (error); ties: fewer median steps at the frontiers first"
)


def _spread(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def frontier(ladder: Ladder) -> dict[str, Any]:
    """The frontier (largest size solved by most seeds), its steps over the solved seeds (median
    and range), the first size that breaks it, the ladder's status and its learning rate."""
    best, broke = ladder.frontier()
    scored = ladder.problem.lengths(ladder.problem.values[0])  # its first size's other lengths
    runs = list(ladder.rows.get(best, {}).values())
    done = [row for row in runs if row["solved"]]
    steps = _spread([row["steps"] for row in done])
    sizes = next((row for row in ladder.all_rows() if "num_parameters" in row), {})
    ran = {id(row): row for row in [*ladder.all_rows(), *ladder.tuning.values()]}  # each run once
    # runs at the first unsolved size stopped by the wall-clock guard, not the step budget: the
    # break may be the machine's speed, not the model (the cell says so)
    at_break = [row for row in ladder.rows.get(broke, {}).values() if not failed(row)]
    timed = sum(row.get("stopped") == "time" and not row["solved"] for row in at_break)
    status = break_status({"running": "time limit"}.get(ladder.status, ladder.status), at_break)
    return {
        "model": ladder.model,
        "problem": ladder.problem.key,
        "knob": ladder.problem.knob,
        "value": best,
        "ceiling": ladder.problem.ceiling,
        "seeds_solved": len(done),
        "seeds": len(runs),
        "runs": len(ran),
        "seconds": round(sum(row.get("seconds") or 0 for row in ran.values()), 1),
        "steps": steps["median"],
        "steps_range": [steps["min"], steps["max"]] if done else None,
        "sequences": _spread([row["sequences"] for row in done])["median"],
        "first_unsolved": broke,
        "broke_by_time": timed,  # runs at first_unsolved the wall-clock guard stopped
        "runs_at_break": len(at_break),
        "status": status,
        "error": ladder.error,
        "lr": ladder.lr,
        "num_parameters": sizes.get("num_parameters"),
        "state_size": sizes.get("state_size"),
        # why the first size was not scored at other lengths where the problem scores them
        "lengths_refused": ladder.lengths_refused if scored else None,
    }


def break_status(status: str, at_break: list[dict[str, Any]]) -> str:
    """``time-limited`` for a ``broke`` ladder whose runs at the first unsolved size that their
    step budget stopped unsolved are no majority of its runs (the wall-clock limit stopped the
    others); else ``status``."""
    by_budget = sum(not row["solved"] and row.get("stopped") != "time" for row in at_break)
    return "time-limited" if status == "broke" and 2 * by_budget <= len(at_break) else status


def curve(ladder: Ladder) -> list[dict[str, Any]]:
    """Per size run: seeds solved of run, median steps of the solved seeds, and the verdict."""
    points = []
    for value in ladder.problem.values:
        rows = [row for row in ladder.rows.get(value, {}).values() if not failed(row)]
        if not rows:
            continue
        done = [row["steps"] for row in rows if row["solved"]]
        points.append({"value": value, "solved": ladder.verdict(value),
                       "seeds_solved": len(done), "seeds": len(rows),
                       "steps": statistics.median(done) if done else None,
                       "max_steps": max(row["steps"] for row in rows)})  # fmt: skip
    return points


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
        steps = [e["steps"] for e in mine  # a cell read "error" or "n/a" has no frontier steps
                 if e["steps"] is not None and e["status"] not in ("n/a", "error")]  # fmt: skip
        entries.append({
            "model": model,
            "score": round(100 * sum(shares) / len(shares), 1) if shares else 0.0,
            "problems": len(mine),
            "at_ceiling": sum(e["status"] in ("ceiling", "largest size") for e in mine),
            "broke": sum(e["status"] == "broke" for e in mine),
            "time_limited": sum(e["status"] == "time-limited" for e in mine),
            "not_applicable": sum(e["status"] == "n/a" for e in mine),
            "errors": sum(e["status"] == "error" for e in mine),
            "not_finished": sum(e["status"] == "time limit" for e in mine),
            "median_steps": statistics.median(steps) if steps else None,
            "runs": sum(e.get("runs") or 0 for e in mine),  # what the model's ladders cost
            "hours": sum(e.get("seconds") or 0 for e in mine) / 3600,
        })  # fmt: skip

    # a board still being built: only a model whose every ladder is decided is ranked; then the
    # models with some decided (their scores provisional), then those with none
    def group(entry: dict[str, Any]) -> int:
        return 2 if entry["not_finished"] == entry["problems"] else int(entry["not_finished"] > 0)

    entries.sort(key=lambda e: (group(e), -e["score"], e["median_steps"] or float("inf")))
    for index, entry in enumerate(entries):
        before = entries[index - 1] if index else None  # a tie on score and on median steps
        same = before and (before["score"], before["median_steps"]) == (
            entry["score"], entry["median_steps"])  # fmt: skip
        entry["rank"] = entries[index - 1]["rank"] if same else index + 1
        if entry["not_finished"]:
            entry["rank"] = None
    return entries


def ranking_table(entries: list[dict[str, Any]]) -> str:
    lines = ["| rank | model | score | at the ceiling | broke | cut by the wall-clock limit | n/a "
             "| errors | not finished | median steps at the frontiers | runs (hours of runs) |",
             "|---" * 11 + "|"]  # fmt: skip
    for e in entries:
        steps = f"{e['median_steps']:,.0f}" if e["median_steps"] is not None else "-"
        cost = f"{e['runs']:,} ({e['hours']:.1f} h)" if e.get("runs") else "-"
        decided = e["problems"] - e["not_finished"]
        if not decided:  # nothing decided: no score to rank by
            lines.append(f"| - | {e['model']} | no ladder decided yet |" + " - |" * 7
                         + f" {cost} |")  # fmt: skip
            continue
        score = f"{e['score']:.1f}"
        if e["rank"] is None:
            score = f"{score}, provisional ({decided} of {e['problems']} ladders decided)"
        lines.append(f"| {e['rank'] or '-'} | {e['model']} | {score} | {e['at_ceiling']} | "
                     f"{e['broke']} | {e['time_limited']} | {e['not_applicable']} | "
                     f"{e['errors']} | {e['not_finished']} | {steps} | {cost} |")  # fmt: skip
    note = ""
    if any(e["not_finished"] for e in entries):
        note = (
            " Not finished yet: a model is ranked once every one of its ladders is decided;"
            " until then its score is provisional (an unfinished ladder counts what it reached"
            " so far; its next seeds may confirm or lower it)."
        )
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
