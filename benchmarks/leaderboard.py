"""The leaderboard's search: each problem's difficulty knob pushed until two sizes in a row break.

A :class:`Problem` is a difficulty knob with its sizes (a geometric 1-2-5 ladder) and the training
settings every model gets on it. A :class:`Ladder` walks one model up one problem's sizes:

- at each size it runs the first two seeds at once; a size is *solved* when most of its seeds
  solve it. Once two seeds are solved the third still runs (its steps count in the median) while
  the ladder moves on; when the first two are unsolved the third is not run, since it could not
  make a majority;
- it stops after two sizes in a row are unsolved, after its largest size, or when a run fails
  (e.g. a model that cannot serve the framing: ``n/a``);
- on problems whose rule is the same at every length, the runs at the first size are also
  scored at multiples of their length (``Problem.scored_at``): length generalisation.

:class:`LeaderboardPlan` hands the ladders' jobs to :func:`benchmarks.runner.run_plan`, beside a
fixed list of other jobs (the claims and length generalisation runs), and :func:`frontier`
reads the rows back: the largest size solved and the steps it took.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from seqtasks.benchmarks.claims import FIXED_LENGTH
from seqtasks.benchmarks.runner import Job

Row = dict[str, Any]
MISSES_TO_STOP = 2  # sizes in a row unsolved before a ladder stops


@dataclass(frozen=True)
class Problem:
    """A problem's difficulty knob: the sizes it is pushed through and what stays fixed."""

    key: str  # "echo", "subsequence/seq2seq"
    task: str
    knob: str  # the task option that sets the difficulty
    values: tuple[int, ...]
    fixed: dict[str, Any] = field(default_factory=dict)  # task options that do not change
    settings: tuple[str, ...] = ()  # train.py overrides on this problem, the same for every model
    note: str = ""  # what stays fixed, in words
    scored_at: tuple[
        int, ...
    ] = ()  # the first size is also scored at these multiples of its length

    def options(self, value: int) -> dict[str, Any]:
        """Task options at ``value`` (echo: ``length = lag + 1``, the lag spans the input)."""
        options = {**self.fixed, self.knob: value}
        if self.task == "echo" and self.knob == "lag":
            options["length"] = value + 1
        return options

    def overrides(self, value: int) -> list[str]:
        """``task=...`` and ``task.option=...`` overrides at ``value``, then the settings."""
        task = [f"task.{key}={item}" for key, item in self.options(value).items()]
        return [f"task={self.task}", *task, *self.settings]

    @property
    def framing(self) -> str | None:
        return self.fixed.get("framing")

    def lengths(self, value: int) -> list[int]:
        """The lengths a run at ``value`` is also scored at (the first size only)."""
        if value != self.values[0]:
            return []
        return [self.options(value)["length"] * factor for factor in self.scored_at]


def ladder_label(model: str, problem: Problem, value: int) -> dict[str, Any]:
    """What a ladder run is: the progress line's words and the JSON row's keys."""
    return {"model": model, "task": problem.task, "framing": problem.framing or "default",
            "knob": problem.knob, "value": value}  # fmt: skip


class Ladder:
    """One model pushed up one problem's sizes (see the module docstring)."""

    def __init__(self, model: str, overrides: Iterable[str], problem: Problem,
                 seeds: int = 3) -> None:  # fmt: skip
        if seeds < 1:
            raise ValueError(f"seeds={seeds!r}: need at least 1")
        self.model, self.overrides, self.problem = model, tuple(overrides), problem
        self.seeds, self.majority = seeds, seeds // 2 + 1
        self.rows: dict[int, list[Row]] = {}
        self.issued: dict[int, int] = {}  # value -> seeds handed out
        self.index, self.misses, self.status = 0, 0, "running"

    @property
    def key(self) -> tuple[str, str]:
        return self.model, self.problem.key

    def _job(self, value: int, seed: int) -> Job:
        label = ladder_label(self.model, self.problem, value)
        lengths = self.problem.lengths(value) if self.model not in FIXED_LENGTH else []
        scored = [f"report.eval_lengths=[{','.join(map(str, lengths))}]"] if lengths else []
        overrides = (*self.problem.overrides(value), *self.overrides, *scored)
        return Job(label, overrides, seed, extra={"problem": self.problem.key})

    def next_jobs(self) -> list[Job]:
        """The next seeds of the current size, or of the next size once this one is decided."""
        if self.status != "running":
            return []
        value = self.problem.values[self.index]
        rows, issued = self.rows.get(value, []), self.issued.get(value, 0)
        first = min(self.seeds, 2)
        if issued == 0:
            wanted = first
        elif len(rows) < issued:  # results still out
            return []
        else:
            wanted = issued + 1 if self.verdict(value) is None else issued
        wanted = min(wanted, self.seeds)
        self.issued[value] = wanted
        return [self._job(value, seed) for seed in range(issued, wanted)]

    def verdict(self, value: int) -> bool | None:
        """True/False once most seeds are (or can no longer be) solved; None while open."""
        rows = self.rows.get(value, [])
        solved = sum(row["solved"] for row in rows)
        if solved >= self.majority:
            return True
        if solved + self.seeds - len(rows) < self.majority:
            return False
        return None

    def record(self, job: Job, row: Row) -> list[Job]:
        """A run's row; the jobs the ladder wants next (the remaining seeds of a solved size)."""
        value = job.label["value"]
        self.rows.setdefault(value, []).append(row)
        if self.status != "running" or value != self.problem.values[self.index]:
            return []
        if row.get("stopped") == "error":
            self.status = "n/a" if row["error"].startswith("ConfigError") else "error"
            return []
        verdict = self.verdict(value)
        if verdict is None:
            return []
        later = [self._job(value, seed) for seed in range(self.issued[value], self.seeds)]
        self.issued[value] = self.seeds if verdict else self.issued[value]
        self.misses = 0 if verdict else self.misses + 1
        if self.misses >= MISSES_TO_STOP:
            self.status = "broke"
        elif self.index + 1 == len(self.problem.values):
            self.status = "largest size"
        else:
            self.index += 1
        return later if verdict else []


