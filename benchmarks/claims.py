"""The specification's claims, judged on runs at the default sizes; length generalisation.

Every problem and framing at the specification's default size is one :class:`Case`, trained
with the models it lists under the leaderboard's budget, seed 0. A case that is the first size
of a leaderboard ladder (``ladder``) takes that ladder's seed-0 run instead of a run of its own.
Each sentence of the specification ("an MLP can / cannot learn this", "an LSTM can") is a
:class:`Claim`, judged on one of those runs. :func:`lengths` reads the length generalisation
scores (``report.eval_lengths``) of the ladders' first sizes and of the cases scored at other
lengths (echo at lag 5: trained at length 10, the echoed value is not the first one).
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

from seqtasks.benchmarks.runner import Job, failed
from seqtasks.benchmarks.summaries import one_line

Row = dict[str, Any]
MODEL_LABELS = {"lstm": "LSTM (default)", "mlp": "MLP, memoryless", "gru": "GRU", "rnn": "RNN",
                "mlp_window": "MLP, whole window", "bilstm": "bidirectional LSTM",
                "transformer": "Transformer"}  # fmt: skip
MODEL_OVERRIDES = {"bilstm": ("model=lstm_one_to_one", "model.bidirectional=true")}
CLAIM_MODELS = ("lstm", "mlp", "mlp_window")
FIXED_LENGTH = ("mlp_window",)  # models that take one input length: not scored at others


@dataclass(frozen=True)
class Case:
    """A problem and framing at the specification's default size, and the models it is given."""

    key: str
    task: str
    options: dict[str, Any]
    label: str
    models: tuple[str, ...] = CLAIM_MODELS
    ladder: tuple[str, int] | None = None  # (problem, size) of the leaderboard run it reuses
    scored_at: tuple[int, ...] = ()  # also scored at these multiples of its length


CASES = [
    Case("ramp/window=1", "ramp", {"window": 1}, "ramp, one step (many_to_one, window 1)",
         ladder=("ramp", 10)),
    Case("ramp/window=4", "ramp", {"window": 4}, "ramp, window (many_to_one, window 4)"),
    Case("ramp/one_to_one", "ramp", {"framing": "one_to_one"}, "ramp, one_to_one (window 9)"),
    Case("memorize/one_to_one", "memorize", {"framing": "one_to_one"}, "memorize, one_to_one"),
    Case("memorize/many_to_one", "memorize", {"framing": "many_to_one"}, "memorize, many_to_one",
         ladder=("memorize", 5)),
    Case("echo/lag=0", "echo", {"lag": 0}, "echo, lag 0 (current value)"),
    Case("echo/lag=1", "echo", {"lag": 1}, "echo, lag 1 (previous value)"),
    Case("echo/lag=5", "echo", {"lag": 5, "length": 10}, "echo, lag 5 (5th of 10, default)",
         (*CLAIM_MODELS, "gru", "rnn", "transformer"), scored_at=(2, 5, 10)),
    Case("subsequence/many_to_one", "subsequence", {"framing": "many_to_one"},
         "subsequence, whole, many_to_one", ladder=("subsequence/many_to_one", 5)),
    Case("subsequence/one_to_one", "subsequence", {"framing": "one_to_one"},
         "subsequence, whole, one_to_one", ladder=("subsequence/one_to_one", 5)),
    Case("subsequence/seq2seq", "subsequence", {"framing": "seq2seq"},
         "subsequence, part 0..2, seq2seq", ladder=("subsequence/seq2seq", 5)),
    Case("classify/one_to_one", "classify", {}, "classify, one_to_one", ladder=("classify", 10)),
    Case("classify/bilstm", "classify", {}, "classify, one_to_one", ("bilstm",)),
]  # fmt: skip


@dataclass(frozen=True)
class Claim:
    """A sentence of the specification, and the run that tests it."""

    problem: str
    claim: str
    case: str
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
]  # fmt: skip


