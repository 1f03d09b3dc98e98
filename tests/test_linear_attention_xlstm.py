"""Causal linear attention and xLSTM: shapes, parallel == recurrent, the papers' formulas,
causality, refusals, state sizes, configs and training through train(cfg)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

import seqtasks
from seqtasks import models
from seqtasks.models.linear_attention import LinearAttention, LinearTransformer
from seqtasks.models.xlstm import XLSTM
from seqtasks.models.xlstm_cells import HeadwiseLinear, MLSTMCell, SLSTMCell, head_norm
from seqtasks.training.run import train

CONF = Path(__file__).resolve().parents[1] / "training" / "conf" / "model"
FAMILIES = {"linear_attention": LinearTransformer, "xlstm": XLSTM}
SMALL = {"linear_attention": {"num_layers": 1}, "xlstm": {"d_model": 16, "blocks": ["m", "s"]}}


def batch(name: str, size: int = 4, seed: int = 0, **options) -> tuple:
    task = seqtasks.make(name, batch_size=size, num_samples=size, seed=seed, **options)
    inputs, targets = next(iter(task))
    return task.spec, inputs, targets


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("framing", ["one_to_one", "many_to_one"])
@pytest.mark.parametrize("encoding", ["onehot", "index"])
def test_output_shape_is_the_specs(family, framing, encoding):
    torch.manual_seed(0)
    spec, inputs, targets = batch("subsequence", framing=framing, encoding=encoding, length=7)
    model = FAMILIES[family](spec, **SMALL[family])
    assert models.resolve(family, framing) is FAMILIES[family]
    assert model(inputs).shape == (*targets.shape, spec.num_classes)
    model.check_output(inputs)  # the harness's own check


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("framing", ["one_to_one", "many_to_one"])
def test_real_targets_have_the_targets_shape(family, framing):
    spec, inputs, targets = batch("ramp", framing=framing)
    assert FAMILIES[family](spec, **SMALL[family])(inputs).shape == targets.shape


@pytest.mark.parametrize("family", FAMILIES)
def test_seq2seq_is_refused_with_the_models_that_serve_it(family):
    with pytest.raises(ValueError, match=rf"model={family} cannot serve framing='seq2seq'.*lstm"):
        models.resolve(family, "seq2seq")


def naive_linear_attention(q, k, v):
    """The paper's eq. 8 written out per step: ``(B, H, T, d)`` each -> ``(B, H, T, d)``."""
    phi_q, phi_k = F.elu(q) + 1, F.elu(k) + 1
    rows = []
    for t in range(q.shape[2]):
        weights = (phi_q[:, :, t : t + 1] * phi_k[:, :, : t + 1]).sum(-1)  # (B, H, t+1)
        rows.append((weights[..., None] * v[:, :, : t + 1]).sum(2) / weights.sum(-1)[..., None])
    return torch.stack(rows, dim=2)


@pytest.mark.parametrize("chunk_size", [1, 3, 64])
def test_linear_attention_parallel_equals_recurrent_and_the_papers_formula(chunk_size):
    torch.manual_seed(0)
    layer = LinearAttention(d_model=8, num_heads=2, chunk_size=chunk_size)
    x = torch.randn(3, 11, 8)  # (B, T, D)
    parallel = layer(x)
    state, steps = layer.initial_state(3, x), []
    for t in range(11):
        y, state = layer.step(x[:, t], state)
        steps.append(y)
    assert torch.allclose(parallel, torch.stack(steps, 1), atol=1e-5)
    q, k, v = layer.qkv(x).view(3, 11, 3, 2, 4).permute(2, 0, 3, 1, 4)
    assert torch.allclose(parallel, layer.merge(naive_linear_attention(q, k, v)), atol=1e-5)
    s, z = state  # the sums over all steps
    phi_k = F.elu(k) + 1  # (B, H, T, d)
    assert torch.allclose(s, phi_k.transpose(-1, -2) @ v, atol=1e-4)
    assert torch.allclose(z, phi_k.sum(2), atol=1e-5)


