"""The recurrent models' lookup loop for wide one-hot inputs: the fused layer's values."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import seqtasks
from seqtasks.benchmarks.runner import compose_config
from seqtasks.models.recurrent_lookup import lookup_recurrence, lookup_symbols
from seqtasks.training.run import build_model

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def layer(cell: str, vocab: int = 40, hidden: int = 8, **options) -> nn.RNNBase:
    torch.manual_seed(0)
    rnn = CELLS[cell](vocab, hidden, batch_first=True, **options)
    with torch.no_grad():  # biases away from PyTorch's draw, so every term counts
        for parameter in rnn.parameters():
            parameter.normal_(0, 0.5)
    return rnn


@pytest.mark.parametrize("cell", CELLS)
def test_the_loop_is_the_fused_layer_value_by_value_with_its_gradients(cell: str) -> None:
    rnn = layer(cell).double()
    symbols = torch.randint(0, 40, (3, 7), generator=torch.Generator().manual_seed(1))
    inputs = F.one_hot(symbols, 40).double()
    weights = torch.randn(3, 7, 8, dtype=torch.float64)  # a loss that reads every output
    expected, _ = rnn(inputs)
    (expected * weights).sum().backward()
    fused_grads = {name: p.grad.clone() for name, p in rnn.named_parameters()}
    rnn.zero_grad()
    got = lookup_recurrence(rnn, symbols)
    (got * weights).sum().backward()
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    for name, p in rnn.named_parameters():
        torch.testing.assert_close(p.grad, fused_grads[name], rtol=0, atol=1e-12, msg=name)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("framing", ["one_to_one", "many_to_one"])
def test_a_model_on_wide_one_hot_inputs_takes_the_loop_with_the_same_outputs(
    name: str, framing: str
) -> None:
    problem = seqtasks.make("memorize", framing=framing, length=60)  # 60 symbols, hidden 16
    model = build_model(compose_config([f"model={name}", "model.hidden_size=16"]).model,
                        problem.spec)  # fmt: skip
    inputs, _ = problem.generate(0, 4)
    assert lookup_symbols(model.rnn, inputs) is not None
    outputs, _ = model.rnn(inputs)  # the fused layer
    fused = outputs if framing == "one_to_one" else outputs[:, -1]
    expected = model.shape_output(model.head(fused))
    torch.testing.assert_close(model(inputs), expected, rtol=0, atol=1e-5)


def test_the_loop_serves_only_what_it_computes_exactly() -> None:
    symbols = torch.randint(0, 40, (2, 5), generator=torch.Generator().manual_seed(2))
    one_hot = F.one_hot(symbols, 40).float()
    assert torch.equal(lookup_symbols(layer("lstm"), one_hot), symbols)
    refused = {
        "narrow vocabulary": (layer("lstm", vocab=20), one_hot[..., :20]),
        "two layers": (layer("gru", num_layers=2), one_hot),
        "bidirectional": (layer("gru", bidirectional=True), one_hot),
        "relu RNN": (layer("rnn", nonlinearity="relu"), one_hot),
        "no bias": (layer("lstm", bias=False), one_hot),
        "float64": (layer("lstm").double(), one_hot.double()),
        "half a symbol": (layer("lstm"), one_hot * 0.5),
        "two symbols at once": (layer("lstm"), one_hot + one_hot.roll(1, -1)),
        "a one beside a negative value": (layer("lstm"), one_hot - 0.1 * one_hot.roll(1, -1)),
        "split between two symbols": (layer("lstm"), (one_hot + one_hot.roll(1, -1)) / 2),
        "minus one": (layer("lstm"), -one_hot),
        "values that cancel beside a one": (
            layer("lstm"),
            one_hot + (one_hot.roll(1, -1) - one_hot.roll(2, -1)) / 2,
        ),
    }
    refused["inputs that need a gradient"] = (layer("lstm"), one_hot.clone().requires_grad_())
    for why, (rnn, inputs) in refused.items():
        assert lookup_symbols(rnn, inputs) is None, why
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert lookup_symbols(layer("lstm"), one_hot) is None


@pytest.mark.parametrize("name", CELLS)
def test_gradients_wrt_one_hot_inputs_are_the_fused_layers(name: str) -> None:
    """Saliency: ids have no gradient, so inputs that need one take the fused layer."""
    problem = seqtasks.make("memorize", framing="many_to_one", length=60)
    model = build_model(compose_config([f"model={name}", "model.hidden_size=16"]).model,
                        problem.spec)  # fmt: skip
    inputs, _ = problem.generate(0, 4)
    inputs.requires_grad_(True)
    model(inputs).sum().backward()
    through_model, inputs.grad = inputs.grad, None
    outputs, _ = model.rnn(inputs)
    model.shape_output(model.head(outputs[:, -1])).sum().backward()
    assert through_model is not None and through_model.abs().sum() > 0
    torch.testing.assert_close(through_model, inputs.grad, rtol=0, atol=1e-6)


def test_a_model_on_inputs_that_are_not_one_hot_runs_the_fused_layer_bit_for_bit() -> None:
    problem = seqtasks.make("memorize", framing="many_to_one", length=60)
    model = build_model(compose_config(["model=gru", "model.hidden_size=16"]).model, problem.spec)
    inputs, _ = problem.generate(0, 4)
    smoothed = inputs * 0.9 + 0.1 / inputs.shape[-1]  # label-smoothed inputs: no lookup
    outputs, _ = model.rnn(smoothed)
    assert torch.equal(model(smoothed), model.shape_output(model.head(outputs[:, -1])))


def test_narrow_problems_keep_the_fused_layer() -> None:
    problem = seqtasks.make("subsequence", framing="one_to_one", length=50)  # 10 symbols
    model = build_model(compose_config(["model=lstm"]).model, problem.spec)
    inputs, _ = problem.generate(0, 2)
    assert lookup_symbols(model.rnn, inputs) is None


def test_the_benchmark_writes_both_ways_for_every_cell_size_and_pass(tmp_path) -> None:
    from seqtasks.benchmarks import lookup

    argv = ["--vocabs", "20", "40", "--batches", "2", "--eval-batch", "3", "--hidden", "4",
            "--length", "3", "--rounds", "1", "--out", str(tmp_path)]  # fmt: skip
    assert lookup.main(argv) == 0
    rows = json.loads((tmp_path / "lookup.json").read_text())["rows"]
    assert {(r["cell"], r["pass"], r["batch"], r["vocab"]) for r in rows} == {
        (cell, kind, batch, vocab) for cell in ("LSTM", "GRU", "RNN") for vocab in (20, 40)
        for kind, batch in (("forward and backward", 2), ("forward", 3))
    }  # fmt: skip
    assert all(r["speed_up"] == pytest.approx(r["fused_ms"] / r["loop_ms"]) for r in rows)
    assert (
        "python -m seqtasks.benchmarks.lookup --vocabs 20 40"
        in (tmp_path / "lookup.md").read_text()
    )
    with pytest.raises(SystemExit):
        lookup.main(["--vocabs", "1", "--out", str(tmp_path)])


def test_train_with_the_loop_follows_the_fused_layer(compose_config, monkeypatch) -> None:
    from seqtasks.models import recurrent
    from seqtasks.training.run import train

    overrides = ("task=memorize", "task.framing=many_to_one", "task.length=30", "model=gru",
                 "model.hidden_size=8", "trainer.max_steps=20")  # fmt: skip
    calls = []

    def counted(rnn: nn.RNNBase, symbols: torch.Tensor) -> torch.Tensor:
        calls.append(symbols.shape)
        return lookup_recurrence(rnn, symbols)

    monkeypatch.setattr(recurrent, "lookup_recurrence", counted)
    looped = train(compose_config(*overrides))  # 30 symbols against 8 units: the loop
    assert calls, "the loop never ran"
    monkeypatch.setattr(recurrent, "lookup_symbols", lambda rnn, inputs: None)
    calls.clear()
    fused = train(compose_config(*overrides))
    assert not calls
    assert looped["test"].keys() == fused["test"].keys()
    for name, value in fused["test"].items():  # 20 steps apart by float rounding only
        assert looped["test"][name] == pytest.approx(value, abs=1e-4), name