def case_jobs(cases: list[Case], settings: dict[str, tuple[str, ...]], overrides: list[str],
              user_model: str | None = None) -> list[Job]:  # fmt: skip
    """One seed-0 job per case (not run by a ladder) and model; ``settings`` are each task's
    training overrides (the leaderboard's), ``overrides`` come last. With ``user_model`` (whose
    ``model=...`` is in ``overrides``), that model alone, on the cases scored at other lengths.

    A case with ``scored_at`` is also scored at those multiples of its length, except by the
    whole-window MLP, which takes one input length only.
    """
    jobs = []
    for case in cases:
        if case.ladder is not None or (user_model and not case.scored_at):
            continue
        task = [f"task={case.task}", *(f"task.{k}={v}" for k, v in case.options.items())]
        for model in [user_model] if user_model else case.models:
            chosen = () if user_model else MODEL_OVERRIDES.get(model, (f"model={model}",))
            if case.scored_at and model not in FIXED_LENGTH:
                length = case.options["length"]
                scored = ",".join(str(length * factor) for factor in case.scored_at)
                chosen = (*chosen, f"report.eval_lengths=[{scored}]")
            label = {"model": model, "case": case.key}
            job_overrides = (*task, *settings.get(case.task, ()), *chosen, *overrides)
            jobs.append(Job(label, job_overrides, 0, extra={"label": case.label}))
    return jobs


def ladder_cases(cases: list[Case], runs: list[Row]) -> list[Row]:
    """The seed-0 ladder runs that stand for cases at the default size, labelled as cases."""
    rows = []
    for case in cases:
        for row in runs:
            if (row["problem"], row["value"]) == case.ladder and row["seed"] == 0 and \
                    row["model"] in case.models:  # fmt: skip
                rows.append({**row, "case": case.key, "label": case.label})
    return rows


def measured(row: Row) -> str:
    """A run's outcome in words: solved at which step, the test metric, the criterion."""
    summary = row["summary"]
    value = (f"test {summary['metric']} {row['test_metric']:.4g} (needs {summary['criterion']}, "
             f"chance {summary['chance']:.3g})")  # fmt: skip
    if row["solved"]:
        return f"solved at step {summary['solved_at_step']}; {value}"
    if summary["solved_at_step"] is not None:
        return (f"met the criterion on validation at step {summary['solved_at_step']} but not on "
                f"the test set; {value}")  # fmt: skip
    cut = " (stopped by the wall-clock limit)" if row.get("stopped") == "time" else ""
    return f"not solved in {row['steps']} steps{cut}; {value}"


def judge(claims: list[Claim], rows: list[Row]) -> list[dict[str, Any]]:
    """Each claim's verdict: agree, disagree, or not measured (with why)."""
    by_key = {(row["case"], row["model"]): row for row in rows}
    verdicts = []
    for claim in claims:
        row = by_key.get((claim.case, claim.model))
        name = MODEL_LABELS[claim.model]
        expected = f"{name} {'solves it' if claim.expect_solved else 'does not solve it'}"
        if row is None or failed(row):
            outcome, verdict = "not run" if row is None else row["error"], "not measured"
        elif row.get("stopped") == "error":  # its loss diverged: an unsolved run
            outcome = f"{name}: not solved ({row['error']})"
            verdict = "agree" if not claim.expect_solved else "disagree"
        else:
            outcome = f"{name}: {measured(row)}"
            verdict = "agree" if row["solved"] == claim.expect_solved else "disagree"
        verdicts.append({**asdict(claim), "expected": expected, "measured": outcome,
                         "verdict": verdict})  # fmt: skip
    return verdicts


def lengths(runs: list[Row]) -> list[dict[str, Any]]:
    """Length generalisation: per problem (a ladder's, or a case's) and model, the median over
    seeds of the test metric at the trained length and at each length it was also scored at."""
    scored: dict[tuple[str, str], list[Row]] = {}
    for row in runs:
        if (row.get("summary") or {}).get("lengths"):
            name = row["problem"] if "problem" in row else row["label"]
            scored.setdefault((name, row["model"]), []).append(row)
    table = []
    for (problem, model), rows in scored.items():
        metric = f"test/{rows[0]['summary']['metric']}"
        by_length = {int(n): statistics.median(row["summary"]["lengths"][n][metric] for row in rows)
                     for n in rows[0]["summary"]["lengths"]}  # fmt: skip
        table.append({"problem": problem, "model": model, "trained_length":
                      rows[0]["summary"]["options"]["length"], "seeds": len(rows),
                      "solved": sum(row["solved"] for row in rows),
                      "trained": statistics.median(row["test_metric"] for row in rows),
                      "by_length": by_length})  # fmt: skip
    return table


