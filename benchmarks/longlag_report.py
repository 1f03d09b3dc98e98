"""The long-time-lag table and its notes, as markdown (``seqtasks.benchmarks.longlag``)."""

from __future__ import annotations

import math
import statistics
from typing import Any

# Bai, Kolter & Koltun (2018), Table 1: copy memory at T=1000, test cross-entropy (lower is better).
TCN_TABLE = {"LSTM": 0.0204, "GRU": 0.0197, "TCN": 3.5e-5}


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _recipe(r: dict[str, Any]) -> str:
    init = f" {r['init']}" if r.get("init") else ""
    optimizer = "RMSprop " if r.get("optimizer") == "rmsprop" else ""
    return (
        f"{r['model']}({r['hidden_size']}){init}, {optimizer}lr {r['lr']:g}, "
        f"batch {r['batch_size']}, "
        f"clip {r['gradient_clip_val']:g}, val every {r['validate_every']:,}, "
        f"time limit {r['max_time']}"
    )


def _sequences(a: dict[str, Any]) -> str:
    text = _count(a["median_sequences"])
    if a["median_sequences"] is not None and a["min_sequences"] != a["max_sequences"]:
        text += f" ({_count(a['min_sequences'])}-{_count(a['max_sequences'])})"
    if a["unsolved_sequences"]:
        text += "; unsolved after " + ", ".join(_count(s) for s in a["unsolved_sequences"])
    return text


def _missing(runs: int, seeds: int) -> str:
    return f" (only {runs} of {seeds} seeds ran)" if runs < seeds else ""


def paper_table(rows: list[dict[str, Any]], seeds: int) -> str:
    """One line per paper preset: the paper's figure beside ours."""
    lines = [
        "| Experiment (preset) | Size | Paper: sequences [source] | Ours: sequences, median "
        "(range) | Seeds solved | Test wrong of 2,560, median [paper] | Wall s, median | Recipe |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        p, a = row["paper"], row["aggregate"]
        if p["sequences"] is None:
            continue
        beaten = a["median_sequences"] is not None and a["median_sequences"] < p["sequences"]
        every = a["solved"] == a["runs"] >= seeds
        ours = _sequences(a) + (" **(fewer)**" if beaten and every else "")
        lines.append(
            f"| {p['title']} (`{p['preset']}`) | {p['size']} | {p['sequences']:,} [{p['source']}] "
            f"| {ours} | {a['solved']}/{a['runs']}{_missing(a['runs'], seeds)} | "
            f"{_count(a['median_test_wrong'])} "
            f"[{p['wrong']}] | {a['median_seconds']:.0f} | {_recipe(row['recipe'])} |"
        )
    return "\n".join(lines)


def _median_range(values: list[float], form: str) -> str:
    if not values:
        return "-"
    text = format(statistics.median(values), form)
    if min(values) != max(values):
        text += f" ({format(min(values), form)}-{format(max(values), form)})"
    return text


def copy_table(rows: list[dict[str, Any]]) -> str:
    """Copy memory at T=1000: our test loss beside Bai et al.'s Table 1, a line per preset."""
    rows = [row for row in rows if row["paper"]["sequences"] is None]
    if not rows:
        return ""
    baseline = 10 * math.log(8) / (1000 + 20)
    lines = [
        "| Model | Copy T=1000, test cross-entropy, median (range) | Test exact match, median "
        "(range) | Seeds solved (exact match >= 0.99): sequences | Wall s, median (range) |",
        "|---|---|---|---|---|",
        *(
            f"| {name} (Bai et al. 2018) | {loss:g} | - | - | - |"
            for name, loss in TCN_TABLE.items()
        ),
        f"| memoryless baseline, 10 ln 8 / (T + 20) | {baseline:.4f} | 0 | - | - |",
    ]
    for row in rows:
        a, r = row["aggregate"], row["recipe"]
        # a preset whose every run failed has no loss
        losses = [x for x in a.get("test_losses") or [a["median_test_loss"]] if x is not None]
        lines.append(
            f"| ours, `{row['paper']['preset']}`: {_recipe(r)} | {_median_range(losses, '.3g')} | "
            f"{_median_range(a.get('test_metrics', []), '.3f')} | {a['solved']}/{a['runs']}: "
            f"{_sequences(a)} | {_median_range(a.get('all_seconds', []), '.0f')} |"
        )
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    return f"""# Long-time-lag experiments of Hochreiter & Schmidhuber (1997), at the paper's sizes

`{report.get("command") or f"python -m seqtasks.benchmarks.longlag --seeds {report['seeds']}"}`:
every
preset `python train.py experiment=NAME seed=N`, {report["seeds"]} seeds, on {m["cpu_count"]} shared
CPU cores with torch {m["torch"]}, at most {report["workers"]} runs at once, 1 torch thread each
({report["run_seconds"] / 60:.0f} min of runs in all, the sum of their wall times).

{paper_table(report["rows"], report["seeds"])}

{copy_table(report["rows"])}

- **Sequences**: training sequences seen until the first validation that met the criterion
  (`samples` of `summary.json`), counted in steps of the validation interval ("val every"). A
  seed that did not meet it within the time limit (the preset's `trainer.max_time`) is
  "unsolved after" the sequences it had seen. **(fewer)**: every seed solved and the median is
  below the paper's.
- **Seeds solved**: runs that met the criterion on validation and stopped there. The paper also
  stops on its criterion and reports test errors beside it; so do we.
- **Test wrong**: of the preset's 2,560 test sequences, scored with the checkpoint that solved;
  the paper's count in brackets where it gives one.
- **Wall s**: the whole run (fit, then test), on shared cores: comparable within this table only.

## How this differs from the paper

- **Criterion.** Ours: every one of 2,000 fixed validation sequences right (adding: absolute
  error < 0.04; temporal order and Experiment 2: the argmax class; multiplication: the problem's
  rule, see `seqtasks/multiply.py`), checked every "val every" sequences. The paper's is on the
  training stream, checked after each sequence: the 2,000 most recent sequences right and the
  average training error small (Exp. 2: 10,000 successive sequences with error below 0.25).
- **Model and training.** The paper's LSTM has no forget gate and learns online, one sequence per
  update. Ours is `torch.nn.LSTM` with a chrono-initialised forget gate, AdamW, 8 or 32 sequences
  per update (the recipe column) and gradient clipping; every sequence of every update counts.
- **Trials.** The paper reports means of 10 to 20 trials; we report the median of
  {report["seeds"]} seeds and the range.
"""
