"""The suite report: every problem and framing, the specification's claims, difficulty scaled.

For every problem and framing at the specification's default size, trains the default LSTM
(``model=lstm``), the memoryless MLP baseline (``model=mlp``, one time step at a time) and, for
reference, the flattened-window MLP (``model=mlp_window``) under one fixed budget, with
``training.run.train`` in this process. Each run is scored by the problem's own criterion on its
fixed test set. The specification's claims ("an MLP can / cannot learn this") are checked one row
each against those runs. Then each problem's difficulty knob is scaled for the default LSTM until
a size is not solved within the same budget (medians of 3 seeds where a run takes under 10 s).

Writes ``suite.md`` (a README-ready section), ``suite.json``, ``suite.png``, ``scaling.md`` and
``scaling.png`` into ``--out`` (default ``results``). Usage::

    python -m benchmarks.suite [--quick] [--out DIR] [--threads 1] [--time-limit 840]

The whole report is bounded by ``--time-limit`` seconds: a scaling run starts only while the
worst case of the run (its ``max_time`` plus a margin) still fits.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

SEEDS = (0, 1, 2)
FAST_RUN_S = 10.0  # runs faster than this are repeated over SEEDS; the median is reported
RUN_MARGIN_S = 20.0  # worst-case time of a run beyond max_time: testing, checkpoints, setup
COMMON = ["report.plots=false", "trainer.enable_progress_bar=false",
          "+trainer.enable_model_summary=false"]  # fmt: skip
MODELS = {  # model key -> config overrides
    "lstm": ["model=lstm"],
    "mlp": ["model=mlp"],
    "mlp_window": ["model=mlp_window"],
    "bilstm": ["model=lstm_one_to_one", "model.bidirectional=true"],
}
MODEL_LABELS = {
    "lstm": "LSTM (default)",
    "mlp": "MLP, memoryless",
    "mlp_window": "MLP, whole window",
    "bilstm": "bidirectional LSTM",
}
COLORS = {"lstm": "tab:blue", "mlp": "tab:orange", "mlp_window": "tab:gray", "bilstm": "tab:green"}


# ------------------------------------------------------------------------------ what is run
@dataclass(frozen=True)
class Budget:
    """One budget for every run of a report: never tuned per row."""

    max_steps: int
    max_time_s: int
    batch_size: int
    train_samples: int  # sequences per epoch: validation (and the solved check) after each
    eval_samples: int  # fixed validation and test sets

    def overrides(self) -> list[str]:
        seconds = self.max_time_s
        return [
            f"trainer.max_steps={self.max_steps}",
            f"trainer.max_time=00:00:{seconds // 60:02d}:{seconds % 60:02d}",
            f"data.batch_size={self.batch_size}",
            f"data.train_samples={self.train_samples}",
            f"data.val_samples={self.eval_samples}",
            f"data.test_samples={self.eval_samples}",
            f"data.eval_batch_size={self.eval_samples}",
        ]

    @property
    def check_every(self) -> int:
        return math.ceil(self.train_samples / self.batch_size)


FULL = Budget(max_steps=2000, max_time_s=40, batch_size=256, train_samples=6400,
              eval_samples=1000)  # fmt: skip
QUICK = Budget(max_steps=20, max_time_s=10, batch_size=64, train_samples=640, eval_samples=200)


@dataclass(frozen=True)
class Row:
    """A problem and framing at the specification's default size, and the models it is given."""

    key: str
    task: str
    options: dict[str, Any]
    label: str
    models: tuple[str, ...] = ("lstm", "mlp", "mlp_window")


ROWS = [
    Row("ramp/window=1", "ramp", {"window": 1}, "ramp, one step (many_to_one, window 1)"),
    Row("ramp/window=4", "ramp", {"window": 4}, "ramp, window (many_to_one, window 4)"),
    Row("ramp/one_to_one", "ramp", {"framing": "one_to_one"}, "ramp, one_to_one (window 9)"),
    Row("memorize/one_to_one", "memorize", {"framing": "one_to_one"}, "memorize, one_to_one"),
    Row("memorize/many_to_one", "memorize", {"framing": "many_to_one"}, "memorize, many_to_one"),
    Row("echo/lag=0", "echo", {"lag": 0}, "echo, lag 0 (current value)"),
    Row("echo/lag=1", "echo", {"lag": 1}, "echo, lag 1 (previous value)"),
    Row("echo/lag=5", "echo", {"lag": 5}, "echo, lag 5 (5th of 10, default)"),
    Row("subsequence/many_to_one", "subsequence", {"framing": "many_to_one"},
        "subsequence, whole, many_to_one"),
    Row("subsequence/one_to_one", "subsequence", {"framing": "one_to_one"},
        "subsequence, whole, one_to_one"),
    Row("subsequence/seq2seq", "subsequence", {"framing": "seq2seq"},
        "subsequence, part 0..2, seq2seq"),
    Row("classify/one_to_one", "classify", {}, "classify, one_to_one",
        ("lstm", "mlp", "mlp_window", "bilstm")),
]  # fmt: skip
QUICK_ROWS = ("ramp/window=1", "echo/lag=1", "subsequence/seq2seq")