class LeaderboardPlan:
    """Fixed jobs first, then every ladder's jobs as they become ready (a runner ``Plan``).

    Waiting ladder jobs start in the order of their model in ``ladders`` (``priority``): the
    first model's ladders are pushed as far as they go, the others fill the free workers, so
    a time limit cuts the last models' ladders short, never the first's."""

    def __init__(self, fixed: list[Job], ladders: list[Ladder]) -> None:
        self.fixed, self.ladders = list(fixed), {ladder.key: ladder for ladder in ladders}
        self.rows: list[tuple[Job, Row]] = []
        self._extra: list[Job] = []
        self._rank = {
            model: rank for rank, model in enumerate(dict.fromkeys(m for m, _ in self.ladders))
        }

    def priority(self, job: Job) -> int:
        """0 for the fixed jobs, then 1 + the rank of the ladder's model."""
        return 1 + self._rank[job.label["model"]] if "problem" in job.extra else 0

    def next_jobs(self) -> list[Job]:
        jobs, self.fixed, self._extra = [*self.fixed, *self._extra], [], []
        for ladder in self.ladders.values():
            jobs += ladder.next_jobs()
        return jobs

    def record(self, job: Job, row: Row) -> None:
        self.rows.append((job, row))
        if "problem" in job.extra:
            ladder = self.ladders[job.label["model"], job.extra["problem"]]
            self._extra += ladder.record(job, row)


def frontier(ladder: Ladder) -> dict[str, Any]:
    """The largest size solved in most seeds, the steps it took, and where the ladder broke."""
    sizes = [value for value in ladder.problem.values if value in ladder.rows]
    verdicts = {value: ladder.verdict(value) for value in sizes}
    solved = [value for value in sizes if verdicts[value]]
    best = max(solved, default=None)
    done = [row for row in ladder.rows.get(best, []) if row["solved"]]
    unsolved = [value for value in sizes if verdicts[value] is False and value > (best or 0)]
    status = ladder.status if ladder.status != "running" else "time limit"
    errors = [row["error"] for rows in ladder.rows.values() for row in rows if "error" in row]
    return {
        "model": ladder.model,
        "problem": ladder.problem.key,
        "knob": ladder.problem.knob,
        "value": best,
        "seeds_solved": len(done),
        "seeds": len(ladder.rows.get(best, [])),
        "steps": statistics.median(row["steps"] for row in done) if done else None,
        "sequences": statistics.median(row["sequences"] for row in done) if done else None,
        "first_unsolved": min(unsolved, default=None),
        "status": status,
        "error": errors[0] if errors else None,
    }


def curve(ladder: Ladder) -> list[dict[str, Any]]:
    """Per size: seeds solved of run, median steps of the solved seeds, and the verdict."""
    points = []
    for value in ladder.problem.values:
        rows = [row for row in ladder.rows.get(value, []) if row.get("stopped") != "error"]
        if not rows:
            continue
        done = [row["steps"] for row in rows if row["solved"]]
        points.append({"value": value, "solved": ladder.verdict(value),
                       "seeds_solved": len(done), "seeds": len(rows),
                       "steps": statistics.median(done) if done else None,
                       "max_steps": max(row["steps"] for row in rows)})  # fmt: skip
    return points
