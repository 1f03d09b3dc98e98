"""``python -m seqtasks.benchmarks.suite --quick``, tiny budget: the three files, for a module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from seqtasks.benchmarks import suite
from torch import nn

from seqtasks import TaskSpec

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
    results = suite.main(["--quick", "--max-steps", "30", "--workers", "1", "--out",
                          str(tmp_path), "model=custom", f"model.net._target_={target}",
                          "+model.net.width=4"])  # fmt: skip
    saved = _check_files(tmp_path)
    budget = saved["budget"]
    assert budget["max_steps"] == 30 and budget["seeds"] == suite.QUICK.seeds
    assert budget["problems"]["echo"]["max_sequences"] == 30 * budget["problems"]["echo"][
        "batch_size"]  # fmt: skip
    runs = saved["runs"]
    assert runs and all(set(run) >= RUN_KEYS for run in runs)
    assert {run["model"] for run in runs} == {target}  # the user's class path, not "custom"
    assert {run["problem"] for run in runs} == set(suite.SIZES)  # every problem was pushed
    limits = {key: problem["max_sequences"] for key, problem in budget["problems"].items()}
    assert all(run["steps"] <= 30 and run["sequences"] <= limits[run["problem"]] for run in runs)
    for key, values in suite.QUICK.values.items():  # sizes in ladder order, from the first
        ran = sorted({run["value"] for run in runs if run["problem"] == key})
        assert ran == list(values[: len(ran)]) and ran
    assert {entry["model"] for entry in saved["frontier"]} == {target}
    assert saved["claims"] == []  # the specification's claims are about our models
    lengths = {entry["problem"]: entry for entry in saved["lengths"]}
    echo = "echo, lag 5 (5th of 10, default)"  # a case of its own: lag 5 of length 10
    assert set(lengths) == {*suite.SAME_RULE, echo}  # scored at 2x, 5x, 10x the trained length
    assert sorted(map(int, lengths[echo]["by_length"])) == [20, 50, 100]
    assert sorted(map(int, lengths["subsequence/seq2seq"]["by_length"])) == [10, 25, 50]
    markdown = (tmp_path / "leaderboard.md").read_text()
    assert f"| problem (knob; what stays fixed) | {target} |" in markdown
    assert "model=custom" in markdown and "leaderboard.png" in markdown
    assert results["wall_seconds"] > 0


def test_user_model_and_profiles() -> None:
    assert suite.user_model(["trainer=cpu", "model=gru", "model.hidden_size=8"]) == "gru"
    assert suite.user_model(["model.hidden_size=8"]) is None
    for profile in suite.PROFILES.values():
        assert set(profile.values) == set(suite.SIZES)
        for values in profile.values.values():
            assert list(values) == sorted(set(values)) and len(values) >= 2
    assert suite.FULL.max_steps > suite.DEFAULT.max_steps > suite.QUICK.max_steps
    assert suite.DEFAULT.time_limit <= 30 * 60 and suite.QUICK.time_limit <= 5 * 60
    assert sorted(suite.PRIORITY) == sorted(suite.MODELS) and suite.PRIORITY[0] == "lstm"
    echo = next(p for p in suite.problems(suite.DEFAULT) if p.key == "echo")
    assert echo.options(50)["length"] == 51


@pytest.mark.slow
def test_quick_profile_every_model(tmp_path: Path) -> None:
    suite.main(["--quick", "--max-steps", "50", "--out", str(tmp_path)])
    saved = _check_files(tmp_path)
    assert {run["model"] for run in saved["runs"]} == set(suite.MODELS)
    assert len(saved["claims"]) == len(suite.claims.CLAIMS)
    frontier = {(f["problem"], f["model"]): f for f in saved["frontier"]}
    assert frontier["subsequence/seq2seq", "mlp"]["status"] == "n/a"  # refused, not failed
    markdown = (tmp_path / "leaderboard.md").read_text()
    assert "The specification's claims" in markdown
    assert all(f"| {model} " in markdown or f" {model} |" in markdown for model in suite.MODELS)
