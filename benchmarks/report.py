"""The leaderboard's files: ``leaderboard.json`` and ``leaderboard.md`` (tables of its runs)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from seqtasks.benchmarks import claims, papers
from seqtasks.benchmarks.leaderboard import REFUSED
from seqtasks.benchmarks.runner import failed
from seqtasks.benchmarks.summaries import lr_table, ranking_table
from seqtasks.benchmarks.summaries import one_line as _one_line
from seqtasks.benchmarks.tables import grid, group

Row = dict[str, Any]


def profile_setting(profile: Any, key: str) -> str:
    """The value a profile's overrides give ``key``."""
    return next(item.split("=", 1)[1] for item in profile.overrides() if item.startswith(f"{key}="))


def budget(profile: Any, problems: list[dict[str, Any]], workers: int) -> dict[str, Any]:
    """The one budget of every run, in steps and sequences, and each problem's settings."""
    per_problem = {}
    for problem in problems:
        settings = dict(item.split("=", 1) for item in problem["settings"])
        batch = int(settings["data.batch_size"])
        per_problem[problem["key"]] = {"batch_size": batch, "max_steps": profile.max_steps,
                                       "max_sequences": batch * profile.max_steps,
                                       "settings": list(problem["settings"]),
                                       "sizes": list(problem["values"]),
                                       "ceiling": problem["values"][-1]}  # fmt: skip
    return {"profile": profile.name, "max_steps": profile.max_steps,
            "val_every_steps": profile.val_every, "val_samples": profile.eval_samples,
            "solved_in_a_row": int(profile_setting(profile, "solved_in_a_row")),
            "test_samples": profile.eval_samples, "seeds": profile.seeds,
            "learning_rates": list(profile.lrs),
            "run_seconds_limit": profile.run_seconds, "time_limit_seconds": profile.time_limit,
            "workers": workers, "problems": per_problem}  # fmt: skip


def _slim(row: Row) -> Row:
    """A row without its run's full summary (its length scores kept)."""
    slim = {key: value for key, value in row.items() if key != "summary"}
    lengths = (row.get("summary") or {}).get("lengths")
    if lengths:
        metric = f"test/{row['summary']['metric']}"
        slim["lengths"] = {n: scores[metric] for n, scores in lengths.items()}
    return slim


def write(out: Path, results: dict[str, Any]) -> None:
    """``leaderboard.json`` (budget, machine, runs first) and ``leaderboard.md`` in ``out``."""
    payload = {key: results[key] for key in ("budget", "machine", "runs")}
    payload["runs"] = [_slim(row) for row in results["runs"]]
    rest = {key: value for key, value in results.items() if key not in payload}
    payload.update(rest, cases=[_slim(row) for row in results["cases"]],
                   tuning=[_slim(row) for row in results.get("tuning", [])])  # fmt: skip
    (out / "leaderboard.json").write_text(json.dumps(payload, indent=1, default=_plain) + "\n")
    (out / "leaderboard.md").write_text(markdown(results) + "\n")


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else str(value)


def frontier_cell(entry: dict[str, Any]) -> str:
    """``**50**: 1,700 steps (1,500-2,000), breaks at 100``: the frontier, the median and range
    of the steps of its solved seeds, the first size that broke; ``(ceiling)`` when the ladder's
    top was solved; ``error: <message>`` when a run failed; ``n/a`` when the model cannot serve
    the framing; ``(not finished)``, ``no size decided yet`` or ``not run yet`` when the time
    limit stopped the ladder (or the board is still being built)."""
    if entry["status"] == "error":
        return f"error: {_one_line(entry.get('error') or 'unknown')}"
    if entry["status"] == "n/a":
        return "n/a"
    broke = f"{entry['first_unsolved']:,}" if entry["first_unsolved"] is not None else None
    cut = entry["status"] == "time limit"
    if entry["value"] is None and cut:  # a lower bound of nothing: say so, not "none"
        if broke:
            return f"none yet ({broke} unsolved; not finished)"
        return "not run yet" if entry.get("runs") == 0 else "no size decided yet"
    cuts, runs = int(entry.get("broke_by_time") or 0), entry.get("runs_at_break") or 0
    timed = (f" ({cuts} of {runs} runs there stopped by the wall-clock limit before their step "
             "budget)") if broke and cuts else ""  # fmt: skip
    if entry["value"] is None:
        return f"none ({broke} unsolved{timed})" if broke else "none"
    at_cap = entry["status"] in ("ceiling", "largest size")
    text = f"**{entry['value']:,}**{' (ceiling)' if at_cap else ''}: {entry['steps']:,.0f} steps"
    low, high = entry.get("steps_range") or (None, None)
    if low is not None and low != high:
        text += f" ({low:,}-{high:,})"
    if broke:  # confirmed by its seeds only once the ladder is decided
        text += {"time limit": f", {broke} unsolved so far",
                 "time-limited": f", {broke} unsolved within the wall-clock limit"}.get(
            entry["status"], f", breaks at {broke}")  # fmt: skip
    text += timed
    if cut:  # the time limit stopped the board (or it is still being built): a lower bound
        text += " (not finished)"
    return text


