"""The leaderboard's search: each problem's knob pushed up an open ladder until the model breaks.

A :class:`Problem` is a difficulty knob with its sizes, up to a stated ceiling (at least 1,000 steps
of sequence for the length knobs, but parity's, 40, scored at longer lengths), and the training
settings every model gets on it. A :class:`Ladder` walks one model up one problem's sizes, fairly
and spending seeds where they decide something:

1. **learning rate**: seed 0 at the first size with each of ``LRS``; the best on validation
   (:func:`best_lr`) is the model's learning rate on this problem, and that run is the ladder's
   first run (the same job: it is not run twice);
2. **climb, one seed**: seed 0 at each next size until two sizes in a row are unsolved or the
   ceiling is reached, or at the first unsolved size where a run met the wall-clock guard (the
   next size costs more a step and would meet it sooner: a run there would only say so again);
3. **confirm, three seeds**: seeds 1 and 2 at the frontier (the largest size solved), then at
   the first unsolved size above it; each of the two is decided by the majority of its three
   seeds. If that changes the picture (the frontier fails, or the first unsolved size is solved
   after all) the climb is read again, up or down, until the frontier and the size that breaks it
   are both decided by three seeds.

A ladder ends ``broke`` (its first unsolved size confirmed) or ``ceiling`` (the ceiling solved: the
only way a cell reads ">= size"), ``n/a`` (the model cannot serve the framing) or ``error`` (a run
failed, its message kept; a diverged run is unsolved, but every rate diverged leaves none to climb
with), or ``time limit`` when cut (``--resume`` goes on).

The first size of some problems is also scored at other lengths (``report.eval_lengths``); a
model that cannot take them (``FIXED_LENGTH``, or a run that refuses them) climbs without.

:class:`LeaderboardPlan` hands the ladders' jobs to :func:`benchmarks.runner.run_plan`, beside a
fixed list of other jobs (the claims); :mod:`benchmarks.summaries` reads the rows back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from seqtasks.benchmarks.claims import FIXED_LENGTH
from seqtasks.benchmarks.runner import Job, failed
from seqtasks.training.lengths import MODEL_REFUSAL

Row = dict[str, Any]
MISSES_TO_STOP = 2  # sizes in a row unsolved before the climb stops
LRS = (0.001, 0.003, 0.01)  # each model's learning rate: the best of these at the first size
REFUSED = "cannot serve"  # a model that cannot serve the framing: n/a, not an error


@dataclass(frozen=True)
class Problem:
    """A problem's difficulty knob: the sizes it is pushed through and what stays fixed."""

    key: str  # "echo", "subsequence/seq2seq"
    task: str
    knob: str  # the task option that sets the difficulty
    values: tuple[int, ...]  # the ladder, up to its ceiling (the last)
    fixed: dict[str, Any] = field(default_factory=dict)  # task options that do not change
    settings: tuple[str, ...] = ()  # train.py overrides on this problem, the same for every model
    note: str = ""  # what stays fixed, in words
    scored_at: tuple[int, ...] = ()  # the first size is also scored at these multiples...
    eval_lengths: tuple[int, ...] = ()  # ...and at these lengths
    tied: dict[str, tuple[float, int]] = field(default_factory=dict)  # option = k * value + c

    def options(self, value: int) -> dict[str, Any]:
        """Task options at ``value`` (echo: ``length = lag + 1``, from ``tied``)."""
        tied = {key: int(k * value) + c for key, (k, c) in self.tied.items()}
        return {**self.fixed, self.knob: value, **tied}

    def overrides(self, value: int) -> list[str]:
        """``task=...`` and ``task.option=...`` overrides at ``value``, then the settings."""
        task = [f"task.{key}={item}" for key, item in self.options(value).items()]
        return [f"task={self.task}", *task, *self.settings]

    @property
    def framing(self) -> str | None:
        return self.fixed.get("framing")

    @property
    def ceiling(self) -> int:
        return self.values[-1]

    def lengths(self, value: int) -> list[int]:
        """The lengths a run at ``value`` is also scored at (the first size only)."""
        if value != self.values[0]:
            return []
        length = self.options(value).get("length", 0)
        return sorted({*(length * factor for factor in self.scored_at), *self.eval_lengths})


