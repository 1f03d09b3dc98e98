"""The definitions inside tcn, mamba and lru, checked against plain loops and the papers'
formulas: receptive fields, the selective scan and its gradients, the LRU's complex
recurrence and ring initialisation."""

from __future__ import annotations

import pytest
import torch

import seqtasks
from seqtasks.models.lru import LRU, LRULayer, linear_scan
from seqtasks.models.mamba import Mamba
from seqtasks.models.mamba_scan import scan_materialized, selective_scan
from seqtasks.models.tcn import TCN, levels_for, receptive_field


# ---------------------------------------------------------------------------- tcn
def test_tcn_levels_cover_the_input_length():
    assert receptive_field(8, 8) == 1 + 2 * 7 * 255  # Bai et al.'s copy-memory network: 3,571
    for length in (2, 6, 100, 1020, 5000):
        for kernel in (2, 3, 8):
            levels = levels_for(length, kernel)
            assert receptive_field(kernel, levels) >= length
            assert levels == 1 or receptive_field(kernel, levels - 1) < length
    spec = seqtasks.make("copy_memory", delay=1000, variant="bai").spec
    model = TCN(spec, channels=4, kernel_size=8)
    assert model.num_levels == 7 and len(model.blocks) == 7
    assert TCN(spec, channels=4, kernel_size=8, num_levels=8).receptive_field == 3571


def test_tcn_sees_exactly_its_receptive_field():
    spec = seqtasks.make("subsequence", framing="one_to_one", length=40).spec
    torch.manual_seed(0)  # 16 channels, 8 sequences: no position's every path through a ReLU is off
    model = TCN(spec, channels=16, kernel_size=2, num_levels=2).eval()  # field 1 + 2 * 3 = 7
    inputs = torch.randn(8, 40, spec.input_size, requires_grad=True)  # (8, T, F)
    model(inputs)[:, 30].sum().backward()
    seen = inputs.grad.abs().sum((0, 2)).nonzero().flatten()
    assert seen.tolist() == list(range(24, 31))


@pytest.mark.parametrize("weight_norm", [True, False])
def test_tcn_initialisations_draw_what_they_say(weight_norm):
    spec = seqtasks.make("echo", lag=5, length=6, framing="many_to_one").spec  # 100 one-hot inputs
    built = {}
    for init in ("pytorch", "he", "locuslab"):
        torch.manual_seed(0)
        built[init] = TCN(spec, channels=64, weight_norm=weight_norm, init=init)

    def convs(model):  # (effective weight, bias, fan_in) of every causal convolution
        for block in model.blocks:
            for causal in (block.conv1, block.conv2):
                weight = causal.conv.weight  # under weight_norm: g v / |v|, = v at the start
                yield weight, causal.conv.bias, weight[0].numel()

    for weight, bias, fan_in in convs(built["he"]):
        assert abs(weight.std().item() / (2 / fan_in) ** 0.5 - 1) < 0.1  # He: ReLU gain
        assert torch.equal(bias, torch.zeros_like(bias))
    skip = built["he"].blocks[0].skip  # 100 -> 64 channels: linear gain
    assert abs(skip.weight.std().item() * 100**0.5 - 1) < 0.1 and not skip.bias.any()
    for init in ("pytorch", "he"):
        head = built[init].head.weight
        assert head.abs().max() <= 64**-0.5 and head.std() > 0.3 * 64**-0.5  # PyTorch's draw
    for weight, bias, fan_in in convs(built["pytorch"]):
        assert weight.abs().max() <= fan_in**-0.5 and bias.abs().max() <= fan_in**-0.5
        assert weight.std() > 0.5 * (3 * fan_in) ** -0.5 and bias.any()
    locuslab = built["locuslab"]
    for weight, _, fan_in in convs(locuslab):  # weight-normalised: PyTorch's draw kept
        if weight_norm:
            assert weight.abs().max() <= fan_in**-0.5 and weight.std() > 0.5 * (3 * fan_in) ** -0.5
        else:
            assert abs(weight.std().item() / 0.01 - 1) < 0.15
    for tensor in (locuslab.head.weight, locuslab.blocks[0].skip.weight):
        assert abs(tensor.std().item() / 0.01 - 1) < 0.15
    with pytest.raises(ValueError, match=r"init='lecun' is not available for model=tcn"):
        TCN(spec, init="lecun")