@dataclass(frozen=True)
class Claim:
    """A sentence of the specification, and the run that tests it."""

    problem: str
    claim: str
    row: str
    model: str
    expect_solved: bool


CLAIMS = [  # the specification's claims, in our words
    Claim("ramp, one step (window 1)", "an MLP can learn it", "ramp/window=1", "mlp", True),
    Claim("ramp, window (window 4)", "an MLP can learn it", "ramp/window=4", "mlp", True),
    Claim("memorize, one_to_one", "an MLP (or any network without recurrence) cannot learn it",
          "memorize/one_to_one", "mlp", False),
    Claim("memorize, one_to_one", "an LSTM can (it tests learned memory)",
          "memorize/one_to_one", "lstm", True),
    Claim("memorize, many_to_one", "an MLP cannot learn it either",
          "memorize/many_to_one", "mlp", False),
    Claim("memorize, many_to_one", "an LSTM can", "memorize/many_to_one", "lstm", True),
    Claim("echo, lag 0", "trivial: an MLP solves it easily", "echo/lag=0", "mlp", True),
    Claim("echo, lag 1", "an MLP cannot solve it", "echo/lag=1", "mlp", False),
    Claim("echo, lag 1", "an LSTM can (it tests learned temporal dependence)",
          "echo/lag=1", "lstm", True),
    Claim("echo, lag 5", "an MLP cannot (the echoed step lies further back)",
          "echo/lag=5", "mlp", False),
    Claim("echo, lag 5", "an LSTM can (a harder test of its memory)", "echo/lag=5", "lstm", True),
    Claim("subsequence, whole, many_to_one",
          "many-to-one, the whole sequence emitted after the last input: an LSTM solves it",
          "subsequence/many_to_one", "lstm", True),
    Claim("subsequence, whole, one_to_one",
          "one-to-one, one output per input step: an LSTM solves it",
          "subsequence/one_to_one", "lstm", True),
    Claim("subsequence, part, seq2seq",
          "a part of the input as output needs an encoder-decoder LSTM: it solves it",
          "subsequence/seq2seq", "lstm", True),
    Claim("classify, one_to_one", "it needs state over past steps: a memoryless MLP cannot",
          "classify/one_to_one", "mlp", False),
    Claim("classify, one_to_one", "an LSTM (with state) solves it",
          "classify/one_to_one", "lstm", True),
    Claim("classify, one_to_one", "a bidirectional LSTM solves it",
          "classify/one_to_one", "bilstm", True),
]  # fmt: skip


@dataclass(frozen=True)
class Sweep:
    """A problem's difficulty knob, scaled for the default LSTM."""

    problem: str
    knob: str
    values: tuple[int, ...]
    options: Callable[[int], dict[str, Any]]
    fixed: str  # what stays as it is, in words


SWEEPS = [
    Sweep("ramp", "length", (10, 20, 50, 100, 200, 500, 1000),
          lambda v: {"length": v}, "many_to_one, window 1; solved at mse <= (0.25/length)^2"),
    Sweep("memorize", "length", (5, 8, 10, 15, 20, 50, 100),
          lambda v: {"length": v, "framing": "many_to_one"}, "many_to_one, 2 sequences"),
    Sweep("echo", "lag", (1, 3, 5, 9, 19, 49, 99),
          lambda v: {"lag": v, "length": max(10, v + 1)}, "length max(10, lag+1), vocab 100"),
    Sweep("subsequence", "length", (5, 7, 10, 15, 20, 30),
          lambda v: {"length": v}, "many_to_one (whole sequence at the end), vocab 10"),
    Sweep("classify", "length", (10, 20, 30, 50, 100, 200),
          lambda v: {"length": v}, "one_to_one, threshold length/4"),
]  # fmt: skip
QUICK_SWEEPS = [
    Sweep(s.problem, s.knob, s.values[:2], s.options, s.fixed)
    for s in SWEEPS
    if s.problem in ("ramp", "echo")
]


