"""Encoder-decoder recurrent models for targets that are sequences of their own length."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seqtasks import TaskSpec
from seqtasks.models.base import EMBEDDING_SIZE, SequenceModel, check_sizes
from seqtasks.models.init import initialise
from seqtasks.models.recurrent import (
    RecurrentModel,
    check_dropout,
    recurrent_layer,
    recurrent_state_size,
)


class Seq2SeqDecoding(SequenceModel):
    """The decoding protocol every encoder-decoder shares: a start symbol, then greedy feedback.

    The decoder's input at step k is the symbol emitted at step k-1 (a start symbol, id
    ``num_classes``, at step 0). Training feeds the true previous symbol (teacher forcing);
    ``forward`` — used for validation, test and prediction — feeds back its own greedy choice, so
    what is scored is free-running decoding.
    """

    framings = ("seq2seq",)

    def check_classes(self) -> None:
        if not self.classes:
            raise ValueError(
                f"{type(self).__name__} needs class targets; {self.spec.name} has reals"
            )

    @property
    def start_symbol(self) -> int:
        return self.spec.num_classes

    def start(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.full((inputs.shape[0], 1), self.start_symbol, device=inputs.device)  # (B, 1)

    def teacher_inputs(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Teacher-forced decoder inputs ``(B, K)``: start symbol, then targets but the last."""
        return torch.cat([self.start(inputs), targets[:, :-1]], dim=1)  # (B, K)


class Seq2SeqRecurrent(Seq2SeqDecoding, RecurrentModel):
    """An encoder reads the input; its final state starts a decoder that emits K symbols.

    Encoder and decoder are the same kind of cell (``cell``) and get the same initialisation
    (``init``, with ``t_max`` the problem's input length unless given).
    """

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        hidden_size: int = 128,
        num_layers: int = 1,
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
        self.check_classes()
        init_options = self.setup_init(init, forget_bias, t_max)
        self.save_hyperparameters()
        self.embed, input_size = self.input_layer(embedding_size, only_use=False)  # + targets'
        self.encoder = recurrent_layer(
            self.cell, input_size, hidden_size, num_layers=num_layers, dropout=dropout
        )
        self.target_embed = nn.Embedding(self.spec.num_classes + 1, embedding_size)
        self.decoder = recurrent_layer(
            self.cell, embedding_size, hidden_size, num_layers=num_layers, dropout=dropout
        )
        self.head = nn.Linear(hidden_size, self.spec.num_classes)
        for layer in (self.encoder, self.decoder):
            initialise(layer, *init_options)

    @property
    def state_size(self) -> int:
        """Floats carried per sequence: the encoder's state, handed on to the decoder."""
        return recurrent_state_size(self.encoder)

    def forward_train(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``(B, K, C)``."""
        _, state = self.encoder(self.embed(inputs))  # state: (layers, B, H), a pair for LSTMs
        previous = self.teacher_inputs(inputs, targets)  # (B, K)
        outputs, _ = self.decoder(self.target_embed(previous), state)  # (B, K, H)
        return self.head(outputs)  # (B, K, C)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Free-running greedy decoding: logits ``(B, K, C)``."""
        _, state = self.encoder(self.embed(inputs))  # (layers, B, H), a pair for LSTMs
        symbol = self.start(inputs)  # (B, 1)
        steps = []
        for _ in range(self.spec.target_length):
            output, state = self.decoder(self.target_embed(symbol), state)  # (B, 1, H)
            logits = self.head(output)  # (B, 1, C)
            steps.append(logits)
            symbol = logits.argmax(dim=-1)  # (B, 1)
        return torch.cat(steps, dim=1)  # (B, K, C)


class Seq2SeqLSTM(Seq2SeqRecurrent):
    """:class:`Seq2SeqRecurrent` with LSTMs."""

    cell = "lstm"


class Seq2SeqGRU(Seq2SeqRecurrent):
    """:class:`Seq2SeqRecurrent` with GRUs."""

    cell = "gru"


class Seq2SeqRNN(Seq2SeqRecurrent):
    """:class:`Seq2SeqRecurrent` with tanh RNNs."""

    cell = "rnn"