def mlstm_unstabilised(cell: MLSTMCell, q, k, v):
    """The paper's mLSTM without the stabiliser: exp(i~) and sigmoid(f~) as they are."""
    i_pre, log_f = cell.gates(q, k, v)  # (B, T, H)
    heads, d = cell.heads, cell.head_size
    batch, length, _ = q.shape
    c, n, out = torch.zeros(batch, heads, d, d), torch.zeros(batch, heads, d), []
    for t in range(length):
        qt, kt, vt = (x[:, t].view(batch, heads, d) for x in (q, k, v))
        kt = kt / d**0.5
        i, f = i_pre[:, t].exp()[..., None], log_f[:, t].exp()[..., None]  # (B, H, 1)
        c = f[..., None] * c + i[..., None] * kt[..., :, None] * vt[..., None, :]
        n = f * n + i * kt
        h = (qt[..., :, None] * c).sum(-2) / (qt * n).sum(-1, keepdim=True).abs().clamp(min=1)
        out.append(cell.normalise(h.reshape(batch, -1)))
    return torch.stack(out, 1)


@pytest.mark.parametrize("chunk_size", [1, 4, 64])
def test_mlstm_parallel_equals_recurrent_and_the_unstabilised_formula(chunk_size):
    torch.manual_seed(0)
    cell = MLSTMCell(width=16, num_heads=2, chunk_size=chunk_size)
    with torch.no_grad():  # gates that vary with the input, and a large input gate somewhere
        cell.input_gate.weight.normal_(0.0, 0.5)
        cell.forget_gate.weight.normal_(0.0, 0.5)
    q, k, v = torch.randn(3, 3, 9, 16).unbind(0)  # (B, T, W) each
    parallel, (c, n, m) = cell.scan(q, k, v)
    state, steps = cell.initial_state(3, q), []
    for t in range(9):
        h, state = cell.step(q[:, t], k[:, t], v[:, t], state)
        steps.append(h)
    assert torch.allclose(parallel, torch.stack(steps, 1), atol=1e-5)
    assert torch.allclose(m, state[2], atol=1e-5)  # the same stabiliser, so the same C and n
    assert torch.allclose(c, state[0], atol=1e-5) and torch.allclose(n, state[1], atol=1e-5)
    assert torch.allclose(parallel, mlstm_unstabilised(cell, q, k, v), atol=1e-4)


def test_head_norm_is_group_norm_and_the_gates_are_the_gate_layers():
    torch.manual_seed(0)
    norm = torch.nn.GroupNorm(4, 32)
    with torch.no_grad():
        norm.weight.normal_(), norm.bias.normal_()
    h = torch.randn(3, 5, 32) * 3 + 1
    assert torch.allclose(head_norm(h, norm), norm(h.reshape(15, 32)).view(3, 5, 32), atol=1e-5)
    cell = MLSTMCell(width=16, num_heads=2)
    with torch.no_grad():
        cell.input_gate.weight.normal_(), cell.forget_gate.weight.normal_()
    q, k, v = torch.randn(3, 3, 9, 16).unbind(0)  # (B, T, W) each
    i_pre, log_f = cell.gates(q, k, v)
    qkv = torch.cat([q, k, v], dim=-1)  # (B, T, 3W)
    assert torch.allclose(i_pre, cell.input_gate(qkv), atol=1e-5)
    assert torch.allclose(log_f, F.logsigmoid(cell.forget_gate(qkv)), atol=1e-5)