def test_tcn_he_keeps_the_signal_that_locuslab_buries_under_biases():
    """The README's "Initialisation of the TCN": echo at lag 5, 256 sequences, seeds 0-2."""
    data = seqtasks.make("echo", lag=5, length=6, framing="many_to_one", batch_size=256,
                         num_samples=256)  # fmt: skip
    inputs, _ = next(iter(data))  # (256, 6, 100) one-hot
    for seed in range(3):
        spread = {}
        for init in ("locuslab", "he"):
            torch.manual_seed(seed)
            model = TCN(data.spec, init=init).eval()
            second = model.blocks[1]  # the last block: (B, C, T) in, conv2 read at the last step
            before = model.blocks[0](inputs.transpose(1, 2))
            conv2 = second.conv2(torch.relu(second.conv1(before)))[:, :, -1]  # (B, C)
            bias = second.conv2.conv.bias.abs().mean().item()
            with torch.no_grad():
                logits = model(inputs)  # (B, 100)
            spread[init] = (conv2.std(0).mean().item(), bias, logits.std(0).mean().item())
        signal, bias, logits = spread["locuslab"]
        assert signal < 0.005 < 0.03 < bias and logits < 0.002  # measured: 0.002, 0.04, 0.0009
        signal, bias, logits = spread["he"]
        assert signal > 0.05 and bias == 0 and logits > 0.03  # measured: 0.08-0.09, 0, 0.06


# ---------------------------------------------------------------------------- mamba
def test_selective_scan_matches_the_recurrence():
    torch.manual_seed(0)
    u, delta = torch.randn(2, 9, 3), torch.rand(2, 9, 3)  # (B, T, E)
    A, B, C = -torch.rand(3, 4), torch.randn(2, 9, 4), torch.randn(2, 9, 4)  # (E, N), (B, T, N)
    state, expected = torch.zeros(2, 3, 4), []
    for t in range(9):
        for e in range(3):
            state[:, e] = torch.exp(delta[:, t, e, None] * A[e]) * state[:, e] + (
                delta[:, t, e, None] * B[:, t] * u[:, t, e, None]
            )
        expected.append((state * C[:, t, None]).sum(-1))
    for scan in (selective_scan, scan_materialized):  # the CPU's fused loop, and the other
        assert torch.allclose(scan(u, delta, A, B, C), torch.stack(expected, 1), atol=1e-6)


