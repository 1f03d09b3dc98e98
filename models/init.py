"""Initial gate biases of recurrent layers: PyTorch's, a constant forget bias, or chrono.

PyTorch draws every bias of ``nn.LSTM``/``nn.GRU``/``nn.RNN`` from U(-1/sqrt(H), 1/sqrt(H)), and a
recurrent layer has two bias vectors, ``bias_ih`` and ``bias_hh``, whose **sum** is the bias a gate
sees. So an LSTM's forget gates start near sigmoid(0) = 0.5 and a remembered value halves at every
step. The schemes (``init=``):

- ``pytorch``: leave PyTorch's draw as it is.
- ``forget_bias``: every keep gate gets the effective bias ``b`` (``forget_bias``, default 1.0 as
  Keras' ``unit_forget_bias``): ``bias_ih = b`` and ``bias_hh = 0`` on that gate.
- ``chrono`` (Tallec & Ollivier 2018, "Can recurrent neural networks warp time?"): for each unit
  ``u ~ U[1, T_max - 1]``, keep-gate bias ``b_f = log(u)``; for an LSTM also input-gate bias
  ``b_i = -b_f``. The unit then forgets on a time scale of about ``u`` steps, spread over
  ``1 .. T_max``. Set on ``bias_ih``, with ``bias_hh = 0`` on those gates. ``T_max`` is the
  problem's input length unless ``t_max`` is given.

The keep gate is the LSTM's forget gate (gate order i, f, g, o) and the GRU's update gate z (gate
order r, z, n; ``h' = (1 - z) * n + z * h``, so z near 1 keeps the state and ``1 - z`` is the
coupled input gate). A tanh RNN has no gates: only ``pytorch`` applies to it. Every layer and
direction is set; weights stay as PyTorch draws them. ``u`` comes from torch's global generator,
so ``seed_everything`` makes it reproducible.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from seqtasks._validate import check_choice, check_float, check_int

INITS = ("pytorch", "forget_bias", "chrono")
GATES = {"lstm": 4, "gru": 3, "rnn": 1}  # gate blocks in a bias vector
KEEP_GATE = {"lstm": 1, "gru": 1}  # LSTM forget gate f; GRU update gate z
INPUT_GATE = {"lstm": 0}  # LSTM input gate i (the GRU's is tied to 1 - z)
DEFAULT_FORGET_BIAS = 1.0


def cell_of(rnn: nn.RNNBase) -> str:
    """``lstm``, ``gru`` or ``rnn`` for a PyTorch recurrent layer."""
    return {"LSTM": "lstm", "GRU": "gru"}.get(rnn.mode, "rnn")


def check_init(
    cell: str, init: str, forget_bias: float | None, t_max: int | None
) -> tuple[str, float | None, int | None]:
    """Validate an initialisation for ``cell``; refuses options the scheme would not use."""
    init = check_choice("init", init, INITS)
    if cell == "rnn" and init != "pytorch":
        raise ValueError(
            f"init={init!r}: a tanh RNN has no gates to bias; allowed init for cell 'rnn': "
            "['pytorch'] (the gated cells lstm and gru take forget_bias and chrono)"
        )
    if forget_bias is not None:
        if init != "forget_bias":
            raise ValueError(
                f"forget_bias={forget_bias!r} is used only with init='forget_bias' "
                f"(init is {init!r})"
            )
        forget_bias = check_float("forget_bias", forget_bias, -1e6, 1e6)
    if t_max is not None:
        if init != "chrono":
            raise ValueError(f"t_max={t_max!r} is used only with init='chrono' (init is {init!r})")
        t_max = check_int("t_max", t_max, 2)
    return init, forget_bias, t_max


def _gate(bias: torch.Tensor, cell: str, gate: int) -> torch.Tensor:
    """The view of one gate's block in a bias vector ``(GATES * H,)``."""
    hidden = bias.shape[0] // GATES[cell]
    return bias[gate * hidden : (gate + 1) * hidden]


def initialise(
    rnn: nn.RNNBase, init: str, forget_bias: float | None = None, t_max: int | None = None
) -> None:
    """Set the gate biases of every layer and direction of ``rnn`` by scheme ``init``.

    ``t_max`` is required for ``chrono``. See the module docstring for the formulas.
    """
    cell = cell_of(rnn)
    init, forget_bias, _ = check_init(cell, init, forget_bias, None)
    if init == "pytorch":
        return
    if init == "chrono" and t_max is None:
        raise ValueError("init='chrono' needs t_max, the longest time lag to span (>= 2)")
    with torch.no_grad():
        for name, bias_ih in rnn.named_parameters():
            if not name.startswith("bias_ih"):
                continue
            bias_hh = getattr(rnn, name.replace("bias_ih", "bias_hh"))
            keep = _gate(bias_ih, cell, KEEP_GATE[cell])  # (H,)
            if init == "forget_bias":
                keep.fill_(DEFAULT_FORGET_BIAS if forget_bias is None else forget_bias)
            else:
                high = max(t_max - 1, 1)
                keep.copy_(torch.log(1 + torch.rand_like(keep) * (high - 1)))  # log U[1, high]
            _gate(bias_hh, cell, KEEP_GATE[cell]).zero_()
            if init == "chrono" and cell in INPUT_GATE:
                _gate(bias_ih, cell, INPUT_GATE[cell]).copy_(-keep)
                _gate(bias_hh, cell, INPUT_GATE[cell]).zero_()


def effective_bias(rnn: nn.RNNBase, layer: int = 0, gate: str = "keep") -> torch.Tensor:
    """The bias a gate sees, ``bias_ih + bias_hh``, of ``layer`` (forward direction): ``(H,)``."""
    cell = cell_of(rnn)
    index = (KEEP_GATE if gate == "keep" else INPUT_GATE)[cell]
    total = getattr(rnn, f"bias_ih_l{layer}") + getattr(rnn, f"bias_hh_l{layer}")
    return _gate(total.detach(), cell, index)


def chrono_range(t_max: int) -> tuple[float, float]:
    """The interval the chrono keep-gate biases fall in: ``[0, log(T_max - 1)]``."""
    return 0.0, math.log(max(t_max - 1, 1))