# ------------------------------------------------------------------------------ running
QUIET_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning.pytorch.utilities.rank_zero",
                 "lightning.fabric.utilities.rank_zero")  # fmt: skip


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Lightning's info logs and warnings silenced; restored afterwards."""
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _threshold(criterion: str) -> float:
    return float(criterion.split()[-1])


def run_one(task: str, options: dict[str, Any], model: str, budget: Budget, seed: int,
            run_dir: Path) -> dict[str, Any]:  # fmt: skip
    """Train one configuration with ``train(cfg)``; a record of the outcome (never raises)."""
    from hydra import compose, initialize_config_module

    from training.run import ConfigError, train

    overrides = [
        f"task={task}",
        *(f"task.{key}={value}" for key, value in options.items()),
        *MODELS[model],
        *budget.overrides(),
        *COMMON,
        f"seed={seed}",
        f"+run_dir={run_dir}",
    ]
    record: dict[str, Any] = {"task": task, "options": dict(options), "model": model,
                              "seed": seed, "overrides": overrides[:-1]}  # fmt: skip
    started = time.perf_counter()
    try:
        with initialize_config_module("training.conf", version_base="1.3"):
            cfg = compose("config", overrides=overrides)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            summary = train(cfg)
    except ConfigError as error:  # refused before training: the model cannot serve the framing
        return {**record, "status": "n/a", "note": str(error)}
    except Exception as error:  # one broken run must not sink the report
        traceback.print_exc(file=sys.stderr)
        seconds = round(time.perf_counter() - started, 1)
        return {**record, "status": "error", "note": f"{type(error).__name__}: {error}",
                "seconds": seconds}  # fmt: skip
    metric = summary["metric"]
    solved_at = summary["solved_at_step"]
    return {
        **record,
        "status": "ok",
        "model_class": summary["model"],
        "framing": summary["framing"],
        "solved": bool(summary["solved"]),
        "solved_at_step": solved_at,  # first validation that met the criterion (then it stops)
        "samples_to_solve": summary["samples"] if solved_at is not None else None,
        "steps": summary["steps"],
        "samples": summary["samples"],
        "seconds": summary["seconds"],
        "metric": metric,
        "criterion": summary["criterion"],
        "threshold": _threshold(summary["criterion"]),
        "chance": summary["chance"],
        "test_value": summary["test"].get(f"test/{metric}"),
        "val_value": summary["val"].get(f"val/{metric}"),
        "test": summary["test"],
        "val": summary["val"],
    }


def _progress(message: str) -> None:
    print(message, flush=True)


def _outcome(record: dict[str, Any]) -> str:
    if record["status"] != "ok":
        return record["status"]
    value = f"test {record['metric']} {record['test_value']:.4g}"
    if record["solved"]:
        return f"solved at step {record['solved_at_step']} ({value}, {record['seconds']:.1f} s)"
    return f"not solved in {record['steps']} steps ({value}, {record['seconds']:.1f} s)"


def run_suite(rows: Sequence[Row], budget: Budget, work: Path) -> list[dict[str, Any]]:
    jobs = [(row, model) for row in rows for model in row.models]
    records = []
    for number, (row, model) in enumerate(jobs, 1):
        run_dir = work / "suite" / re.sub(r"\W", "_", row.key) / model
        record = run_one(row.task, row.options, model, budget, 0, run_dir)
        record.update(row=row.key, label=row.label)
        records.append(record)
        _progress(f"[suite {number:2d}/{len(jobs)}] {row.key:24s} {model:10s} {_outcome(record)}")
    return records


def _median_steps(runs: list[dict[str, Any]]) -> float:
    """Median steps to solve over seeds; an unsolved seed counts as infinitely many."""
    return statistics.median(
        (r["solved_at_step"] if r["solved_at_step"] is not None else r["steps"])
        if r.get("solved") else math.inf
        for r in runs
    )  # fmt: skip