@pytest.mark.parametrize("width", [160, 24, 20, 4])  # 4, 2, 1 and 1 blocks per product
def test_headwise_linear_maps_each_block_by_its_own_matrix(width):
    torch.manual_seed(0)
    projection = HeadwiseLinear(width, 4).double()
    with torch.no_grad():
        projection.bias.normal_()
    x = torch.randn(2, 5, width, dtype=torch.float64, requires_grad=True)
    blocks = x.unflatten(-1, (width // 4, 4))  # (B, T, N, 4)
    expected = torch.einsum("btni,nij->btnj", blocks, projection.weight).flatten(-2)
    expected = expected + projection.bias  # (B, T, W)
    got = projection(x)
    assert torch.allclose(got, expected, rtol=0, atol=1e-12)
    weights = torch.randn_like(got)
    grads = torch.autograd.grad((got * weights).sum(), [x, *projection.parameters()])
    wanted = torch.autograd.grad((expected * weights).sum(), [x, *projection.parameters()])
    for grad, want in zip(grads, wanted, strict=True):
        assert torch.allclose(grad, want, rtol=0, atol=1e-12)


def test_slstm_equals_the_unstabilised_formula_with_block_diagonal_recurrence():
    torch.manual_seed(0)
    cell = SLSTMCell(width=8, num_heads=2)
    x = torch.randn(2, 7, 8)
    pre_x = cell.input(x)  # (B, T, 4W)
    h, c, n = torch.zeros(2, 8), torch.zeros(2, 8), torch.zeros(2, 8)
    r = torch.block_diag(*cell.recurrent)  # (W, 4W): zero off the head blocks
    out = []
    for t in range(7):
        pre = (pre_x[:, t] + h @ r).view(2, 2, 4, 4)  # (B, H, gate, d)
        i, f, z, o = (pre[:, :, g].reshape(2, 8) for g in range(4))
        c = torch.sigmoid(f) * c + i.exp() * torch.tanh(z)
        n = torch.sigmoid(f) * n + i.exp()
        h = torch.sigmoid(o) * c / n
        out.append(cell.normalise(h))
    assert torch.allclose(cell(x), torch.stack(out, 1), atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("framing", ["one_to_one", "many_to_one"])
def test_whole_model_parallel_equals_recurrent(family, framing):
    torch.manual_seed(0)
    spec, inputs, _ = batch("subsequence", framing=framing, encoding="index", length=9)
    options = {"chunk_size": 4}
    if family == "xlstm":
        options["blocks"] = ["m", "s", "m"]
    model = FAMILIES[family](spec, **options).eval()
    with torch.no_grad():
        assert torch.allclose(model(inputs), model.forward_recurrent(inputs), atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("encoding", ["onehot", "index"])
def test_one_to_one_is_causal(family, encoding):
    torch.manual_seed(0)
    options = {"framing": "one_to_one", "encoding": encoding, "length": 8}
    spec, inputs, _ = batch("subsequence", **options)
    changed, t = inputs.clone(), 4
    changed[:, t + 1 :] = batch("subsequence", seed=1, **options)[1][:, t + 1 :]
    assert not torch.equal(changed[:, t + 1], inputs[:, t + 1])
    model = FAMILIES[family](spec).eval()
    with torch.no_grad():
        before, after = model(inputs), model(changed)  # (B, T, C)
    assert torch.allclose(before[:, : t + 1], after[:, : t + 1], atol=1e-6)
    assert not torch.allclose(before[:, t + 1 :], after[:, t + 1 :], atol=1e-3)


def test_state_sizes_count_the_memories():
    spec = seqtasks.make("echo").spec
    assert LinearTransformer(spec).state_size == 2 * 4 * (16 * 16 + 16)  # layers x heads x (S, z)
    assert LinearTransformer(spec, d_model=32, num_heads=2, num_layers=3).state_size == 3 * 2 * 272
    m_block = 4 * (40 * 40 + 40 + 1) + 3 * 160  # C, n, m per head; the convolution's 3 inputs
    assert XLSTM(spec).state_size == m_block + 4 * 80  # sLSTM: h, c, n, m per unit
    assert XLSTM(spec, blocks=["s", "s"]).state_size == 2 * 4 * 80
    # no mLSTM block: up_factor * d_model need not split into q, k, v blocks of 4 a head
    assert XLSTM(spec, blocks=["s"], d_model=12, num_heads=4).state_size == 4 * 12
    assert XLSTM(spec, blocks=["m"], conv_kernel=1).state_size == 4 * (40 * 40 + 40 + 1)


@pytest.mark.parametrize(
    ("family", "options", "error", "message"),
    [
        ("linear_attention", {"d_model": 30}, ValueError, "d_model=30 is not divisible by"),
        ("linear_attention", {"num_heads": 0}, ValueError, "num_heads=0"),
        ("linear_attention", {"chunk_size": 0}, ValueError, "chunk_size=0"),
        ("linear_attention", {"num_layers": 1.5}, TypeError, "num_layers must be an int"),
        ("linear_attention", {"dropout": 1.0}, ValueError, "dropout=1.0"),
        ("linear_attention", {"position": "rotary"}, ValueError, "position='rotary'"),
        ("linear_attention", {"lr": 0.0}, ValueError, "lr=0.0"),
        ("xlstm", {"blocks": ["m", "x"]}, ValueError, r"blocks=\['m', 'x'\] is not available"),
        ("xlstm", {"blocks": []}, ValueError, r"blocks=\[\] is not available"),
        ("xlstm", {"blocks": "ms"}, TypeError, "blocks must be a list"),
        ("xlstm", {"d_model": 30}, ValueError, "d_model=30 with num_heads=4"),
        ("xlstm", {"d_model": 20, "num_heads": 4, "up_factor": 1}, ValueError, "= 20 by"),
        ("xlstm", {"up_factor": 0}, ValueError, "up_factor=0"),
        ("xlstm", {"conv_kernel": 0}, ValueError, "conv_kernel=0"),
        ("xlstm", {"chunk_size": -1}, ValueError, "chunk_size=-1"),
        ("xlstm", {"ffn_factor": 0}, ValueError, "ffn_factor=0"),
        ("xlstm", {"ffn_factor": "big"}, TypeError, "ffn_factor must be a number"),
        ("xlstm", {"weight_decay": -1.0}, ValueError, "weight_decay=-1.0"),
        (
            "xlstm",
            {"blocks": ["s"], "up_factor": 4},
            ValueError,
            r"up_factor=4 sizes the mLSTM blocks, but blocks=\['s'\] has none: leave up_factor at",
        ),
        ("xlstm", {"blocks": ["s"], "conv_kernel": 9}, ValueError, "conv_kernel=9 sizes the mLSTM"),
        ("xlstm", {"blocks": ["s"], "chunk_size": 7}, ValueError, "chunk_size=7 sizes the mLSTM"),
        (
            "xlstm",
            {"blocks": ["m"], "ffn_factor": 3.0},
            ValueError,
            r"ffn_factor=3.0 sizes the sLSTM blocks, but blocks=\['m'\] has none: .* an s block",
        ),
    ],
)
def test_bad_options_are_refused_by_name(family, options, error, message):
    with pytest.raises(error, match=message):
        FAMILIES[family](seqtasks.make("echo").spec, **options)


@pytest.mark.parametrize("family", FAMILIES)
def test_rebuilt_from_its_hparams_it_gives_the_same_outputs(family):
    torch.manual_seed(0)
    spec, inputs, _ = batch("subsequence", framing="many_to_one", encoding="index")
    options = {"blocks": ("s", "m")} if family == "xlstm" else {"num_layers": 1}
    model = FAMILIES[family](spec, **options).eval()
    if family == "xlstm":
        assert model.hparams["blocks"] == ["s", "m"]  # a plain list, as a config gives it
    rebuilt = FAMILIES[family](**model.hparams).eval()
    rebuilt.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(rebuilt(inputs), model(inputs))


@pytest.mark.parametrize("family", FAMILIES)
def test_config_lists_every_option_with_its_default(family):
    config = OmegaConf.to_container(OmegaConf.load(CONF / f"{family}.yaml"))
    assert config.pop("name") == family
    parameters = inspect.signature(FAMILIES[family].__init__).parameters
    defaults = {key: p.default for key, p in parameters.items() if key not in ("self", "spec")}
    defaults = {key: list(v) if isinstance(v, tuple) else v for key, v in defaults.items()}
    assert config == defaults


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.filterwarnings("ignore:Your `IterableDataset` has `__len__` defined")
def test_train_py_fast_dev_run(compose_config, family):
    overrides = ["task=echo", f"model={family}", "+trainer.fast_dev_run=true"]
    if family == "xlstm":
        overrides.append("model.blocks=[m,s,m]")  # the list option from the command line
    summary = train(compose_config(*overrides))
    assert summary["steps"] == 1 and "test/accuracy" in summary["test"]
    assert summary["model"] == FAMILIES[family].__name__


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.filterwarnings("ignore:Your `IterableDataset` has `__len__` defined")
def test_default_solves_echo_lag_5(compose_config, family):
    summary = train(compose_config("task=echo", f"model={family}", small=False))
    assert summary["solved"], summary