def ladder_label(model: str, problem: Problem, value: int, lr: float | None) -> dict[str, Any]:
    """What a ladder run is: the progress line's words and the JSON row's keys."""
    label = {"model": model, "task": problem.task, "framing": problem.framing or "default",
             "knob": problem.knob, "value": value}  # fmt: skip
    return {**label, "lr": lr} if lr is not None else label  # no lr: the model's configured one


def best_lr(rows: dict[float, Row]) -> float | None:
    """The learning rate whose run did best on validation: met the criterion there in the fewest
    steps; if none did, the best validation metric; ties to the smaller rate. None: all failed."""

    def rank(lr: float) -> tuple:
        summary = rows[lr]["summary"]
        score = summary["val"][f"val/{summary['metric']}"]
        met = summary["solved_at_step"]
        return (met is None, met or 0, score if summary["metric"] == "mse" else -score, lr)

    ok = [lr for lr, row in rows.items() if row.get("summary")]
    return min(ok, key=rank) if ok else None


class Ladder:
    """One model pushed up one problem's sizes (see the module docstring)."""

    def __init__(self, model: str, overrides: Iterable[str], problem: Problem, seeds: int = 3,
                 lrs: Iterable[float] = LRS) -> None:  # fmt: skip
        if seeds < 1:
            raise ValueError(f"seeds={seeds!r}: need at least 1")
        self.model, self.overrides, self.problem = model, tuple(overrides), problem
        self.seeds, self.lrs = seeds, tuple(lrs)
        self.lr: float | None = None  # None: the model's configured rate (no lrs to tune)
        self.tuned = not self.lrs
        self.tuning: dict[float, Row] = {}  # lr -> seed-0 row at the first size
        self.rows: dict[int, dict[int, Row]] = {}  # value -> seed -> row
        self.pending, self.status, self.error = 0, "running", None
        # a model that takes one input length is not scored at others: by name, or found out
        # when its first run refuses the lengths (a user's net of a fixed width)
        self.fixed_length = model in FIXED_LENGTH
        self.lengths_refused = "takes one input length" if self.fixed_length else None

    @property
    def key(self) -> tuple[str, str]:
        return self.model, self.problem.key

    def _job(self, value: int, seed: int, lr: float | None = None) -> Job:
        lr = lr if lr is not None else self.lr
        lengths = self.problem.lengths(value) if not self.fixed_length else []
        scored = [f"report.eval_lengths=[{','.join(map(str, lengths))}]"] if lengths else []
        rate = [f"model.lr={lr}"] if lr is not None else []
        overrides = (*self.problem.overrides(value), *self.overrides, *rate, *scored)
        label = ladder_label(self.model, self.problem, value, lr)
        return Job(label, overrides, seed, extra={"problem": self.problem.key})

    def verdict(self, value: int) -> bool | None:
        """Solved by most of the seeds run at ``value`` (one seed: that seed); None: not run."""
        rows = self.rows.get(value, {})
        return sum(row["solved"] for row in rows.values()) * 2 > len(rows) if rows else None

    def climb(self) -> tuple[list[int], int | None]:
        """The sizes the one-seed climb has passed with the verdicts so far (up to two misses in
        a row, or the ceiling), and the next size it needs a run at (None: it has ended)."""
        misses, path = 0, []
        for value in self.problem.values:
            verdict = self.verdict(value)
            if verdict is None:
                return path, value
            path.append(value)
            misses = 0 if verdict else misses + 1
            if misses >= MISSES_TO_STOP or (not verdict and self.cut_by_time(value)):
                break
        return path, None

    def cut_by_time(self, value: int) -> bool:
        """Whether a run at ``value`` was stopped by the wall-clock guard."""
        return any(row.get("stopped") == "time" for row in self.rows.get(value, {}).values())

    def frontier(self) -> tuple[int | None, int | None]:
        """The largest size solved on the climb's path, and the first unsolved size above it."""
        path, _ = self.climb()
        best = max((value for value in path if self.verdict(value)), default=None)
        broke = [value for value in path if value > (best or 0) and not self.verdict(value)]
        return best, min(broke, default=None)

    def wanted(self) -> list[tuple[int, int]]:
        """The (size, seed) runs the policy needs next from the rows so far; [] once decided."""
        _, following = self.climb()
        if following is not None:
            return [(following, 0)]
        for value in self.frontier():  # the frontier first: its seeds may move it
            have = self.rows.get(value, {}) if value is not None else range(self.seeds)
            missing = [seed for seed in range(self.seeds) if seed not in have]
            if missing:
                return [(value, seed) for seed in missing]
        return []

    def next_jobs(self) -> list[Job]:
        """The next runs of the policy, once every run handed out before has come back."""
        if self.status != "running" or self.pending:
            return []
        first = self.problem.values[0]
        if not self.tuned:
            jobs = [self._job(first, 0, lr) for lr in self.lrs]
        else:
            jobs = [self._job(value, seed) for value, seed in self.wanted()]
            if not jobs:
                best, _ = self.frontier()
                self.status = "ceiling" if best == self.problem.ceiling else "broke"
        self.pending = len(jobs)
        return jobs

    def record(self, job: Job, row: Row) -> None:
        """A run's row."""
        self.pending -= 1
        value, lr = job.label["value"], job.label.get("lr")
        if failed(row) and MODEL_REFUSAL in row["error"]:  # the board asked for other lengths:
            self.fixed_length = True  # the run goes again without them (next_jobs), if it had any
            if self._job(value, job.seed, lr).overrides != job.overrides:
                self.lengths_refused = row["error"]
                return
        if failed(row) and self.status == "running":
            self.status = "n/a" if REFUSED in row["error"] else "error"
            self.error = row["error"]
        if not self.tuned:  # tuning the learning rate (a rate whose run diverged is not chosen)
            self.tuning[lr] = row
            if self.pending == 0 and self.status == "running":
                self.lr, self.tuned = best_lr(self.tuning), True
                if self.lr is None:  # every rate diverged
                    self.status, self.error = "error", row["error"]
            if self.pending == 0:  # the first size's row: the chosen rate's, else a failed one's
                shown = self.tuning.get(self.lr) or next(filter(failed, self.tuning.values()), row)
                self.rows[value] = {0: shown}
            return
        self.rows.setdefault(value, {})[job.seed] = row

    def all_rows(self) -> list[Row]:
        """The ladder's runs at its learning rate (tuning runs at other rates excluded)."""
        return [row for value in self.problem.values for row in self.rows.get(value, {}).values()]


