"""``python -m seqtasks.benchmarks.device``: its timers, host-sync checks, budget, report and the
``trainer=gpu`` precision, on the CPU; the whole command at ``--quick`` with ``-m slow``."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.plugins.precision import MixedPrecision

import seqtasks
from seqtasks import _random, models
from seqtasks.benchmarks import device as bench
from seqtasks.benchmarks import device_runs
from seqtasks.benchmarks.device_report import file_stem, markdown, write_report
from seqtasks.benchmarks.device_timing import (
    Section,
    gpu_form,
    host_syncs,
    step_syncs,
    time_calls,
    training_step,
)
from seqtasks.benchmarks.time_to_solve import DEFAULT_TASKS

CPU = torch.device("cpu")


def tiny_model(task: str = "classify", **options: object) -> tuple[object, seqtasks.SequenceTask]:
    dataset = seqtasks.make(task, **options, batch_size=8, num_samples=10**6)
    torch.manual_seed(0)
    return models.StepMLP(dataset.spec, hidden_size=8, num_layers=1, lr=0.01), dataset


def test_time_calls_times_the_asked_calls_between_two_warm_ups() -> None:
    calls = []
    timing = time_calls(lambda: calls.append(1) or 3, CPU, seconds=0.02, min_calls=4)
    assert timing["calls"] >= 4 and len(calls) == timing["calls"] + 2  # two warm-up calls
    assert timing["items_per_s"] == pytest.approx(3 * timing["calls_per_s"])


def test_the_training_step_trains_and_its_timer_gives_steps_per_second() -> None:
    model, dataset = tiny_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    before = [p.detach().clone() for p in model.parameters()]
    step = training_step(model, optimizer, iter(dataset), clip=1.0)
    assert step() == 8  # the batch's sequences
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    timing = time_calls(step, CPU, seconds=0.05, max_calls=20)
    assert 2 <= timing["calls"] <= 20 and timing["calls_per_s"] > 0
    assert step_syncs(step, optimizer, CPU) == []  # AdamW's CPU step count is left out


def test_train_cell_measures_a_family_from_its_config() -> None:
    row = bench.train_cell(CPU, "mlp", length=20, batch=4, seconds=0.05)
    assert row["config"] == "model=mlp" and row["task"] == "adding"  # many_to_one first
    assert row["steps_per_s"] > 0 and row["sequences_per_s"] > 0 and row["parameters"] > 0
    assert row["host_syncs"] == []


def test_host_syncs_names_what_makes_the_host_wait() -> None:
    with host_syncs(CPU) as check:
        torch.ones(3).sum().item()  # .item()
        torch.tensor([1, 2])  # host data (a copy to a GPU)
        torch.ones(2).to("meta")  # a copy between devices
        torch.ones(2).nonzero()
        torch.tensor(3.0)  # a scalar: passed by value, not flagged
        torch.ones(3, 2)[torch.ones(3, dtype=torch.bool)]  # its shape needs the count of Trues
    assert check.found == ["aten._local_scalar_dense", "tensor of shape (2,) from host data",
                           "copy cpu -> meta", "aten.nonzero",
                           "aten.index by a boolean mask"]  # fmt: skip
    with host_syncs(CPU) as clean:
        torch.ones(3).cumsum(0).mul_(2)
        torch.ones(3, 2)[torch.zeros(3, dtype=torch.long)]  # by ids: no count to wait for
    assert clean.found == []


def test_the_notice_of_sync_debugging_is_not_a_host_sync() -> None:
    # On CUDA, torch warns once when set_sync_debug_mode is first turned on (seen on an H200,
    # torch 2.11: it was listed as the first data row's host sync); a real sync warning is kept
    with host_syncs(CPU) as check:
        warnings.warn("Synchronization debug mode is a prototype feature and does not yet "
                      "detect all synchronizing operations", stacklevel=1)  # fmt: skip
        warnings.warn("called a synchronizing CUDA operation", stacklevel=1)
    assert check.found == ["called a synchronizing CUDA operation"]


def test_step_syncs_see_a_model_that_reads_a_value() -> None:
    class Reading(torch.nn.Module):
        def training_loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            scale = float(self.w.abs().max())  # a host read per step
            return (((inputs * self.w * scale).sum(dim=(1, 2)) - targets) ** 2).mean()

        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

    model = Reading()
    optimizer = torch.optim.AdamW(model.parameters())
    batches = iter([(torch.ones(2, 3, 1), torch.zeros(2))] * 2)
    step = training_step(model, optimizer, batches, clip=None)
    assert step_syncs(step, optimizer, CPU) == ["aten._local_scalar_dense"]


@pytest.mark.parametrize("name", seqtasks.available())
def test_every_problem_generates_on_the_device_without_host_syncs(name: str) -> None:
    dataset = seqtasks.make(name, batch_size=16, num_samples=64)
    expected = [tuple(t.shape) for t in dataset.generate(0, 16)]
    # the meta device holds no values: .item(), .tolist(), .numpy() or a branch on a value fails
    dataset.device = torch.device("meta")
    made = dataset._batch(dataset._stream(0), 0, 16)
    assert [tuple(t.shape) for t in made] == expected and all(t.is_meta for t in made)
    dataset.device = CPU
    with gpu_form():
        next(iter(dataset))  # one-off set-up (a GPU's warm-up)
    batches = iter(dataset)
    with host_syncs(CPU) as check:
        next(batches)
    assert check.found == []


def test_the_data_check_sees_a_constant_built_every_batch(monkeypatch) -> None:
    monkeypatch.setattr(_random, "constant", _random.constant.__wrapped__)  # no cache
    batches = iter(seqtasks.make("adding", batch_size=16, num_samples=64))
    with host_syncs(CPU) as check:
        next(batches)
    assert check.found == ["tensor of shape (3,) from host data"]


def test_gpu_trainer_is_float32_with_bf16_mixed_as_an_option(compose_config) -> None:
    def plugin(*overrides: str) -> object:
        options = dict(compose_config("trainer=gpu", *overrides).trainer)
        assert options.pop("accelerator") == "gpu"
        trainer = L.Trainer(**options, accelerator="cpu", logger=False, enable_checkpointing=False)
        return trainer.precision_plugin

    default = plugin()
    assert type(default) is L.pytorch.plugins.precision.Precision and default.precision == "32-true"
    bf16 = plugin("trainer.precision=bf16-mixed")
    assert isinstance(bf16, MixedPrecision) and bf16.precision == "bf16-mixed"
    assert bf16.device == "cpu" and bf16.scaler is None  # no gradient scaler, no per-step sync


@pytest.mark.filterwarnings("ignore:Precision bf16-mixed is not supported by the model summary")
def test_a_run_under_bf16_autocast_trains_and_tests(compose_config) -> None:
    from seqtasks.training.run import train

    # a transformer: on this CPU oneDNN has no bf16 LSTM ("could not create a primitive
    # descriptor"); a GPU runs cuDNN's, in float16 (see training/conf/trainer/gpu.yaml)
    summary = train(compose_config("task=classify", "model=transformer",
                                   "trainer.precision=bf16-mixed",
                                   "+trainer.fast_dev_run=true"))  # fmt: skip
    assert summary["steps"] == 1 and "test/accuracy" in summary["test"]


def test_training_cells_follow_the_registry_at_run_time(monkeypatch) -> None:
    monkeypatch.setitem(models.FAMILIES, "newcomer", {"one_to_one": models.StepMLP})
    cells = bench.training_cells(bench.FULL)
    assert len(cells) == len(models.FAMILIES) * 2 * 2
    assert ("newcomer", 1000, 256) in cells and cells[0][1:] == (100, 32)


def test_a_section_past_its_deadline_cuts_everything_and_says_why() -> None:
    section = Section("data", 10.0, time.perf_counter() - 1)
    bench.data_section(bench.FULL, CPU, section, print)
    assert section.rows == []
    assert len(section.cut) == len(seqtasks.available()) * len(bench.FULL.data_batches)
    assert section.cut[0] == f"{seqtasks.available()[0]} batch 1024: section deadline"


def test_runs_share_the_time_left_and_cut_what_cannot_start() -> None:
    limits: list[float] = []
    section = Section("paper_4", 100.0, time.perf_counter() + 100.0)
    device_runs.runs_in_turn(
        section, [0, 1], lambda seed, limit: limits.append(limit) or {"seed": seed}, "s"
    )
    assert limits[0] == pytest.approx(100 / 2 - 8, abs=0.5) and limits[1] > limits[0]
    short = Section("time_to_solve", 20.0, time.perf_counter() + 20.0)

    def run(task: str, limit: float) -> dict:  # takes its whole share (simulated)
        short.deadline -= limit + device_runs.RUN_OVERHEAD_S["time_to_solve"]
        return {"task": task, "limit": limit}

    device_runs.runs_in_turn(short, DEFAULT_TASKS, run, "task")
    assert [row["task"] for row in short.rows] == DEFAULT_TASKS[:1]
    assert short.cut[0].startswith(f"task {DEFAULT_TASKS[1]}: ") and len(short.cut) == 4


def test_runs_take_the_start_up_a_run_showed_into_account() -> None:
    limits: list[float] = []
    section = Section("time_to_solve", 100.0, time.perf_counter() + 100.0)

    def run(task: str, limit: float) -> dict:  # start-up and tests took 30 s (simulated: none)
        limits.append(limit)
        return {"task": task, "overhead_s": 30.0}

    device_runs.runs_in_turn(section, ["a", "b", "c"], run, "task")
    assert limits == pytest.approx([100 / 3 - 12, 100 / 2 - 30, 100 - 30], abs=0.5)


def result_of(device: str) -> dict:
    environment = {"device": device, "name": "NVIDIA H200" if device == "cuda" else "x86_64",
                   "torch": "2.13.0", "cuda": "12.8" if device == "cuda" else None,
                   "cudnn": 91000, "lightning": "2.6", "python": "3.11", "platform": "Linux",
                   "cpu_count": 16, "torch_threads": 16, "load_average": 0.5,
                   "memory_gib": 139.8, "capability": "9.0"}  # fmt: skip
    section = {"budget_s": 10.0, "allowed_s": 10.0, "elapsed_s": 3.0, "rows": [],
               "cut": ["parity batch 8192: section deadline"]}  # fmt: skip
    data = {**section, "rows": [{"problem": "adding", "batch": 1024, "samples_per_s": 12345,
                                 "calls": 9, "host_syncs": []}]}  # fmt: skip
    # stopped at a validation that met the criterion, then short of it on test
    paper = {**section, "rows": [{"command": "python train.py experiment=paper_4", "solved": False,
                                  "steps": 1650, "sequences": 52800, "test_metric": 0.9988,
                                  "stopped": "solved", "seconds": 7.5}]}  # fmt: skip
    plan = {"budget": 400.0, "data_batches": (1024, 8192), "lengths": (100, 1000),
            "train_batches": (32, 256), "shares": bench.SECTIONS}  # fmt: skip
    return {"command": "python -m seqtasks.benchmarks.device --out results", "budget_s": 400,
            "plan": plan,
            "environment": environment, "wall_s": 400.0, "complete": True,
            "sections": {"data": data, "training": section, "paper_4": paper,
                         "time_to_solve": section}}  # fmt: skip


@pytest.mark.parametrize(("device", "stem"), [("cuda", "device-gpu"), ("cpu", "device-cpu")])
def test_the_report_follows_the_device_and_names_what_was_cut(tmp_path, device, stem) -> None:
    assert file_stem(device) == stem
    paths = write_report(result_of(device), tmp_path)
    assert paths == {"md": tmp_path / f"{stem}.md", "json": tmp_path / f"{stem}.json"}
    saved = json.loads(paths["json"].read_text())
    assert saved["environment"]["device"] == device and saved["files"]["md"] == str(paths["md"])
    text = paths["md"].read_text()
    assert "`python -m seqtasks.benchmarks.device --out results`" in text
    assert "torch 2.13.0" in text and text.count("Cut (1): parity batch 8192") == 4
    assert "data batches 1024, 8192; training T 100, 1000 x batches 32, 256" in text
    assert "shares of the budget: data 10%, training 35%, paper_4 25%, time_to_solve 30%" in text
    assert "| adding | 1,024 | 12,345 | 9 | none |" in text
    assert "| no | 1,650 | 52,800 | 0.999 | validation criterion met | 7.5 |" in text
    assert ("NVIDIA H200 (139.8 GiB" in text and "CUDA 12.8" in text) == (device == "cuda")
    assert markdown(saved) == text


@pytest.mark.slow
def test_the_quick_command_on_the_cpu_writes_both_files(tmp_path: Path) -> None:
    assert bench.main(["--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "device-cpu.json").read_text())
    text = (tmp_path / "device-cpu.md").read_text()
    env = result["environment"]
    assert env["device"] == "cpu" and env["torch"] == torch.__version__ and env["cuda"] is None
    assert result["command"] == f"python -m seqtasks.benchmarks.device --quick --out {tmp_path}"
    assert result["complete"] and result["wall_s"] < bench.QUICK.budget + 120
    sections = result["sections"]
    assert list(sections) == list(bench.SECTIONS)
    for name, section in sections.items():
        assert section["budget_s"] == pytest.approx(bench.SECTIONS[name] * bench.QUICK.budget)
        assert f"## {name}" in text and f"Cut ({len(section['cut'])})" in text

    def accounted(name: str, keys: list[str], expected: list[str]) -> None:
        rows = [" ".join(str(row[k]) for k in keys) for row in sections[name]["rows"]]
        cut = [item.split(":")[0] for item in sections[name]["cut"]]
        for word in ("T=", "batch ", "seed ", "task "):
            cut = [item.replace(word, "") for item in cut]
        assert sorted(rows + cut) == sorted(expected), name  # every cell measured or cut

    accounted(
        "data",
        ["problem", "batch"],
        [f"{p} {b}" for b in bench.QUICK.data_batches for p in seqtasks.available()],
    )
    accounted("training", ["family", "length", "batch"],
              [f"{f} {t} {b}" for f, t, b in bench.training_cells(bench.QUICK)])  # fmt: skip
    accounted("paper_4", ["seed"], [str(seed) for seed in device_runs.PAPER_SEEDS])
    accounted("time_to_solve", ["task"], DEFAULT_TASKS)
    assert sections["data"]["rows"] and all(r["host_syncs"] == [] for r in sections["data"]["rows"])
    assert any(r.get("steps_per_s", 0) > 0 for r in sections["training"]["rows"])
    runs = sections["paper_4"]["rows"] + sections["time_to_solve"]["rows"]
    assert all("command" in row and "trainer=cpu" in row["command"] for row in runs)
