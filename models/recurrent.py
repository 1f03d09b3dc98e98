"""Recurrent models (LSTM, GRU, tanh RNN) with a prediction at every step or after the last step."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from seqtasks import TaskSpec
from seqtasks._validate import check_bool, check_float
from seqtasks.models.base import EMBEDDING_SIZE, SequenceModel, check_sizes
from seqtasks.models.init import check_init, initialise
from seqtasks.models.recurrent_lookup import lookup_recurrence, lookup_symbols

CELLS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
DEFAULT_INIT = {"lstm": "chrono", "gru": "chrono", "rnn": "pytorch"}  # chosen by measurement


def recurrent_layer(cell: str, input_size: int, hidden_size: int, **options: Any) -> nn.RNNBase:
    """``nn.LSTM``, ``nn.GRU`` or ``nn.RNN`` (tanh), batch first."""
    return CELLS[cell](input_size, hidden_size, batch_first=True, **options)


def check_dropout(dropout: Any, num_layers: int) -> float:
    """Dropout between stacked layers (torch's ``nn.LSTM`` ``dropout``): a fraction in
    ``[0, 1)``, refused above 0 with one layer, which has no layer after it to drop into."""
    dropout = check_float("dropout", dropout, 0.0, 1.0, from_low=True)
    if dropout > 0 and num_layers == 1:
        raise ValueError(
            f"dropout={dropout} acts between stacked layers, and num_layers=1 has none: allowed "
            "dropout=0 with one layer, or num_layers >= 2"
        )
    return dropout


def recurrent_state_size(layer: nn.RNNBase) -> int:
    """Floats a recurrent layer carries per sequence: h, and c for an LSTM, of every layer."""
    per_layer = layer.hidden_size * (2 if isinstance(layer, nn.LSTM) else 1)
    return per_layer * layer.num_layers * (2 if layer.bidirectional else 1)


class RecurrentModel(SequenceModel):
    """Shared options of the recurrent models and their initialisation.

    ``init`` is ``pytorch``, ``forget_bias`` (with ``forget_bias``, default 1.0) or ``chrono`` (with
    ``t_max``, default the problem's input length); ``None`` takes the cell's default
    (:data:`DEFAULT_INIT`). See :mod:`seqtasks.models.init` for the formulas and which biases are
    set.
    The initial state is zeros (PyTorch's default), never random.
    """

    cell: ClassVar[str]

    def setup_init(
        self, init: str | None, forget_bias: float | None, t_max: int | None
    ) -> tuple[str, float | None, int]:
        """Checked (init, forget_bias, t_max) for this model's cell and problem."""
        init = DEFAULT_INIT[self.cell] if init is None else init
        init, forget_bias, t_max = check_init(self.cell, init, forget_bias, t_max)
        return init, forget_bias, t_max or max(self.spec.input_length, 2)


class _StepRecurrent(RecurrentModel):
    """Optional embedding, a (stacked, optionally bidirectional) recurrent layer, a linear head."""

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        embedding_size: int = EMBEDDING_SIZE,
        init: str | None = None,
        forget_bias: float | None = None,
        t_max: int | None = None,
        lr: float = 0.01,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        check_sizes(hidden_size=hidden_size, num_layers=num_layers, embedding_size=embedding_size)
        check_dropout(dropout, num_layers)
        bidirectional = check_bool("bidirectional", bidirectional)
        init_options = self.setup_init(init, forget_bias, t_max)
        self.save_hyperparameters()
        self.embed, input_size = self.input_layer(embedding_size)
        self.rnn = recurrent_layer(
            self.cell,
            input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout,
        )
        initialise(self.rnn, *init_options)
        self.features = hidden_size * (2 if bidirectional else 1)
        self.head = self.build_head()

    def build_head(self) -> nn.Module:
        """The output layer from ``self.features``, for the framing."""
        raise NotImplementedError

    @property
    def state_size(self) -> int:
        """Floats carried per sequence: h (and the LSTM's c) of every layer and direction."""
        return recurrent_state_size(self.rnn)

    def encode(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, T, F)`` floats or ``(B, T)`` ids -> outputs ``(B, T, H * directions)``.

        One-hot inputs of a vocabulary at least 3x the hidden size run through
        :func:`~seqtasks.models.recurrent_lookup.lookup_recurrence` on the CPU: the same values,
        the input projection by lookup (2-3x faster at 1,000 symbols)."""
        symbols = lookup_symbols(self.rnn, inputs) if self.spec.encoding == "onehot" else None
        if symbols is not None:
            return lookup_recurrence(self.rnn, symbols)  # (B, T, H)
        outputs, _ = self.rnn(self.embed(inputs))  # (B, T, H*D)
        return outputs


class OneToOneRecurrent(_StepRecurrent):
    """A recurrent network that predicts a target at every input step (``one_to_one``).

    With ``bidirectional=True`` each step's prediction also sees the steps after it.
    """

    framings = ("one_to_one",)

    def build_head(self) -> nn.Module:
        return nn.Linear(self.features, self.outputs_per_target)

    def step_readout(self, inputs: torch.Tensor) -> tuple[torch.Tensor, nn.Module]:
        return self.encode(inputs), self.head  # (B, T, H*D)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs, head = self.step_readout(inputs)  # (B, T, H*D)
        return self.shape_output(head(outputs))  # (B, T, C) or (B, T)


class ManyToOneRecurrent(_StepRecurrent):
    """A recurrent network that predicts after the last step (``many_to_one``).

    A vector target of K values (e.g. the whole echoed sequence) gets K groups of outputs from the
    last step's features. With ``bidirectional=True`` the backward direction's summary of the whole
    sequence (its output at step 0) joins the forward direction's last output.
    """

    framings = ("many_to_one",)

    def build_head(self) -> nn.Module:
        return nn.Linear(self.features, self.spec.target_length * self.outputs_per_target)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = self.encode(inputs)  # (B, T, H*D)
        hidden = self.rnn.hidden_size
        last = outputs[:, -1, :hidden]  # (B, H): forward direction after the last step
        if self.rnn.bidirectional:
            last = torch.cat([last, outputs[:, 0, hidden:]], dim=-1)  # (B, 2H)
        return self.shape_output(self.head(last))  # (B, [K,] C) or (B, [K])


class OneToOneLSTM(OneToOneRecurrent):
    """:class:`OneToOneRecurrent` with an LSTM."""

    cell = "lstm"


class ManyToOneLSTM(ManyToOneRecurrent):
    """:class:`ManyToOneRecurrent` with an LSTM."""

    cell = "lstm"


class OneToOneGRU(OneToOneRecurrent):
    """:class:`OneToOneRecurrent` with a GRU."""

    cell = "gru"


class ManyToOneGRU(ManyToOneRecurrent):
    """:class:`ManyToOneRecurrent` with a GRU."""

    cell = "gru"


class OneToOneRNN(OneToOneRecurrent):
    """:class:`OneToOneRecurrent` with a tanh RNN (Elman)."""

    cell = "rnn"


class ManyToOneRNN(ManyToOneRecurrent):
    """:class:`ManyToOneRecurrent` with a tanh RNN (Elman)."""

    cell = "rnn"
