"""How big a model is: ``num_parameters`` and ``state_size``, as ``summary.json`` reports them.

``state_size`` is the number of floats a model carries per sequence at inference, counted as
Zoology (Arora et al. 2023, "Zoology: Measuring and Improving Recall in Efficient Language
Models") counts it: a recurrent model's state, a convolution's buffer of past inputs, attention's
key-value cache at the problem's input length. Each family defines it as a ``state_size``
property:

- lstm: ``2 H`` per layer and direction (h and c); gru, rnn: ``H``; seq2seq: the encoder's.
- transformer: ``2 L D T`` (keys and values of every layer); seq2seq adds the K target steps.
- mlp: 0; mlp_window: the window it reads, ``T`` times the (embedded) input features.
- tcn: each convolution's ``(kernel - 1) * dilation`` past inputs (at most ``T - 1``) times its
  input channels; mamba: ``E N + E (d_conv - 1)`` per layer; lru: ``2 N`` per layer (complex).
- custom: the user's net's ``state_size`` attribute, else None.
"""

from __future__ import annotations

from torch import nn


def num_parameters(model: nn.Module) -> int:
    """Every parameter tensor's elements, each tensor counted once (shared ones too)."""
    return sum(parameter.numel() for parameter in model.parameters())


def state_size(model: nn.Module) -> int | None:
    """The model's ``state_size`` (floats carried per sequence at inference), None if unknown."""
    size = getattr(model, "state_size", None)
    return size if isinstance(size, int) and not isinstance(size, bool) else None
