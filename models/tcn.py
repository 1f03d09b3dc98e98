"""Temporal convolutional network (Bai, Kolter & Koltun 2018, "An Empirical Evaluation of Generic
Convolutional and Recurrent Networks for Sequence Modeling", arXiv:1803.01271).

A stack of ``num_levels`` residual blocks. Block i holds two causal dilated 1-D convolutions
(kernel ``kernel_size``, dilation ``2**i``), each followed by ReLU and dropout, with weight
normalisation on the convolutions (the paper's choice, ``weight_norm``); the block's input is added
back (through a 1x1 convolution where the channel count changes) before a final ReLU. Causal: each
convolution pads ``(kernel_size - 1) * dilation`` zeros on the left only, so output t sees inputs
<= t. The receptive field is ``1 + 2 * (kernel_size - 1) * (2**num_levels - 1)`` steps;
``num_levels=None`` takes the fewest levels whose receptive field covers the input length.

Initialisation (``init``): ``INIT_DOC`` below; the default was chosen by measurement on the
leaderboard's first sizes (``python -m seqtasks.benchmarks.inits --model tcn``, the README's
"Initialisation of the TCN"). ``locuslab`` is the authors' code (locuslab/TCN) as it runs: the
paper says N(0, 0.01), and the code writes N(0, 0.01) into every convolution's ``weight``; but
under ``weight_norm`` that tensor is recomputed from ``g`` and ``v`` before the first forward, so
weight-normalised convolutions keep PyTorch's default draw (``v``, and ``g = |v|``), and only
the 1x1 residual convolutions and the linear head really start at N(0, 0.01). Measured on copy
memory at T=1000 (2 seeds): with N(0, 0.01) under weight normalisation the training loss was
0.022-0.024 after 550 steps, still above the memoryless 0.0204.

Example: onehot copy memory at T=1000 (1,020 steps, 10 input features), ``channels=10``,
``kernel_size=8``, ``num_levels=8`` (Bai et al.'s copy-memory network): inputs ``(B, 1020, 10)``
-> transposed ``(B, 10, 1020)`` -> 8 blocks ``(B, 10, 1020)`` -> ``(B, 1020, 10)`` -> head
``(B, 1020, 10)`` logits; receptive field 1 + 2 * 7 * 255 = 3,571 steps.

State size (the floats a streaming TCN keeps per sequence): each convolution's last
``(kernel_size - 1) * dilation`` inputs (at most ``T - 1``), times its input channels.
Our own code (written from the paper); locuslab/TCN was read for the initialisation only.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm as apply_weight_norm

from seqtasks import TaskSpec
from seqtasks._validate import check_bool, check_choice, check_float, check_int
from seqtasks.models.base import EMBEDDING_SIZE, check_sizes
from seqtasks.models.optim import parameter_groups
from seqtasks.models.stack import CausalStack

MAX_LEVELS = 30
OPTIMIZERS = ("adamw", "rmsprop")  # rmsprop: Bai et al.'s choice for copy memory
INIT_DOC = {
    "he": "He (Kaiming) normal for every convolution (ReLU gain; the 1x1 residual ones linear), "
    "zero convolution biases, PyTorch's draw for the head",
    "pytorch": "PyTorch's default draw for every layer",
    "locuslab": "the authors' code: PyTorch's draw for weight-normalised convolutions, "
    "N(0, 0.01) for the others, the 1x1 residual ones and the head",
}
INITS = tuple(INIT_DOC)


def receptive_field(kernel_size: int, num_levels: int) -> int:
    """Input steps an output of the stack sees: ``1 + 2 (k - 1)(2^L - 1)``."""
    return 1 + 2 * (kernel_size - 1) * (2**num_levels - 1)


def levels_for(length: int, kernel_size: int) -> int:
    """The fewest levels whose receptive field covers ``length`` steps (at least 1)."""
    levels = 1
    while receptive_field(kernel_size, levels) < length:
        levels += 1
    return levels


class CausalConv(nn.Module):
    """A dilated 1-D convolution padded on the left only: output t sees inputs t - (k-1)d .. t."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, dilation: int,
                 weight_norm: bool, init: str) -> None:  # fmt: skip
        super().__init__()
        self.pad = (kernel - 1) * dilation
        conv = nn.Conv1d(channels_in, channels_out, kernel, dilation=dilation)
        if init == "he":
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        elif init == "locuslab" and not weight_norm:  # weight-normalised: PyTorch's draw
            nn.init.normal_(conv.weight, 0.0, 0.01)
        self.conv = apply_weight_norm(conv) if weight_norm else conv  # g = |w|, v = w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (self.pad, 0)))  # (B, C_in, T) -> (B, C_out, T)


