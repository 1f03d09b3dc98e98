"""``python -m seqtasks.benchmarks.suite --quick``, tiny budget: the three files, for a module."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import seqtasks
from seqtasks import TaskSpec
from seqtasks.benchmarks import board, suite, summaries

RUN_KEYS = {"model", "task", "knob", "value", "seed", "solved", "steps", "sequences",
            "test_metric", "seconds"}  # fmt: skip


class LastStepNet(nn.Module):
    """A user's module: a linear map of the last step (index inputs embedded), for any framing."""

    def __init__(self, spec: TaskSpec, width: int = 8) -> None:
        super().__init__()
        self.spec = spec
        self.embed = nn.Embedding(spec.vocab_size, width) if spec.encoding == "index" else None
        inputs = width if self.embed is not None else spec.input_size
        classes = spec.num_classes if spec.target == "classes" else 1
        self.classes = classes
        self.per_step = spec.target_layout == "per_step"
        self.head = nn.Linear(inputs, classes * (1 if self.per_step else spec.target_length))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.embed(inputs) if self.embed is not None else inputs  # (B, T, F)
        if self.per_step:
            out = self.head(x)  # (B, T, C)
            shape = tuple(out.shape[:2])
        else:
            out = self.head(x[:, -1])  # (B, K * C)
            shape = (out.shape[0], *self.spec.target_shape)
        return out.reshape(*shape, self.classes) if self.spec.target == "classes" else \
            out.reshape(shape)  # fmt: skip


def _tables(markdown: str) -> list[list[str]]:
    tables, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables + ([current] if current else [])