def _point(sweep: Sweep, value: int, runs: list[dict[str, Any]], status: str) -> dict[str, Any]:
    ok = [r for r in runs if r["status"] == "ok"]
    solved = [r for r in ok if r["solved"]]
    median = _median_steps(ok) if ok else math.inf
    point = {
        "problem": sweep.problem,
        "knob": sweep.knob,
        "value": value,
        "options": sweep.options(value),
        "status": status,
        "seeds": len(ok),
        "seeds_solved": len(solved),
        "solved": bool(ok) and math.isfinite(median),
        "median_steps_to_solve": median if math.isfinite(median) else None,
        "median_samples_to_solve": None,
        "median_seconds": statistics.median(r["seconds"] for r in ok) if ok else None,
        "runs": runs,
    }
    if point["solved"]:
        point["median_samples_to_solve"] = statistics.median(
            (r["samples_to_solve"] or r["samples"]) if r["solved"] else math.inf for r in ok
        )
    return point


def run_scaling(sweeps: Sequence[Sweep], budget: Budget, work: Path, seeds: Sequence[int],
                deadline: float) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    """Each sweep in turn, size by size (round robin), until a size is not solved.

    A size is solved when most of its seeds are; seeds beyond the first run only when the first
    one took under ``FAST_RUN_S``. Sizes past ``deadline`` are recorded as not run.
    """
    points: dict[str, list[dict[str, Any]]] = {s.problem: [] for s in sweeps}
    active = {s.problem: True for s in sweeps}
    for index in range(max(len(s.values) for s in sweeps)):
        for sweep in sweeps:
            if index >= len(sweep.values):
                continue
            value = sweep.values[index]
            if not active[sweep.problem]:
                points[sweep.problem].append(_point(sweep, value, [], "not run (after unsolved)"))
                continue
            runs: list[dict[str, Any]] = []
            out_of_time = False
            for seed in seeds:
                if runs and not (runs[0].get("solved") and runs[0]["seconds"] < FAST_RUN_S):
                    break
                if deadline - time.monotonic() < budget.max_time_s + RUN_MARGIN_S:
                    out_of_time = True
                    break
                run_dir = work / "scaling" / sweep.problem / f"{value}_seed{seed}"
                run = run_one(sweep.problem, sweep.options(value), "lstm", budget, seed, run_dir)
                runs.append(run)
                _progress(f"[scaling] {sweep.problem:12s} {sweep.knob}={value:<5d} seed {seed} "
                          f"{_outcome(run)}")  # fmt: skip
            status = "run" if runs else "not run (report time limit)"
            if out_of_time and runs:
                status = "run (fewer seeds: report time limit)"
            point = _point(sweep, value, runs, status)
            points[sweep.problem].append(point)
            if not point["solved"]:
                active[sweep.problem] = False
    return points


