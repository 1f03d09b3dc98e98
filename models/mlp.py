"""Multilayer perceptron baselines: no memory of past steps, or the whole window at once."""

from __future__ import annotations

import itertools
from typing import Any

import torch
from torch import nn

from seqtasks import TaskSpec
from seqtasks.models.base import EMBEDDING_SIZE, SequenceModel, check_sizes


def _perceptron(inputs: int, hidden: int, layers: int, outputs: int) -> nn.Sequential:
    sizes = [inputs] + [hidden] * layers
    blocks: list[nn.Module] = []
    for size_in, size_out in itertools.pairwise(sizes):
        blocks += [nn.Linear(size_in, size_out), nn.ReLU()]
    return nn.Sequential(*blocks, nn.Linear(sizes[-1], outputs))


class StepMLP(SequenceModel):
    """An MLP that sees one time step at a time and carries nothing between steps.

    ``one_to_one``: the prediction at step t comes from input t alone. ``many_to_one``: the
    prediction (all K values of a vector target) comes from the last input alone. This is the
    memoryless baseline behind "an MLP can / cannot learn this".
    """

    framings = ("one_to_one", "many_to_one")

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        hidden_size: int = 64,
        num_layers: int = 2,
        embedding_size: int = EMBEDDING_SIZE,
        lr: float = 0.01,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        check_sizes(hidden_size=hidden_size, num_layers=num_layers, embedding_size=embedding_size)
        self.save_hyperparameters()
        self.embed, input_size = self.input_layer(embedding_size)
        per_step = self.spec.target_layout == "per_step"
        outputs = self.outputs_per_target * (1 if per_step else self.spec.target_length)
        self.mlp = _perceptron(input_size, hidden_size, num_layers, outputs)

    @property
    def state_size(self) -> int:
        """Nothing is carried between steps."""
        return 0

    def step_readout(self, inputs: torch.Tensor) -> tuple[torch.Tensor, nn.Module] | None:
        if self.spec.target_layout != "per_step":
            return None
        return self.mlp[:-1](self.embed(inputs)), self.mlp[-1]  # (B, T, H), the output layer

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        steps = self.embed(inputs)  # (B, T, F)
        if self.spec.target_layout == "per_step":
            return self.shape_output(self.mlp(steps))  # (B, T, C) or (B, T)
        return self.shape_output(self.mlp(steps[:, -1]))  # (B, [K,] C) or (B, [K])


class WindowMLP(SequenceModel):
    """An MLP that sees the whole input window flattened into one vector, for every framing.

    It has no recurrence, but every output sees every input step, so it can learn problems whose
    difficulty is only "which step to look at" when the length is fixed.
    """

    framings = ("one_to_one", "many_to_one", "seq2seq")

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        hidden_size: int = 256,
        num_layers: int = 2,
        embedding_size: int = EMBEDDING_SIZE,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        check_sizes(hidden_size=hidden_size, num_layers=num_layers, embedding_size=embedding_size)
        self.save_hyperparameters()
        self.embed, input_size = self.input_layer(embedding_size)
        outputs = self.outputs_per_target * self.spec.target_length
        self.mlp = _perceptron(
            input_size * self.spec.input_length, hidden_size, num_layers, outputs
        )

    @property
    def state_size(self) -> int:
        """Floats carried per sequence: the (embedded) input window it reads at the end."""
        return self.mlp[0].in_features

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        window = self.embed(inputs).flatten(start_dim=1)  # (B, T*F)
        return self.shape_output(self.mlp(window))  # (B, [K,] C) or (B, [K])