def _check_files(out: Path) -> dict:
    for name in ("leaderboard.json", "leaderboard.md", "leaderboard.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "leaderboard.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((out / "leaderboard.json").read_text())
    assert list(saved)[:3] == ["budget", "machine", "runs"]
    for table in _tables((out / "leaderboard.md").read_text()):
        widths = {line.count("|") for line in table}
        assert len(widths) == 1, table[0]  # every line of a table has the header's cells
    return saved


def test_quick_profile_on_a_users_module(tmp_path: Path) -> None:
    target = f"{__name__}.LastStepNet"
    chosen = ["echo", "subsequence/seq2seq"]
    results = suite.main(["--quick", "--max-steps", "30", "--workers", "1", "--out",
                          str(tmp_path), "--problems", ",".join(chosen), "model=custom",
                          f"model.net._target_={target}", "+model.net.width=4"])  # fmt: skip
    saved = _check_files(tmp_path)
    budget = saved["budget"]
    assert budget["max_steps"] == 30 and budget["seeds"] == board.QUICK.seeds
    assert budget["problems"]["echo"]["max_sequences"] == 30 * budget["problems"]["echo"][
        "batch_size"]  # fmt: skip
    runs = saved["runs"]
    assert runs and all(set(run) >= RUN_KEYS for run in runs)
    assert {run["model"] for run in runs} == {target}  # the user's class path, not "custom"
    assert {run["problem"] for run in runs} == set(chosen)  # every problem asked for was pushed
    assert all(run["engine"] == "local" and run["threads"] == 1 for run in runs)
    limits = {key: problem["max_sequences"] for key, problem in budget["problems"].items()}
    assert all(run["steps"] <= 30 and run["sequences"] <= limits[run["problem"]] for run in runs)
    for problem in board.problems(board.QUICK):  # sizes in ladder order, from the first
        ran = sorted({run["value"] for run in runs if run["problem"] == problem.key})
        assert ran == list(problem.values[: len(ran)]) and (ran or problem.key not in chosen)
    assert {entry["model"] for entry in saved["frontier"]} == {target}
    assert saved["claims"] == []  # the specification's claims are about our models
    lengths = {entry["problem"]: entry for entry in saved["lengths"]}
    assert set(lengths) == {"subsequence/seq2seq"}  # scored at 2x, 5x, 10x the length
    assert sorted(map(int, lengths["subsequence/seq2seq"]["by_length"])) == [10, 25, 50]
    markdown = (tmp_path / "leaderboard.md").read_text()
    assert f"| problem (knob; what stays fixed) | {target} |" in markdown
    assert "model=custom" in markdown and "leaderboard.png" in markdown
    assert results["wall_seconds"] > 0
    lines = (tmp_path / "rows.jsonl").read_text().splitlines()
    assert len(lines) == len(runs) + len(saved["cases"]) + len(saved["tuning"])


def test_user_model_and_profiles() -> None:
    assert suite.user_model(["trainer=cpu", "model=gru", "model.hidden_size=8"]) == "gru"
    assert suite.user_model(["model.hidden_size=8"]) is None
    for problem in board.problems(board.BOARD, warn=False):
        assert list(problem.values) == sorted(set(problem.values))
        if problem.knob in ("length", "lag", "delay") and problem.key != "parity":
            assert problem.ceiling >= 1000, problem.key  # at least 1,000 steps of sequence
        for value in problem.values:  # every size of every ladder is a problem the task takes
            seqtasks.make(problem.task, **problem.options(value), num_samples=1)
    assert [p.values for p in board.problems(board.QUICK)] == [
        p.values[:2] for p in board.problems(board.BOARD)]  # fmt: skip
    assert board.FULL.max_steps > board.BOARD.max_steps > board.QUICK.max_steps
    assert board.QUICK.time_limit <= 5 * 60 and board.BOARD.time_limit is None
    assert set(board.PRIORITY) == set(board.ALL_MODELS) and board.PRIORITY[0] == "lstm"
    assert set(board.models()) <= set(board.ALL_MODELS) and "lstm" in board.models()


def stub(job: Any, seconds: Any = None, errors: str = "row", threads: int = 1,
         run_dir: Path | None = None) -> dict:  # fmt: skip
    """A fake trainer: a model solves sizes up to its rank in ``board.ALL_MODELS`` x 3 steps of
    its ladder (the MLPs fail everything; ``mlp`` cannot serve seq2seq); ``mamba`` fails with an
    error. Each job is given its
    own run directory in the board's ``in-progress`` folder."""
    assert run_dir is not None and run_dir.is_absolute() and run_dir.parent.name == "in-progress"
    label = job.label
    if label["model"] == "mamba":
        return {**label, "seed": job.seed, "solved": False, "steps": 0, "sequences": 0,
                "test_metric": None, "seconds": 0.0, "stopped": "error", "summary": None,
                "error": "RuntimeError: out of cheese", **job.extra}  # fmt: skip
    if label["model"] == "mlp" and job.extra.get("problem") == "subsequence/seq2seq":
        return {
            **label,
            "seed": job.seed,
            "solved": False,
            "steps": 0,
            "sequences": 0,
            "test_metric": None,
            "seconds": 0.0,
            "stopped": "error",
            "summary": None,
            "error": "ConfigError: model=mlp cannot serve framing='seq2seq'",
            **job.extra,
        }
    reach = {model: 3 * index for index, model in enumerate(board.ALL_MODELS[:-2], 1)}
    problem = next((p for p in board.problems(board.BOARD, warn=False)
                    if p.key == job.extra.get("problem")), None)  # fmt: skip
    index = problem.values.index(label["value"]) if problem else 0
    solved = index < reach.get(label["model"], 0) or (problem is None and label["model"] != "mlp")
    steps = 100 * (index + 1) + job.seed
    summary = {"metric": "accuracy", "criterion": ">= 0.99", "chance": 0.1,
               "solved_at_step": steps if solved else None,
               "val": {"val/accuracy": 0.9}}  # fmt: skip
    return {**label, "seed": job.seed, "solved": solved, "steps": steps, "sequences": 32 * steps,
            "test_metric": 0.9, "seconds": 0.0, "stopped": "solved" if solved else "max_steps",
            **job.extra, "summary": summary}  # fmt: skip


def test_the_whole_board_on_a_stub_trainer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    results = suite.main(["--workers", "1"], job_fn=stub)
    (out,) = tmp_path.glob("leaderboard-*")  # a new folder, never results/
    saved = _check_files(out)
    cells = {(e["problem"], e["model"]): e for e in saved["frontier"]}
    problems = board.problems(board.BOARD, warn=False)
    assert set(cells) == {(p.key, m) for p in problems for m in board.models()}
    for (key, model), entry in cells.items():  # no cell below its ceiling reads "largest size"
        assert entry["status"] in ("broke", "ceiling", "n/a", "error"), (key, model)
        assert entry["status"] != "ceiling" or entry["value"] == entry["ceiling"]
    markdown = (out / "leaderboard.md").read_text()
    if "mamba" in board.models():
        assert "error: RuntimeError: out of cheese" in markdown
    assert "## Ranking, one score per model" in markdown and summaries.FORMULA in markdown
    refused = sum(entry["status"] == "n/a" for entry in cells.values())  # each: its 3 rates
    assert refused and results["refused_count"] == 3 * refused
    assert f", {3 * refused} of them refused before training (the model cannot serve" in markdown
    scores = {e["model"]: e["score"] for e in results["ranking"]}
    assert list(scores.values()) == sorted(scores.values(), reverse=True) and scores["mlp"] == 0
    assert scores["gru"] > scores["lstm"] > 0  # the stub's gru climbs 6 sizes, its lstm 3
    with pytest.raises(SystemExit):  # the same folder again without --resume: refused
        suite.main(["--out", str(out)], job_fn=stub)
    again = suite.main(["--out", str(out), "--resume"], job_fn=_never)  # nothing runs again
    assert again["frontier"] == results["frontier"] and again["resumed"] == len(
        (out / "rows.jsonl").read_text().splitlines())  # fmt: skip
    ladders = len(problems) * len(board.models())
    assert again["ladders"] == results["ladders"] == {"all": ladders, "decided": ladders}
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    assert again["run_seconds"] == round(sum(row["seconds"] for row in rows))
    assert again["run_count"] == results["run_count"] == len(rows)  # every job once
    assert f"`: {len(rows)} training runs, " in markdown and again["new_runs"] == 0
    assert f"{len(rows)} training runs, 0 of them by this invocation (the others' rows saved " in (
        out / "leaderboard.md").read_text()  # fmt: skip
    assert f"{ladders} of {ladders} ladders decided (every ladder decided)" in markdown
    # another machine's rows of the same jobs (other steps): the board's own rows are kept, and
    # are what the tables show, so its rows.jsonl and its leaderboard.md stay one board
    (tmp_path / "other").mkdir()
    other = [{**row, "steps": row["steps"] + 7} for row in rows]
    (tmp_path / "other" / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in other))
    merged = suite.main(["--out", str(out), "--resume", str(tmp_path / "other")], job_fn=_never)
    assert merged["frontier"] == results["frontier"]
    # cut by a time limit before any run: nothing decided, and the report says the board goes on
    cut = suite.main(["--out", str(tmp_path / "cut"), "--time-limit", "0"], job_fn=_never)
    assert cut["ladders"]["decided"] == 0
    assert (
        "the board is not finished: `--resume` goes on"
        in (tmp_path / "cut" / "leaderboard.md").read_text()
    )


def _never(*args: Any) -> dict:
    raise AssertionError("a job whose row is saved ran again")


@pytest.mark.slow
def test_quick_profile_every_model(tmp_path: Path) -> None:
    suite.main(["--quick", "--max-steps", "50", "--out", str(tmp_path), "--problems",
                "echo,subsequence/seq2seq", "--time-limit", "1200"])  # fmt: skip
    saved = _check_files(tmp_path)
    assert {run["model"] for run in saved["runs"]} == set(board.models())
    assert saved["claims"] == [] and saved["cases"] == []  # --quick: the ladders alone
    frontier = {(f["problem"], f["model"]): f for f in saved["frontier"]}
    assert frontier["subsequence/seq2seq", "mlp"]["status"] == "n/a"  # refused, not failed
    markdown = (tmp_path / "leaderboard.md").read_text()
    assert all(f"| {model} " in markdown or f" {model} |" in markdown for model in board.models())