def frontier_table(results: dict[str, Any]) -> str:
    """Problem x model: the frontier cells."""
    notes = {problem["key"]: (problem["knob"], problem["note"]) for problem in results["problems"]}
    by_key = {(entry["problem"], entry["model"]): entry for entry in results["frontier"]}
    models = results["models"]
    lines = ["| problem (knob; what stays fixed) | " + " | ".join(models) + " |",
             "|---" * (len(models) + 1) + "|"]  # fmt: skip
    for key, (knob, note) in notes.items():
        cells = [frontier_cell(by_key[key, model]) for model in models]
        lines.append(f"| {key} ({knob}; {note}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def goals_table(results: dict[str, Any], goals: dict[str, int], model: str = "lstm") -> str:
    """``model``'s frontier against the sizes it is asked to reach."""
    by_problem = {e["problem"]: e for e in results["frontier"] if e["model"] == model}
    lines = ["| problem | goal | frontier | reached |", "|---|---|---|---|"]
    for problem, goal in goals.items():
        entry = by_problem.get(problem)
        if entry is None:
            continue
        value = entry["value"]
        reached = "**yes**" if value is not None and value >= goal else "**no**"
        if reached == "**no**" and entry["status"] in ("time limit", "time-limited"):
            reached = {"time limit": "not yet", "time-limited": "no, within the wall-clock limit"}[
                entry["status"]
            ]  # not finished; or runs cut by the limit decided it
        if entry["status"] in ("error", "n/a"):
            reached = entry["status"]
        lines.append(f"| {problem} | {entry['knob']} >= {goal:,} | {frontier_cell(entry)} | "
                     f"{reached} |")  # fmt: skip
    return "\n".join(lines)


def size_cell(runs: list[Row]) -> str:
    """``2/3: 150 steps`` (median of the solved seeds) or ``0/2``; time-limited runs marked; a
    diverged run counts as unsolved, a failed one is named (``1/2 + error: ...``)."""
    ok, errors = [run for run in runs if not failed(run)], [run for run in runs if failed(run)]
    if not ok:
        refused = all(REFUSED in run.get("error", "") for run in runs)
        return "n/a" if refused else f"error: {_one_line(runs[0].get('error', 'unknown'))}"
    solved = sorted(run["steps"] for run in ok if run["solved"])
    text = f"{len(solved)}/{len(ok)}"
    if solved:
        middle = len(solved) // 2
        median = solved[middle] if len(solved) % 2 else (solved[middle - 1] + solved[middle]) / 2
        text += f": {median:,.0f} steps"
    if any(run.get("stopped") == "time" for run in ok):
        text += " (time limit)"
    return text + "".join(f" + error: {_one_line(run.get('error', 'unknown'))}" for run in errors)


def size_tables(results: dict[str, Any]) -> str:
    """One table per problem: size x model, seeds solved and median steps."""
    order = {model: index for index, model in enumerate(results["models"])}
    parts = []
    for key, rows in group(results["runs"], lambda row: row["problem"]).items():
        rows = sorted(rows, key=lambda row: (row["value"], order.get(row["model"], 0)))
        parts.append(f"### {key} ({rows[0]['knob']})\n\n" + grid(
            rows, lambda row: f"{row['value']:,}", lambda row: row["model"], rows[0]["knob"],
            cell_text=size_cell))  # fmt: skip
    return "\n\n".join(parts)


def claims_table(verdicts: list[dict[str, Any]]) -> str:
    lines = ["| # | problem | claim (specification) | expected | measured | verdict |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for number, v in enumerate(verdicts, 1):
        lines.append(f"| {number} | {v['problem']} | {v['claim']} | {v['expected']} | "
                     f"{v['measured']} | **{v['verdict']}** |")  # fmt: skip
    return "\n".join(lines)


def budget_text(results: dict[str, Any]) -> str:
    b = results["budget"]
    batches = sorted({p["batch_size"] for p in b["problems"].values()})
    return (
        f"every run gets at most {b['max_steps']:,} steps (batches of "
        f"{', '.join(map(str, batches))}: at most {b['max_steps'] * batches[-1]:,} sequences), "
        f"validation every {b['val_every_steps']} steps on {b['val_samples']:,} fixed sequences "
        f"(training stops once {b.get('solved_in_a_row', 1)} in a row meet the problem's "
        "criterion), then the best "
        f"checkpoint is scored on {b['test_samples']:,} fixed test sequences: *solved* means "
        f"both. {seed_policy(b)}; a run also stops after {b['run_seconds_limit']:.0f} "
        "wall seconds (counted unsolved, marked), and the climb ends at an unsolved size where a "
        "run did (a larger size costs more a step). Per-problem settings, the same for every "
        "model:"
        " " + "; ".join(f"{key}: {settings_text(b, p)}" for key, p in b["problems"].items())
    )


def settings_text(b: dict[str, Any], problem: dict[str, Any]) -> str:
    """A problem's settings; where the ladders tune the learning rate, a set one is the claims'."""
    tuned = bool(b.get("learning_rates"))
    return " ".join(f"{item} (the claims' runs; the ladders tune it)"
                    if tuned and item.startswith("model.lr=") else item
                    for item in problem["settings"])  # fmt: skip


def progress_text(results: dict[str, Any]) -> str:
    """How far the board has got, and what it has cost, over every invocation that added rows."""
    ladders = results.get("ladders") or {"all": 0, "decided": 0}
    hours = (results.get("run_seconds") or 0) / 3600
    done = ladders["decided"] == ladders["all"]
    state = "every ladder decided" if done else "the board is not finished: `--resume` goes on"
    return (f"{ladders['decided']} of {ladders['all']} ladders decided ({state}); the runs "
            f"took {hours:,.1f} hours in all (each on one thread).")  # fmt: skip


def refused_text(results: dict[str, Any]) -> str:
    """``, 18 of them refused before training (...)`` where a model cannot serve a framing."""
    refused = results.get("refused_count") or 0
    return (f", {refused} of them refused before training (the model cannot serve the framing: "
            "n/a)") if refused else ""  # fmt: skip


def this_invocation(results: dict[str, Any], runs: int) -> str:
    """``, 12 of them by this invocation`` when the others' rows came from earlier ones."""
    new = results.get("new_runs", runs)
    return (
        f", {new:,} of them by this invocation (the others' rows saved before)"
        if new < runs
        else ""
    )


def seed_policy(b: dict[str, Any]) -> str:
    """The seed and learning-rate policy in words."""
    rates = b.get("learning_rates") or []
    lr = (f"each model's learning rate is the best on validation of {', '.join(map(str, rates))} "
          "at the problem's first size (seed 0)" if rates else
          "each model keeps its configured learning rate")  # fmt: skip
    if b["seeds"] == 1:
        return f"One seed a size; {lr}"
    return (f"One seed climbs each ladder until two sizes in a row are unsolved or the ceiling; "
            f"then {b['seeds']} seeds decide, by majority, the frontier and the first unsolved "
            f"size above it; {lr}")  # fmt: skip


def markdown(results: dict[str, Any]) -> str:
    """The README-ready leaderboard."""
    m = results["machine"]
    runs = results.get("run_count", len(results["runs"]) + len(results["cases"]))
    verdicts = results["claims"]
    agree = sum(v["verdict"] == "agree" for v in verdicts)
    parts = [
        "# The leaderboard: what each architecture remembers, and where it breaks",
        f"`{results['command']}`: {runs} training runs{this_invocation(results, runs)}"
        f"{refused_text(results)} in "
        f"{results['wall_seconds'] / 60:.1f} min on {m['cpu_count']} CPU cores ({m['workers']} "
        f"runs at once, 1 torch thread each; torch {m['torch']}). {progress_text(results)} "
        f"Budget: {budget_text(results)}.",
        "## Frontier: the largest size solved in most seeds, the median (range) of the steps "
        "it took over the solved seeds, and the size that broke it",
        frontier_table(results),
        "## Ranking, one score per model",
        ranking_table(results.get("ranking") or []),
        "![steps to solve against difficulty, one line per model](leaderboard.png)",
        *(
            ["### The default LSTM against its goals", goals_table(results, results["goals"])]
            if results.get("goals") and "lstm" in results["models"]
            else []
        ),
        "## Beside the papers, where the settings match (and what differs where they do not)",
        papers.markdown(results),
        "## Steps to solve at every size (seeds solved / run: median steps of the solved)",
        size_tables(results),
        "## Length generalisation (test metric at other lengths than the trained one)",
        claims.lengths_table(results["lengths"], results["frontier"]),
        "## Learning rate of each model on each problem",
        lr_table(results["frontier"], results["models"]),
    ]
    if verdicts:
        parts += [
            "## The specification's claims, judged on runs at the default sizes",
            f"{agree} of {len(verdicts)} agree.",
            claims_table(verdicts),
            "### Every problem and framing at the default size (seed 0)",
            grid(
                results["cases"],
                lambda row: row["label"],
                lambda row: row["model"],
                "problem, framing",
                cell_text=size_cell,
            ),
            "### Notes",
            "\n".join(
                f"- {note}" for note in [*claims.NOTES, *claims.measured_notes(results["cases"])]
            ),
        ]
    return "\n\n".join(parts)