# ------------------------------------------------------------------------------ the machine
def machine() -> dict[str, Any]:
    import lightning

    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "platform": platform.platform(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    return info


def load() -> dict[str, Any]:
    """Load average and CPU pressure now: how busy the machine is with others' work."""
    now: dict[str, Any] = {"loadavg_1m": round(os.getloadavg()[0], 2)}
    with contextlib.suppress(OSError):
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        now["cpu_pressure_avg60_pct"] = float(re.search(r"avg60=([\d.]+)", line).group(1))
    return now


# ------------------------------------------------------------------------------ the claims
def judge(claims: Sequence[Claim], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_key = {(r["row"], r["model"]): r for r in records}
    verdicts = []
    for claim in claims:
        record = by_key.get((claim.row, claim.model))
        expected = "solves it" if claim.expect_solved else "does not solve it"
        if record is None or record["status"] != "ok":
            why = "not run" if record is None else f"{record['status']}: {record.get('note', '')}"
            measured, verdict = why, "not measured"
        else:
            measured = f"{MODEL_LABELS[claim.model]}: {_measured(record)}"
            verdict = "agree" if record["solved"] == claim.expect_solved else "disagree"
        verdicts.append({**asdict(claim), "expected": f"{MODEL_LABELS[claim.model]} {expected}",
                         "measured": measured, "verdict": verdict})  # fmt: skip
    return verdicts


def _measured(record: dict[str, Any]) -> str:
    value = f"test {record['metric']} {record['test_value']:.4g} (needs {record['criterion']}, " \
        f"chance {record['chance']:.3g})"  # fmt: skip
    if record["solved"]:
        at = record["solved_at_step"]
        when = f"at step {at}" if at is not None else f"within {record['steps']} steps"
        return f"solved {when}; {value}"
    return f"not solved in {record['steps']} steps / {record['seconds']:.0f} s; {value}"


# ------------------------------------------------------------------------------ tables
def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |"
              for row in rows]  # fmt: skip
    return "\n".join(lines)


def _fmt(value: float | None, spec: str = ".4g") -> str:
    return "-" if value is None else format(value, spec)


def suite_table(records: list[dict[str, Any]]) -> str:
    header = ["problem, framing", "model", "solved", "steps to solve", "sequences to solve",
              "steps run", "seconds", "test metric", "criterion", "chance"]  # fmt: skip
    rows = []
    for r in records:
        model = MODEL_LABELS[r["model"]]
        if r["status"] != "ok":
            status = f"{r['status']}: {r.get('note', '')}".strip(": ")
            rows.append([r["label"], model, status, "-", "-", "-", _fmt(r.get("seconds"),
                         ".1f"), "-", "-", "-"])  # fmt: skip
            continue
        rows.append([
            r["label"], model, "**yes**" if r["solved"] else "no",
            _fmt(r["solved_at_step"], "d"), _fmt(r["samples_to_solve"], ",d"), r["steps"],
            f"{r['seconds']:.1f}", f"{r['metric']} {r['test_value']:.4g}",
            f"{r['metric']} {r['criterion']}", f"{r['chance']:.3g}",
        ])  # fmt: skip
    return _table(header, rows)


def claims_table(verdicts: list[dict[str, Any]]) -> str:
    header = ["#", "problem", "claim (specification)", "expected", "measured", "verdict"]
    rows = [[i, v["problem"], v["claim"], v["expected"], v["measured"], f"**{v['verdict']}**"]
            for i, v in enumerate(verdicts, 1)]  # fmt: skip
    return _table(header, rows)


def scaling_table(points: dict[str, list[dict[str, Any]]], sweeps: Sequence[Sweep]) -> str:
    header = ["problem", "knob", "value", "task options", "seeds solved",
              "median steps to solve", "steps to solve per seed", "median sequences",
              "median seconds", "result"]  # fmt: skip
    rows = []
    fixed = {s.problem: s.fixed for s in sweeps}
    for problem, series in points.items():
        for p in series:
            options = " ".join(f"{k}={v}" for k, v in p["options"].items())
            per_seed = ", ".join(
                str(r["solved_at_step"] if r["solved_at_step"] is not None else r["steps"])
                if r.get("solved") else f"✗({r['steps']})" if r["status"] == "ok" else r["status"]
                for r in p["runs"]
            )  # fmt: skip
            if p["runs"]:
                result = "solved" if p["solved"] else "**not solved**"
                last = [r for r in p["runs"] if r["status"] == "ok"]
                if not p["solved"] and last:
                    r = last[0]
                    result += f" (test {r['metric']} {r['test_value']:.4g}, {r['criterion']})"
            else:
                result = p["status"]
            rows.append([
                f"{problem} ({fixed[problem]})", p["knob"], p["value"], options,
                f"{p['seeds_solved']}/{p['seeds']}" if p["runs"] else "-",
                _fmt(p["median_steps_to_solve"], ".0f"), per_seed or "-",
                _fmt(p["median_samples_to_solve"], ",.0f"), _fmt(p["median_seconds"], ".1f"),
                result,
            ])  # fmt: skip
    return _table(header, rows)


def largest_solved(points: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out = {}
    for problem, series in points.items():
        solved = [p["value"] for p in series if p["solved"]]
        failed = [p["value"] for p in series if p["runs"] and not p["solved"]]
        out[problem] = {"largest_solved": max(solved) if solved else None,
                        "first_unsolved": min(failed) if failed else None}  # fmt: skip
    return out


# ------------------------------------------------------------------------------ figures
def plot_suite(records: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in records if r["status"] == "ok"]
    labels = list(dict.fromkeys(r["label"] for r in records))
    panels = [("accuracy", [lb for lb in labels if any(r["label"] == lb and r["metric"] ==
               "accuracy" for r in ok)]),
              ("mse", [lb for lb in labels if any(r["label"] == lb and r["metric"] == "mse"
               for r in ok)])]  # fmt: skip
    panels = [(metric, rows) for metric, rows in panels if rows]
    if not panels:
        return
    heights = [max(2, len(rows)) for _, rows in panels]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(9, 1.0 + 0.62 * sum(heights)),
        gridspec_kw={"height_ratios": heights}, squeeze=False,
    )  # fmt: skip
    width = 0.2
    for ax, (metric, rows) in zip(axes[:, 0], panels, strict=True):
        for y, label in enumerate(rows):
            runs = [r for r in records if r["label"] == label]
            for k, r in enumerate(runs):
                offset = (k - (len(runs) - 1) / 2) * width
                if r["status"] != "ok":
                    ax.text(1e-9 if metric == "mse" else 0.01, y + offset, f"{r['model']}: "
                            f"{r['status']}", va="center", fontsize=7)  # fmt: skip
                    continue
                ax.barh(
                    y + offset,
                    r["test_value"],
                    height=width,
                    color=COLORS[r["model"]],
                    hatch="" if r["solved"] else "//",
                    edgecolor="black",
                    linewidth=0.3,
                )
            first = next((r for r in runs if r["status"] == "ok"), None)
            if first:
                ax.plot([first["threshold"]] * 2, [y - 0.45, y + 0.45], color="red", lw=1.5)
                ax.plot([first["chance"]], [y], marker="D", color="black", ms=4)
        ax.set_yticks(range(len(rows)), rows, fontsize=8)
        ax.invert_yaxis()
        if metric == "mse":
            ax.set_xscale("log")
            ax.set_xlabel("test mse (lower is better; solved left of the red line)")
        else:
            ax.set_xlim(0, 1.02)
            ax.set_xlabel("test accuracy (solved right of the red line at 0.99)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in COLORS.values()]
    handles += [plt.Line2D([], [], color="red"), plt.Line2D([], [], marker="D", color="black",
                lw=0), plt.Rectangle((0, 0), 1, 1, fill=False, hatch="//")]  # fmt: skip
    names = [*MODEL_LABELS.values(), "solved threshold", "chance", "hatched: not solved"]
    fig.legend(handles, names, loc="upper center", ncol=4, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (1.0 + 0.62 * sum(heights))))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scaling(points: dict[str, list[dict[str, Any]]], sweeps: Sequence[Sweep], budget: Budget,
                 path: Path) -> None:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fixed = {s.problem: s.fixed for s in sweeps}
    problems = list(points)
    if not problems:
        return
    fig, axes = plt.subplots(1, len(problems), figsize=(3.6 * len(problems), 3.6), squeeze=False)
    for ax, problem in zip(axes[0], problems, strict=True):
        series = [p for p in points[problem] if p["runs"]]
        ceiling = budget.max_steps * 1.3
        xs = [p["value"] for p in series if p["solved"]]
        ys = [p["median_steps_to_solve"] for p in series if p["solved"]]
        ax.plot(xs, ys, "o-", color=COLORS["lstm"], label="median over seeds")
        for p in series:
            for r in p["runs"]:
                if r.get("solved"):
                    steps = r["solved_at_step"] if r["solved_at_step"] is not None else r["steps"]
                    ax.plot(p["value"], steps, ".", color="black", alpha=0.5, ms=4)
            if not p["solved"]:
                ax.plot(p["value"], ceiling, "x", color="red", ms=9, mew=2)
                ax.annotate(
                    "not solved\nin budget",
                    (p["value"], ceiling),
                    fontsize=7,
                    ha="center",
                    va="top",
                    xytext=(0, -8),
                    textcoords="offset points",
                )
        values = [p["value"] for p in series] or [p["value"] for p in points[problem]]
        if max(values) / max(min(values), 1) >= 10:
            ax.set_xscale("log")
        ax.set_xticks(values, [str(v) for v in values], fontsize=7)
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.set_ylim(10, ceiling * 1.8)
        ax.axhline(budget.max_steps, color="gray", ls=":", lw=1)
        knob = points[problem][0]["knob"]
        ax.set_xlabel(knob)
        ax.set_title(f"{problem}\n{fixed[problem]}", fontsize=8)
    axes[0][0].set_ylabel(f"steps to solve (batch {budget.batch_size})")
    fig.suptitle(f"Default LSTM: steps to solve vs difficulty (budget {budget.max_steps} steps or "
                 f"{budget.max_time_s} s a run; dots: seeds)", fontsize=9)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------------------ the report
def _link(out: Path, name: str) -> str:
    """A link that works from the repository root (README) when ``out`` is inside it."""
    try:
        return str((out / name).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(out / name)


def _budget_text(budget: Budget) -> str:
    return (
        f"every run (every row, model and scaling point) gets the same budget: at most "
        f"`trainer.max_steps={budget.max_steps}` steps and `trainer.max_time={budget.max_time_s}"
        f" s`, batches of {budget.batch_size}, `data.train_samples={budget.train_samples}` fresh "
        f"sequences per epoch (so validation, and the stop-when-solved check, every "
        f"{budget.check_every} steps), fixed validation and test sets of {budget.eval_samples} "
        f'sequences; seed 0 for the suite. "Solved" is the problem\'s own criterion on the fixed '
        f'test set (best checkpoint); "steps to solve" is the first validation that met it.'
    )


def _machine_text(info: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> str:
    pressure = ""
    if "cpu_pressure_avg60_pct" in before:
        pressure = (f", CPU pressure (avg60, % of time some task waited for a CPU) "
                    f"{before['cpu_pressure_avg60_pct']:.0f}% at start and "
                    f"{after.get('cpu_pressure_avg60_pct', float('nan')):.0f}% at end")  # fmt: skip
    return (
        f"{info['cpu']}, nproc {info['nproc']}, torch threads {info['torch_threads']}, "
        f"Python {info['python']}, torch {info['torch']}, lightning {info['lightning']}; "
        f"shared with other users' jobs: load average {before['loadavg_1m']} at start and "
        f"{after['loadavg_1m']} at end{pressure}. Timings are noisy."
    )


NOTES = [
    "The memoryless MLP (`model=mlp`) sees one time step at a time: in a many_to_one framing it "
    "predicts from the last input alone. It is the model the specification's \"an MLP can / "
    'cannot" sentences are about, and the claims are judged on it. The whole-window MLP '
    "(`model=mlp_window`, the fixed-length input flattened into one vector) is shown for "
    "reference: it is not memoryless in the sense that matters, since it sees every step at once.",
    "`model=mlp` cannot serve the seq2seq framing (an output sequence of its own length needs a "
    "decoder or the whole window); `train()` refuses it before training (the n/a row shows its "
    "message). The whole-window MLP does serve it.",
    "Memorize one_to_one is scored by exact match (every step of a sequence right): a memoryless "
    "model gets every step but the last right, so its per-step accuracy, (L - 1.5) / (L - 1), "
    "would pass 0.99 from L = 52 on, while its exact match stays 0.5. The memorize scaling sweep "
    "uses the many_to_one framing, where memoryless is chance (0.5) at every length.",
]


def measured_notes(records: list[dict[str, Any]]) -> list[str]:
    """What this run's table shows beyond the claims."""
    by_key = {(r["row"], r["model"]): r for r in records if r["status"] == "ok"}
    labels = dict.fromkeys(r["label"] for r in records)
    window_only = [
        label for label in labels
        if any(by_key.get((r["row"], "mlp_window"), {}).get("solved") and
               not by_key.get((r["row"], "mlp"), {"solved": True})["solved"]
               for r in records if r["label"] == label)
    ]  # fmt: skip
    notes = []
    if window_only:
        notes.append(
            "Rows the whole-window MLP solves and the memoryless MLP does not: "
            + "; ".join(window_only)
            + ". It sees the whole fixed-length input at once, so nothing has to be remembered: "
            'the specification\'s "an MLP cannot" holds for an MLP fed one time step at a time.'
        )
    one_to_one = by_key.get(("subsequence/one_to_one", "mlp"))
    if one_to_one and one_to_one["solved"]:
        notes.append(
            "Subsequence, whole sequence, one_to_one is the identity at every step (output t = "
            "input t): the memoryless MLP solves it too. The specification makes no MLP claim "
            "about it; only the many_to_one and seq2seq framings need memory."
        )
    return notes


def write_report(out: Path, report: dict[str, Any], budget: Budget,
                 sweeps: Sequence[Sweep]) -> None:  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    records, verdicts, points = report["rows"], report["claims"], report["scaling"]
    plot_suite(records, out / "suite.png")
    plot_scaling(points, sweeps, budget, out / "scaling.png")
    largest = report["largest_solved"]
    reach = "; ".join(
        f"{p} {points[p][0]['knob']} "
        + ("none solved" if v["largest_solved"] is None else f"{v['largest_solved']}")
        + (f" (not {v['first_unsolved']})" if v["first_unsolved"] is not None else "")
        for p, v in largest.items()
    )
    machine_text = _machine_text(report["machine"], report["load_start"], report["load_end"])
    agree = sum(v["verdict"] == "agree" for v in verdicts)
    disagree = [i for i, v in enumerate(verdicts, 1) if v["verdict"] == "disagree"]
    scaling_md = "\n\n".join([
        "### Difficulty scaling: steps to solve for the default LSTM",
        f"Steps (and sequences: steps x {budget.batch_size}) until the problem's criterion, for "
        f"the default LSTM, size by size until a size is not solved within the budget: "
        f"{_budget_text(budget)} Sizes whose first run took under {FAST_RUN_S:.0f} s are run "
        f"with seeds {', '.join(map(str, SEEDS))} and reported as medians (an unsolved seed "
        f"counts as infinitely many steps; a size is solved when most seeds solve it). "
        f"Largest size solved: {reach}.",
        scaling_table(points, sweeps),
        f"![steps to solve vs difficulty]({_link(out, 'scaling.png')})",
    ])  # fmt: skip
    suite_md = "\n\n".join([
        "## Suite report: every framing, the specification's claims, difficulty scaled",
        f"`{report['command']}` ({report['wall_seconds'] / 60:.1f} min, {report['runs']} "
        f"training runs). Machine: {machine_text}",
        f"Budget: {_budget_text(budget)}",
        "### The specification's claims",
        f"{agree} of {len(verdicts)} agree"
        + (f"; disagreeing: #{', #'.join(map(str, disagree))}." if disagree else "."),
        claims_table(verdicts),
        "### Every problem and framing at the default size",
        suite_table(records),
        f"![test metric per problem and model vs chance and threshold]({_link(out, 'suite.png')})",
        scaling_md,
        "### Notes",
        "\n".join(f"- {note}" for note in [*NOTES, *measured_notes(records)]),
    ])  # fmt: skip
    (out / "suite.md").write_text(suite_md + "\n")
    (out / "scaling.md").write_text(scaling_md + f"\n\nMachine: {machine_text}\n")
    (out / "suite.json").write_text(json.dumps(report, indent=1, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def _finite(value: Any) -> Any:
    """``inf`` -> None, recursively (JSON has no infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a tiny budget and a few rows and sizes (for tests)"
    )
    parser.add_argument("--out", type=Path, default=Path("results"), help="output folder")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: two threads on a 2-core machine shared with other "
        "jobs measured up to 10x slower)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=840.0,
        help="seconds for the whole report; scaling runs stop before it",
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling curves")
    args = parser.parse_args(argv)  # fmt: skip

    started, deadline = time.perf_counter(), time.monotonic() + args.time_limit
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    budget = QUICK if args.quick else FULL
    rows = [r for r in ROWS if r.key in QUICK_ROWS] if args.quick else ROWS
    sweeps = [] if args.no_scaling else QUICK_SWEEPS if args.quick else SWEEPS
    seeds = SEEDS[:1] if args.quick else SEEDS
    command = "python -m benchmarks.suite" + (f" {' '.join(argv)}" if argv else "")
    if argv is None:
        command = "python -m benchmarks.suite " + " ".join(sys.argv[1:])
    report: dict[str, Any] = {"command": command.strip(), "machine": machine(),
                              "load_start": load(), "budget": asdict(budget)}  # fmt: skip
    try:
        with _quiet(), tempfile.TemporaryDirectory(prefix="seqtasks-suite-") as work:
            records = run_suite(rows, budget, Path(work))
            points = run_scaling(sweeps, budget, Path(work), seeds, deadline)
    finally:
        torch.set_num_threads(threads)
    report.update(
        rows=records,
        claims=judge(CLAIMS, records),
        scaling=points,
        largest_solved=largest_solved(points),
        runs=len(records) + sum(len(p["runs"]) for s in points.values() for p in s),
        load_end=load(),
        wall_seconds=round(time.perf_counter() - started, 1),
    )
    report = _finite(report)
    write_report(args.out, report, budget, sweeps)
    _progress(f"wrote {args.out}/suite.md, suite.json, suite.png, scaling.md, scaling.png in "
              f"{report['wall_seconds'] / 60:.1f} min")  # fmt: skip
    return report


if __name__ == "__main__":
    main()