class TemporalBlock(nn.Module):
    """Two causal convolutions with ReLU and dropout, plus a residual connection."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, dilation: int,
                 dropout: float, weight_norm: bool, init: str) -> None:  # fmt: skip
        super().__init__()
        self.conv1 = CausalConv(channels_in, channels_out, kernel, dilation, weight_norm, init)
        self.conv2 = CausalConv(channels_out, channels_out, kernel, dilation, weight_norm, init)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv1d(channels_in, channels_out, 1) if channels_in != channels_out else None
        if self.skip is not None and init == "he":
            nn.init.kaiming_normal_(self.skip.weight, nonlinearity="linear")
            nn.init.zeros_(self.skip.bias)
        elif self.skip is not None and init == "locuslab":
            nn.init.normal_(self.skip.weight, 0.0, 0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dropout(torch.relu(self.conv1(x)))  # (B, C_out, T)
        h = self.dropout(torch.relu(self.conv2(h)))  # (B, C_out, T)
        residual = x if self.skip is None else self.skip(x)  # (B, C_out, T)
        return torch.relu(h + residual)  # (B, C_out, T)


class TCN(CausalStack):
    """The TCN of the problem's framing (``one_to_one`` or ``many_to_one``); see the module doc."""

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        channels: int = 48,
        kernel_size: int = 3,
        num_levels: int | None = None,
        dropout: float = 0.0,
        weight_norm: bool = True,
        embedding_size: int = EMBEDDING_SIZE,
        optimizer: str = "adamw",
        init: str = "he",
        lr: float = 3e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        check_sizes(channels=channels, embedding_size=embedding_size)
        check_int("kernel_size", kernel_size, 2)
        if num_levels is not None:
            check_int("num_levels", num_levels, 1, MAX_LEVELS)
        check_float("dropout", dropout, 0.0, 1.0, from_low=True)
        check_bool("weight_norm", weight_norm)
        check_choice("optimizer", optimizer, OPTIMIZERS, "model=tcn")
        check_choice("init", init, INITS, "model=tcn")
        self.save_hyperparameters()
        self.num_levels = num_levels or levels_for(self.spec.input_length, kernel_size)
        self.embed, features = self.input_layer(embedding_size)  # Identity for floats (paper)
        blocks = []
        for level in range(self.num_levels):
            blocks.append(TemporalBlock(features, channels, kernel_size, 2**level, dropout,
                                        weight_norm, init))  # fmt: skip
            features = channels
        self.blocks = nn.Sequential(*blocks)
        self.build_head(channels)
        if init == "locuslab":
            nn.init.normal_(self.head.weight, 0.0, 0.01)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        if self.hparams.optimizer == "rmsprop":
            groups = parameter_groups(self, self.weight_decay)  # decay on matrices alone
            return torch.optim.RMSprop(groups, lr=self.lr, weight_decay=self.weight_decay)
        return super().configure_optimizers()

    @property
    def receptive_field(self) -> int:
        return receptive_field(self.hparams.kernel_size, self.num_levels)

    @property
    def state_size(self) -> int:
        longest = max(self.spec.input_length - 1, 0)
        total = 0
        for block in self.blocks:
            for conv in (block.conv1, block.conv2):
                channels_in = conv.conv.in_channels
                total += min(conv.pad, longest) * channels_in
        return total

    def backbone(self, features: torch.Tensor) -> torch.Tensor:
        x = features.transpose(1, 2)  # (B, F, T): channels first for Conv1d
        x = self.blocks(x)  # (B, C, T)
        return x.transpose(1, 2)  # (B, T, C)