def lengths_table(entries: list[dict[str, Any]], frontiers: list[dict[str, Any]]) -> str:
    """Problem x model: the test metric at the trained length and at its multiples (medians);
    then the ladders not scored at other lengths, because their model cannot take them."""

    tables: dict[tuple[str, ...], list[str]] = {}  # one table per set of lengths scored
    for e in entries:
        lengths = sorted(e["by_length"])
        multiples = all(n % e["trained_length"] == 0 for n in lengths)  # 2x, else the lengths
        head = tuple(f"{n // e['trained_length']}x" if multiples else f"{n}" for n in lengths)
        scores = " | ".join(f"{e['by_length'][n]:.3f}" for n in lengths)
        tables.setdefault(
            head,
            [
                f"| problem (trained length) | model | seeds solved | trained | "
                f"{' | '.join(head)} |",
                "|---" * (4 + len(head)) + "|",
            ],
        )
        tables[head].append(
            f"| {e['problem']} ({e['trained_length']}) | {e['model']} | "
            f"{e['solved']}/{e['seeds']} | {e['trained']:.3f} | {scores} |"
        )
    lines = "\n\n".join("\n".join(table) for table in tables.values()).splitlines()
    lines = lines or ["No model was scored at other lengths."]
    refused: dict[tuple[str, str], list[str]] = {}
    for e in frontiers:
        if e.get("lengths_refused"):
            refused.setdefault((e["model"], e["lengths_refused"]), []).append(e["problem"])
    if refused:
        lines += ["", "Not scored at other lengths, as the model cannot take them:", ""]
        lines += [f"- {model} on {', '.join(problems)}: {one_line(why)}"
                  for (model, why), problems in refused.items()]  # fmt: skip
    return "\n".join(lines)


NOTES = [
    "The memoryless MLP (`model=mlp`) sees one time step at a time: in a many_to_one framing it "
    "predicts from the last input alone. It is the model the specification's \"an MLP can / "
    'cannot" sentences are about, and the claims are judged on it. The whole-window MLP '
    "(`model=mlp_window`, the fixed-length input flattened into one vector) is shown for "
    "reference: it is not memoryless in the sense that matters, since it sees every step at once.",
    "`model=mlp` cannot serve the seq2seq framing (an output sequence of its own length needs a "
    "decoder or the whole window); `train()` refuses it before training (n/a). The whole-window "
    "MLP does serve it.",
    "Memorize one_to_one is scored by exact match (every step of a sequence right): a memoryless "
    "model gets every step but the last right, so its per-step accuracy, (L - 1.5) / (L - 1), "
    "would pass 0.99 from L = 51 on, while its exact match stays 0.5. The memorize leaderboard "
    "uses the many_to_one framing, where memoryless is chance (0.5) at every length.",
]


def measured_notes(rows: list[Row]) -> list[str]:
    """What this run's table shows beyond the claims."""
    solved = {(row["case"], row["model"]): row["solved"] for row in rows if "error" not in row}
    labels = {row["case"]: row["label"] for row in rows}
    window_only = [
        labels[case]
        for case in labels
        if solved.get((case, "mlp_window")) and solved.get((case, "mlp")) is False
    ]
    notes = []
    if window_only:
        notes.append(
            "Cases the whole-window MLP solves and the memoryless MLP does not: "
            + "; ".join(window_only)
            + ". It sees the whole fixed-length input at once, so nothing has to be remembered: "
            'the specification\'s "an MLP cannot" holds for an MLP fed one time step at a time.'
        )
    if solved.get(("subsequence/one_to_one", "mlp")):
        notes.append(
            "Subsequence, whole sequence, one_to_one is the identity at every step (output t = "
            "input t): the memoryless MLP solves it too. The specification makes no MLP claim "
            "about it; only the many_to_one and seq2seq framings need memory."
        )
    return notes
