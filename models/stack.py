"""What the causal sequence-mixing families share: the input layer, the head, the framings.

A family (``tcn``, ``mamba``, ``lru``, ...) subclasses :class:`CausalStack`, builds its layers in
``__init__`` and implements :meth:`CausalStack.backbone`, which maps ``(B, T, D)`` features to
``(B, T, D')`` features whose row t depends on input steps <= t only, and
:attr:`CausalStack.state_size`. The stack serves two framings:

- ``one_to_one``: a linear head on every step's features, ``(B, T, D') -> (B, T, C)``;
- ``many_to_one``: a linear head on the last step's features giving all K target values,
  ``(B, D') -> (B, K, C)`` (``(B, C)`` when K = 1), as the recurrent models' head does.

``seq2seq`` is refused by :func:`seqtasks.models.resolve` with the list of models that serve it.
Example: ``task=echo`` (onehot, 10 symbols, length 20), ``d_model=64``: inputs ``(B, 20, 10)``
-> :meth:`embed` ``(B, 20, 64)`` -> backbone ``(B, 20, 64)`` -> head on the last step ``(B, 10)``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seqtasks import TaskSpec
from seqtasks.models.base import SequenceModel


class CausalStack(SequenceModel):
    """Input projection (Linear for floats, Embedding for ids), a causal backbone, a linear head."""

    framings = ("one_to_one", "many_to_one")

    def __init__(self, spec: TaskSpec | dict[str, Any], lr: float, weight_decay: float) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        self.embed: nn.Module = nn.Identity()
        self.head: nn.Module = nn.Identity()

    def build_input(self, width: int) -> None:
        """``embed``: ``(B, T, F)`` floats -> ``(B, T, width)`` by a Linear, ``(B, T)`` ids by an
        Embedding."""
        if self.spec.encoding == "index":
            self.embed = nn.Embedding(self.spec.vocab_size, width)
        else:
            self.embed = nn.Linear(self.spec.input_size, width)

    def build_head(self, features: int) -> None:
        """``head``: per-step outputs (``one_to_one``) or the K target values from the last step."""
        per_step = self.spec.framing == "one_to_one"
        outputs = 1 if per_step else self.spec.target_length
        self.head = nn.Linear(features, outputs * self.outputs_per_target)

    def backbone(self, features: torch.Tensor) -> torch.Tensor:
        """Causal features ``(B, T, D) -> (B, T, D')``; every family implements it."""
        raise NotImplementedError(f"{type(self).__name__} must implement backbone()")

    def step_readout(self, inputs: torch.Tensor) -> tuple[torch.Tensor, nn.Module] | None:
        if self.spec.framing != "one_to_one":
            return None
        return self.backbone(self.embed(inputs)), self.head  # (B, T, D')

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.read_out(self.backbone(self.embed(inputs)))  # features (B, T, D')

    def read_out(self, features: torch.Tensor) -> torch.Tensor:
        """The head on every step's features (one_to_one) or on the last step's (many_to_one)."""
        if self.spec.framing == "one_to_one":
            return self.shape_output(self.head(features))  # (B, T, C) or (B, T)
        return self.shape_output(self.head(features[:, -1]))  # (B, [K,] C) or (B, [K])
