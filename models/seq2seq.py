"""Encoder-decoder LSTM for targets that are sequences of their own length."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from models.base import SequenceModel, check_sizes
from models.lstm import init_forget_bias
from seqtasks import TaskSpec
from seqtasks._validate import check_float


class Seq2SeqLSTM(SequenceModel):
    """An encoder LSTM reads the input; its final state starts a decoder LSTM that emits K symbols.

    The decoder's input at step k is the symbol emitted at step k-1 (a start symbol, id
    ``num_classes``, at step 0). Training feeds the true previous symbol (teacher forcing);
    ``forward`` — used for validation, test and prediction — feeds back its own greedy choice, so
    what is scored is free-running decoding.
    """

    framings = ("seq2seq",)

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        embedding_size: int = 32,
        forget_bias: float | None = None,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        check_sizes(hidden_size=hidden_size, num_layers=num_layers, embedding_size=embedding_size)
        if not self.classes:
            raise ValueError(f"Seq2SeqLSTM needs class targets; {self.spec.name} has reals")
        self.save_hyperparameters()
        self.embed, input_size = self.input_layer(embedding_size)
        dropout = dropout if num_layers > 1 else 0.0
        self.encoder = nn.LSTM(
            input_size, hidden_size, num_layers, batch_first=True, dropout=dropout
        )
        self.start_symbol = self.spec.num_classes
        self.target_embed = nn.Embedding(self.spec.num_classes + 1, embedding_size)
        self.decoder = nn.LSTM(
            embedding_size, hidden_size, num_layers, batch_first=True, dropout=dropout
        )
        self.head = nn.Linear(hidden_size, self.spec.num_classes)
        if forget_bias is not None:
            for lstm in (self.encoder, self.decoder):
                init_forget_bias(lstm, check_float("forget_bias", forget_bias, -1e9, 1e9))

    def _start(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.full((inputs.shape[0], 1), self.start_symbol, device=inputs.device)  # (B, 1)

    def forward_train(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``(B, K, C)``."""
        _, state = self.encoder(self.embed(inputs))  # state: 2 x (layers, B, H)
        previous = torch.cat([self._start(inputs), targets[:, :-1]], dim=1)  # (B, K)
        outputs, _ = self.decoder(self.target_embed(previous), state)  # (B, K, H)
        return self.head(outputs)  # (B, K, C)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Free-running greedy decoding: logits ``(B, K, C)``."""
        _, state = self.encoder(self.embed(inputs))  # 2 x (layers, B, H)
        symbol = self._start(inputs)  # (B, 1)
        steps = []
        for _ in range(self.spec.target_length):
            output, state = self.decoder(self.target_embed(symbol), state)  # (B, 1, H)
            logits = self.head(output)  # (B, 1, C)
            steps.append(logits)
            symbol = logits.argmax(dim=-1)  # (B, 1)
        return torch.cat(steps, dim=1)  # (B, K, C)
