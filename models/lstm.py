"""LSTMs with a prediction at every step (one-to-one) or after the last step (many-to-one)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from models.base import SequenceModel, check_sizes
from seqtasks import TaskSpec
from seqtasks._validate import check_float


def init_forget_bias(lstm: nn.LSTM, bias: float) -> None:
    """Start every forget gate near ``sigmoid(bias)`` (PyTorch's gates: input, forget, cell, out).

    PyTorch draws LSTM biases around 0, so forget gates start near 0.5 and a value fades within a
    few dozen steps; a bias of 1 to 3 keeps it much longer (Gers et al. 2000, Jozefowicz et al.
    2015), which long-time-lag problems need.
    """
    hidden = lstm.hidden_size
    with torch.no_grad():
        for name, parameter in lstm.named_parameters():
            if name.startswith("bias_ih"):
                parameter[hidden : 2 * hidden] = bias
            elif name.startswith("bias_hh"):
                parameter[hidden : 2 * hidden] = 0.0


class _LSTMModel(SequenceModel):
    """Shared body: optional embedding, a (stacked, optionally bidirectional) LSTM, a linear head.

    The initial state is zeros (PyTorch's default), never random. ``forget_bias`` sets the forget
    gates' initial bias (see :func:`init_forget_bias`).
    """

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        embedding_size: int = 32,
        forget_bias: float | None = None,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        check_sizes(hidden_size=hidden_size, num_layers=num_layers, embedding_size=embedding_size)
        check_float("dropout", dropout, -1e-300, 1.0)
        self.save_hyperparameters()
        self.embed, input_size = self.input_layer(embedding_size)
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        if forget_bias is not None:
            init_forget_bias(self.lstm, check_float("forget_bias", forget_bias, -1e9, 1e9))
        self.features = hidden_size * (2 if bidirectional else 1)

    def encode(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, T, F)`` floats or ``(B, T)`` ids -> LSTM outputs ``(B, T, H * directions)``."""
        outputs, _ = self.lstm(self.embed(inputs))  # (B, T, H*D)
        return outputs


class OneToOneLSTM(_LSTMModel):
    """An LSTM that predicts a target at every input step (``one_to_one`` framings).

    With ``bidirectional=True`` each step's prediction also sees the steps after it.
    """

    framings = ("one_to_one",)

    def __init__(self, spec: TaskSpec | dict[str, Any], **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.head = nn.Linear(self.features, self.outputs_per_target)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = self.encode(inputs)  # (B, T, H*D)
        return self.shape_output(self.head(outputs))  # (B, T, C) or (B, T)


class ManyToOneLSTM(_LSTMModel):
    """An LSTM that predicts after the last step (``many_to_one`` framings).

    A vector target of K values (e.g. the whole echoed sequence) gets K groups of outputs from the
    last step's features. With ``bidirectional=True`` the backward direction's summary of the whole
    sequence (its output at step 0) joins the forward direction's last output.
    """

    framings = ("many_to_one",)

    def __init__(self, spec: TaskSpec | dict[str, Any], **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.head = nn.Linear(self.features, self.spec.target_length * self.outputs_per_target)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = self.encode(inputs)  # (B, T, H*D)
        hidden = self.lstm.hidden_size
        last = outputs[:, -1, :hidden]  # (B, H): forward direction after the last step
        if self.lstm.bidirectional:
            last = torch.cat([last, outputs[:, 0, hidden:]], dim=-1)  # (B, 2H)
        return self.shape_output(self.head(last))  # (B, [K,] C) or (B, [K])