def scan_inputs(batch: int, length: int, inner: int, n: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    u, raw = (torch.randn(batch, length, inner, generator=generator, dtype=torch.float64)
              for _ in range(2))  # fmt: skip
    A = -3 * torch.rand(inner, n, generator=generator, dtype=torch.float64)
    B, C = (torch.randn(batch, length, n, generator=generator, dtype=torch.float64)
            for _ in range(2))  # fmt: skip
    return [x.requires_grad_() for x in (u, torch.nn.functional.softplus(raw), A, B, C)]


def test_the_fused_scan_has_the_gradients_of_the_definition():
    assert torch.autograd.gradcheck(selective_scan, scan_inputs(2, 5, 3, 4))
    inputs = scan_inputs(3, 23, 6, 5)
    fused, materialized = selective_scan(*inputs), scan_materialized(*inputs)
    weights = torch.randn_like(fused)
    grads = [torch.autograd.grad((y * weights).sum(), inputs) for y in (fused, materialized)]
    assert torch.allclose(fused, materialized, atol=1e-12)
    for a, b in zip(*grads, strict=True):
        assert torch.allclose(a, b, atol=1e-10)
    with torch.no_grad():  # keeps two states, not T
        assert torch.allclose(selective_scan(*inputs), materialized, atol=1e-12)
    only_u = [inputs[0].detach().requires_grad_(), *(x.detach() for x in inputs[1:])]
    (selective_scan(*only_u) * weights).sum().backward()
    assert torch.allclose(only_u[0].grad, grads[1][0], atol=1e-10)
    mixed = [x.detach().to(torch.bfloat16) for x in inputs[:2]] + [
        x.detach().float() for x in inputs[2:]
    ]
    assert selective_scan(*mixed).dtype == torch.float32  # computed in the promoted dtype
    with pytest.raises(RuntimeError, match="no second derivative"):  # refused, not wrong
        torch.autograd.grad(selective_scan(*inputs).sum(), inputs[0], create_graph=True)


def test_mamba_starts_as_the_paper_and_its_step_size_depends_on_the_input():
    spec = seqtasks.make("echo", length=10).spec
    model = Mamba(spec, d_model=16, d_state=6, num_layers=1)
    block = model.blocks[0]
    A = -torch.exp(block.A_log)  # (E, N): S4D-real, -(1..N) in every channel
    assert torch.equal(A, -torch.arange(1, 7.0).expand(32, 6))
    dt = torch.nn.functional.softplus(block.dt_proj.bias)
    assert dt.min() >= 0.001 * 0.999 and dt.max() <= 0.1 * 1.001
    features = torch.randn(2, 5, 32)  # (B, T, E)
    dt_in, _, _ = block.x_proj(features).split([block.dt_rank, 6, 6], -1)
    steps = torch.nn.functional.softplus(block.dt_proj(dt_in))  # (B, T, E)
    assert not torch.allclose(steps[:, 0], steps[:, 1])


# ---------------------------------------------------------------------------- lru
@pytest.mark.parametrize("length", [1, 5, 16, 75])  # within one chunk, one whole, a part
def test_linear_scan_matches_the_complex_recurrence_across_chunks(length):
    torch.manual_seed(0)
    log_modulus, phase = -torch.rand(5, dtype=torch.float64) * 0.1, torch.rand(5) * 3  # (N,)
    phase = phase.double()
    drive = torch.randn(5, 2, 3, length, dtype=torch.float64)  # (N, re/im, B, T)
    lam = torch.exp(torch.complex(log_modulus, phase))  # (N,)
    complex_drive = torch.complex(drive[:, 0], drive[:, 1])  # (N, B, T)
    state, expected = torch.zeros(5, 3, dtype=torch.cdouble), []
    for t in range(length):
        state = lam[:, None] * state + complex_drive[..., t]  # (N, B)
        expected.append(state)
    states_re, states_im = linear_scan(log_modulus, phase, drive[:, 0], drive[:, 1])
    assert states_re.shape == states_im.shape == (5, 3, length)  # (N, B, T)
    expected = torch.stack(expected, -1)  # (N, B, T)
    torch.testing.assert_close(states_re, expected.real, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(states_im, expected.imag, rtol=1e-10, atol=1e-10)


def test_lru_layer_is_the_complex_formula():
    """y_t = Re(C h_t) + D x_t, h_t = lambda h_{t-1} + gamma B x_t, in complex arithmetic step by
    step; the layer computes its projections as real products."""
    torch.manual_seed(0)
    layer = LRULayer(d_model=6, d_state=5, r_min=0.5, r_max=0.99, max_phase=3.0)
    x = torch.randn(3, 9, 6, dtype=torch.float64)  # (B, T, H)
    layer = layer.double()
    lam = torch.exp(torch.complex(-torch.exp(layer.nu_log), torch.exp(layer.theta_log)))  # (N,)
    b = torch.complex(layer.B_re, layer.B_im) * torch.exp(layer.gamma_log)[:, None]  # (N, H)
    c = torch.complex(layer.C_re, layer.C_im)  # (H, N)
    state, expected = torch.zeros(3, 5, dtype=torch.cdouble), []
    for t in range(9):
        state = lam * state + x[:, t].to(torch.cdouble) @ b.T  # (B, N)
        expected.append((state @ c.T).real + layer.D * x[:, t])  # (B, H)
    output = layer(x)
    assert torch.allclose(output, torch.stack(expected, 1), atol=1e-10)
    output.sum().backward()  # every parameter is used and gets a gradient
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in layer.parameters())


def test_lru_ring_initialisation_and_normalisation():
    torch.manual_seed(0)
    spec = seqtasks.make("echo", length=10).spec
    layer = LRU(spec, d_state=4000, num_layers=1, r_min=0.4, r_max=0.8, max_phase=1.5)
    layer = layer.blocks[0].lru
    modulus = torch.exp(-torch.exp(layer.nu_log))  # |lambda|
    phase = torch.exp(layer.theta_log)
    assert modulus.min() >= 0.4 - 1e-6 and modulus.max() <= 0.8 + 1e-6
    assert phase.min() >= 0 and phase.max() <= 1.5 + 1e-6
    # uniform on the ring in area: |lambda|^2 uniform in [0.16, 0.64], mean 0.4
    assert abs((modulus**2).mean().item() - 0.4) < 0.01
    gamma = torch.exp(layer.gamma_log)
    assert torch.allclose(gamma, torch.sqrt(1 - modulus**2), atol=1e-6)
