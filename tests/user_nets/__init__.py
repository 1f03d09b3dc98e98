"""Small user-defined networks, importable by dotted path as a user's own package would be."""

from __future__ import annotations

import torch
from torch import nn

from seqtasks import TaskSpec


class TinyGRU(nn.Module):
    """A user's network that meets the contract for one_to_one / many_to_one problems."""

    def __init__(self, spec: TaskSpec, width: int = 16) -> None:
        super().__init__()
        self.spec = spec
        inputs = spec.input_size
        self.embed = nn.Embedding(spec.vocab_size, inputs) if spec.encoding == "index" else None
        self.gru = nn.GRU(inputs, width, batch_first=True)
        per_target = spec.num_classes if spec.target == "classes" else 1
        last = spec.target_layout != "per_step"
        self.head = nn.Linear(width, per_target * (spec.target_length if last else 1))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.embed(inputs) if self.embed is not None else inputs  # (B, T, F)
        outputs, _ = self.gru(x)  # (B, T, W)
        batch = inputs.shape[0]
        if self.spec.target_layout == "per_step":
            out = self.head(outputs)  # (B, T, C or 1)
            shape = (batch, outputs.shape[1])
        else:
            out = self.head(outputs[:, -1])  # (B, K*C or K)
            shape = (batch, *self.spec.target_shape)
        if self.spec.target == "classes":
            return out.reshape(*shape, self.spec.num_classes)
        return out.reshape(shape)


class WrongShape(nn.Module):
    """Returns one value per sample whatever the problem wants."""

    def __init__(self, spec: TaskSpec) -> None:
        super().__init__()
        self.linear = nn.Linear(spec.input_size, 1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.linear(inputs[:, -1])  # (B, 1)


class NoSpec(nn.Module):
    """Refuses the ``spec=`` argument the harness passes."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.width = width
