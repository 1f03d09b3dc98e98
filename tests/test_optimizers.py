"""The models' own AdamW (``SequenceModel.configure_optimizers``): torch's fused kernel where it
runs, the same training as torch's default AdamW to float rounding, and its benchmark."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch.plugins import MixedPrecision, Precision
from torch import nn

import seqtasks
from seqtasks.benchmarks.device_timing import training_step
from seqtasks.benchmarks.runner import compose_config
from seqtasks.training.run import build_model


def lstm_for(problem: seqtasks.Problem) -> nn.Module:
    torch.manual_seed(0)
    return build_model(compose_config(["model=lstm"]).model, problem.spec)


def test_the_models_take_the_fused_adamw_where_it_runs() -> None:
    model = lstm_for(seqtasks.make("echo"))
    optimizer = model.configure_optimizers()
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.defaults["fused"] is True
    assert optimizer.defaults["lr"] == model.lr
    assert optimizer.defaults["weight_decay"] == model.weight_decay
    # Lightning's mixed precision refuses to clip for a fused optimiser; FSDP's scaler would clip
    # scaled gradients; plain precision plugins (32-true, 16-true, ...) leave it alone
    plugins = [MixedPrecision("bf16-mixed", "cpu"), SimpleNamespace(scaler=object()), Precision()]
    for plugin, fused in zip(plugins, [False, False, True], strict=True):
        in_trainer = copy.deepcopy(model)
        in_trainer._trainer = SimpleNamespace(precision_plugin=plugin)
        assert bool(in_trainer.configure_optimizers().defaults["fused"]) is fused
    complex_model = copy.deepcopy(model)  # torch's fused kernel takes no complex parameter
    complex_model.register_parameter("extra", nn.Parameter(torch.ones(2, dtype=torch.cfloat)))
    optimizer = complex_model.configure_optimizers()
    assert not optimizer.defaults["fused"]
    complex_model.extra.grad = torch.ones(2, dtype=torch.cfloat)
    optimizer.step()  # the default kernel steps it
    assert not torch.equal(complex_model.extra.detach(), torch.ones(2, dtype=torch.cfloat))


def test_the_fused_adamw_trains_as_torchs_default_to_rounding() -> None:
    problem = seqtasks.make("echo", lag=3, length=12)
    model = lstm_for(problem)
    own, default = copy.deepcopy(model), copy.deepcopy(model)
    batches = [problem.generate(32 * i, 32) for i in range(20)]
    step_own = training_step(own, own.configure_optimizers(), iter(batches), clip=1.0)
    default_adamw = torch.optim.AdamW(default.parameters(), lr=model.lr,
                                      weight_decay=model.weight_decay)  # fmt: skip
    step_default = training_step(default, default_adamw, iter(batches), clip=1.0)
    for _ in batches:
        step_own(), step_default()
    moved = max(
        (p - q).abs().max().item()
        for p, q in zip(own.parameters(), model.parameters(), strict=True)
    )
    assert moved > 1e-3  # the steps changed the weights
    for p, q in zip(own.parameters(), default.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_the_optimizers_benchmark_times_both_optimisers_per_family(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seqtasks import models
    from seqtasks.benchmarks import optimizers

    small = ("associative_recall", {"length": 16, "num_pairs": 2, "vocab": 32})
    monkeypatch.setattr(optimizers, "WINDOW_CASE", small)  # not the board's 36M parameters
    assert optimizers.main(["--lengths", "3", "--batch", "2", "--rounds", "1", "--steps", "1",
                            "--out", str(tmp_path)]) == 0  # fmt: skip
    rows = json.loads((tmp_path / "optimizers.json").read_text())["rows"]
    families = [row["family"] for row in rows]
    assert families[-1] == "mlp_window" and rows[-1]["problem"] == "associative_recall"
    assert set(families[:-1]) <= set(models.FAMILIES) and {"lstm", "xlstm"} <= set(families)
    for row in rows:
        assert row["fused"] is True and row["default_seconds"] > 0 and row["own_seconds"] > 0
        assert row["speedup"] == pytest.approx(row["default_seconds"] / row["own_seconds"])
    text = (tmp_path / "optimizers.md").read_text()
    assert "| `lstm` | subsequence (framing one_to_one, length 3) | 72,970 | " in text
    assert "| `mlp_window` | associative_recall (length 16, num_pairs 2, vocab 32) |" in text
    with pytest.raises(SystemExit):
        optimizers.main(["--steps", "0", "--out", str(tmp_path)])


@pytest.mark.parametrize("family", ["lstm", "mamba", "lru", "tcn"])
def test_weight_decay_reaches_the_weight_matrices_alone(family: str) -> None:
    problem = seqtasks.make("echo")
    model = build_model(compose_config([f"model={family}", "model.weight_decay=0.1"]).model,
                        problem.spec)  # fmt: skip
    groups = model.configure_optimizers().param_groups
    decayed = {id(p) for group in groups if group["weight_decay"] == 0.1 for p in group["params"]}
    names = {name: id(p) in decayed for name, p in model.named_parameters()}
    assert names and all(p.ndim >= 2 for p in model.parameters() if id(p) in decayed)
    assert not any(decayed_ for name, decayed_ in names.items() if name.endswith("bias"))
    assert any(names.values()), "the weight matrices are decayed"
    if family == "tcn":  # weight norm's magnitude g is a gain, its direction v a weight
        assert not any(decayed_ for name, decayed_ in names.items() if name.endswith("original0"))
        assert all(decayed_ for name, decayed_ in names.items() if name.endswith("original1"))
    poles = {"mamba": "A_log", "lru": "nu_log"}.get(family)
    if poles:  # a state space model's poles are never pulled toward fast forgetting
        assert not any(decayed_ for name, decayed_ in names.items() if name.endswith(poles))
    # a copy decays the same (deepcopy drops a Parameter's own attributes: the module names them)
    copied = copy.deepcopy(model).configure_optimizers().param_groups
    assert [len(g["params"]) for g in copied] == [len(g["params"]) for g in groups]
    plain = build_model(compose_config([f"model={family}"]).model, problem.spec)
    assert len(plain.configure_optimizers().param_groups) == 1  # weight_decay 0: as before


def test_either_weight_norm_keeps_its_magnitude_out_of_decay() -> None:
    from torch.nn.utils import parametrizations
    from torch.nn.utils import weight_norm as older_weight_norm

    from seqtasks.models.optim import parameter_groups

    with pytest.warns(FutureWarning):  # torch's older weight norm, still in users' nets
        older = older_weight_norm(nn.Linear(3, 4))
    net = nn.Sequential(older, parametrizations.weight_norm(nn.Linear(4, 2)))
    (decayed, kept) = parameter_groups(net, 0.1)
    names = {id(p): name for name, p in net.named_parameters()}
    assert sorted(names[id(p)] for p in decayed["params"]) == [
        "0.weight_v", "1.parametrizations.weight.original1"]  # fmt: skip
    assert sorted(names[id(p)] for p in kept["params"]) == [
        "0.bias", "0.weight_g", "1.bias", "1.parametrizations.weight.original0"]  # fmt: skip