class LeaderboardPlan:
    """Fixed jobs first, then every ladder's jobs as they become ready (a runner ``Plan``).

    Waiting ladder jobs start in the order of their model in ``ladders`` (``priority``): the
    first model's ladders are pushed as far as they go, the others fill the free workers, so
    a time limit cuts the last models' ladders short, never the first's."""

    def __init__(self, fixed: list[Job], ladders: list[Ladder]) -> None:
        self.fixed, self.ladders = list(fixed), {ladder.key: ladder for ladder in ladders}
        self.rows: list[tuple[Job, Row]] = []
        self._rank = {
            model: rank for rank, model in enumerate(dict.fromkeys(m for m, _ in self.ladders))
        }

    def priority(self, job: Job) -> int:
        """0 for the fixed jobs, then 1 + the rank of the ladder's model."""
        return 1 + self._rank[job.label["model"]] if "problem" in job.extra else 0

    def next_jobs(self) -> list[Job]:
        jobs, self.fixed = self.fixed, []
        for ladder in self.ladders.values():
            jobs = [*jobs, *ladder.next_jobs()]
        return jobs

    def record(self, job: Job, row: Row) -> None:
        self.rows.append((job, row))
        if "problem" in job.extra:
            self.ladders[job.label["model"], job.extra["problem"]].record(job, row)


if __name__ == "__main__":  # python -m seqtasks.benchmarks.leaderboard: the board's command
    from seqtasks.benchmarks.suite import cli

    raise SystemExit(cli())
