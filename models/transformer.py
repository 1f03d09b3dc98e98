"""Transformers: a causal (decoder-only) one for per-step and last-step targets, and an
encoder-decoder for target sequences decoded with the same free-running protocol as the LSTMs.

Position encoding (``position``):

- ``sinusoidal`` (the default): the fixed sines and cosines of Vaswani et al. (2017),
  ``PE[t, 2i] = sin(t / 10000^(2i/d))``, ``PE[t, 2i+1] = cos(t / 10000^(2i/d))``, added to the
  input projection. Computed for whatever length arrives, so a model trained at one length runs at
  any other (this project scores length generalisation), with no parameters to outgrow.
- ``learned``: a trained table of ``max_positions`` vectors (GPT-2's choice); longer inputs are
  refused with a message, and positions never seen in training keep their random start.
- ``none``: no position signal (NoPE). The causal mask alone lets a decoder-only stack infer
  positions; the bidirectional encoder of :class:`Seq2SeqTransformer` then sees a bag of symbols.

Layers are PyTorch's, pre-LayerNorm (``norm_first=True``) with a final LayerNorm, batch first.
Inputs are ``(B, T, F)`` floats (onehot, scaled or real encodings; a Linear projects them to
``d_model``) or ``(B, T)`` int64 ids (``index`` encoding; an Embedding).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seqtasks import TaskSpec
from seqtasks._validate import check_choice, check_float
from seqtasks.models.base import SequenceModel, check_sizes
from seqtasks.models.seq2seq import Seq2SeqDecoding

POSITIONS = ("sinusoidal", "learned", "none")
MAX_POSITIONS = 1024  # the default length of the position=learned table


def sinusoids(length: int, d_model: int, device: torch.device | None = None) -> torch.Tensor:
    """The sinusoidal position table ``(length, d_model)``; an odd ``d_model`` ends with a sine."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]  # (T, 1)
    rates = torch.exp(
        torch.arange(0, d_model, 2, device=device, dtype=torch.float32)
        * (-math.log(10000.0) / d_model)
    )  # (ceil(D/2),)
    angles = position * rates  # (T, ceil(D/2))
    table = torch.zeros(length, d_model, device=device)  # (T, D)
    table[:, 0::2] = torch.sin(angles)  # (T, ceil(D/2))
    table[:, 1::2] = torch.cos(angles[:, : d_model // 2])  # (T, floor(D/2))
    return table


def gelu(x: torch.Tensor) -> torch.Tensor:
    """``F.gelu`` under a name of its own. PyTorch's encoder layer takes its inference fast path
    only for ``F.gelu`` itself (and ReLU); with a mask that path computes the whole ``T x T``
    masked softmax, several times slower on the CPU than the causal attention kernel training
    runs (README, "Models"). With this one, validation runs the layers as training does."""
    return F.gelu(x)


def causal_mask(length: int, device: torch.device) -> torch.Tensor:
    """Additive mask ``(T, T)``: step t attends to steps <= t (``-inf`` above the diagonal)."""
    return nn.Transformer.generate_square_subsequent_mask(length, device=device)


def encoder_stack(layer_options: dict[str, Any], num_layers: int) -> nn.TransformerEncoder:
    """``num_layers`` encoder layers and a final LayerNorm (pre-LN stacks need one)."""
    return nn.TransformerEncoder(
        nn.TransformerEncoderLayer(**layer_options),
        num_layers,
        norm=nn.LayerNorm(layer_options["d_model"]),
        enable_nested_tensor=False,  # unused with norm_first; avoids PyTorch's warning about it
    )


class PositionEncoding(nn.Module):
    """Adds a position signal to ``(B, T, D)`` features; see the module docstring for the kinds."""

    def __init__(self, kind: str, d_model: int, max_positions: int, longest: int = 0) -> None:
        """``longest``: the most steps the problem gives it, refused now if the table is shorter."""
        super().__init__()
        if kind == "learned" and longest > max_positions:
            raise ValueError(
                f"position=learned has max_positions={max_positions} positions, but the problem "
                f"has {longest} steps: raise max_positions or use position=sinusoidal"
            )
        if kind != "learned" and max_positions != MAX_POSITIONS:
            raise ValueError(
                f"max_positions={max_positions} sizes the table of position=learned, but "
                f"position={kind!r}: leave max_positions at {MAX_POSITIONS} or use position=learned"
            )
        self.kind, self.d_model, self.max_positions = kind, d_model, max_positions
        self.table = nn.Embedding(max_positions, d_model) if kind == "learned" else None

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        length = features.shape[1]
        if self.kind == "none":
            return features  # (B, T, D)
        if self.table is None:
            table = sinusoids(length, self.d_model, features.device)  # (T, D)
        else:
            if length > self.max_positions:
                raise ValueError(
                    f"position=learned has max_positions={self.max_positions} positions, but the "
                    f"input has {length} steps: raise max_positions or use position=sinusoidal"
                )
            table = self.table.weight[:length]  # (T, D)
        return features + table.to(features.dtype)  # (B, T, D)


class TransformerModel(SequenceModel):
    """Options, input layer and position encoding shared by the Transformers."""

    def setup_transformer(
        self,
        d_model: int,
        num_heads: int,
        num_layers: int,
        dim_feedforward: int,
        dropout: float,
        position: str,
        max_positions: int,
    ) -> None:
        """Check the options; build ``embed`` (inputs -> ``(B, T, d_model)``) and ``positions``."""
        check_sizes(
            d_model=d_model, num_heads=num_heads, num_layers=num_layers,
            dim_feedforward=dim_feedforward, max_positions=max_positions,
        )  # fmt: skip
        if d_model % num_heads:
            raise ValueError(
                f"d_model={d_model} is not divisible by num_heads={num_heads}: each head gets "
                f"d_model / num_heads features; choose num_heads among the divisors of {d_model}"
            )
        check_float("dropout", dropout, 0.0, 1.0, from_low=True)
        check_choice("position", position, POSITIONS, type(self).__name__)
        if self.spec.encoding == "index":
            self.embed: nn.Module = nn.Embedding(self.spec.vocab_size, d_model)
        else:
            self.embed = nn.Linear(self.spec.input_size, d_model)
        longest = self.spec.input_length  # and a decoder's targets (many_to_one's have no steps)
        if self.spec.framing == "seq2seq":
            longest = max(longest, self.spec.target_length)
        self.positions = PositionEncoding(position, d_model, max_positions, longest)
        self.layer_options = dict(
            d_model=d_model, nhead=num_heads, dim_feedforward=dim_feedforward, dropout=dropout,
            activation=gelu, batch_first=True, norm_first=True,
        )  # fmt: skip
        self.dropout = nn.Dropout(dropout)

    def embed_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, T, F)`` floats or ``(B, T)`` ids -> position-encoded features ``(B, T, D)``."""
        return self.dropout(self.positions(self.embed(inputs)))  # (B, T, D)


class CausalTransformer(TransformerModel):
    """A decoder-only Transformer: step t attends to steps <= t through a causal mask.

    ``one_to_one``: the prediction at step t comes from step t's output, so it sees only the
    inputs up to t. ``many_to_one``: the last step's output (which sees every step) gives the K
    values of the target, like :class:`~seqtasks.models.recurrent.ManyToOneRecurrent`'s head.
    """

    framings = ("one_to_one", "many_to_one")

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 256,
        dropout: float = 0.0,
        position: str = "sinusoidal",
        max_positions: int = MAX_POSITIONS,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        self.setup_transformer(
            d_model, num_heads, num_layers, dim_feedforward, dropout, position, max_positions
        )
        self.save_hyperparameters()
        self.blocks = encoder_stack(self.layer_options, num_layers)
        per_step = self.spec.framing == "one_to_one"
        outputs = 1 if per_step else self.spec.target_length
        self.head = nn.Linear(d_model, outputs * self.outputs_per_target)

    @property
    def state_size(self) -> int:
        """Floats carried per sequence: the key-value cache of every layer at the input length."""
        return 2 * self.hparams.num_layers * self.hparams.d_model * self.spec.input_length

    def encode(self, inputs: torch.Tensor) -> torch.Tensor:
        """Causal features ``(B, T, D)``: row t depends on input steps <= t only."""
        features = self.embed_inputs(inputs)  # (B, T, D)
        mask = causal_mask(features.shape[1], features.device)  # (T, T)
        return self.blocks(features, mask=mask, is_causal=True)  # (B, T, D)

    def step_readout(self, inputs: torch.Tensor) -> tuple[torch.Tensor, nn.Module] | None:
        if self.spec.framing != "one_to_one":
            return None
        return self.encode(inputs), self.head  # (B, T, D)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        features = self.encode(inputs)  # (B, T, D)
        if self.spec.framing == "one_to_one":
            return self.shape_output(self.head(features))  # (B, T, C) or (B, T)
        return self.shape_output(self.head(features[:, -1]))  # (B, [K,] C) or (B, [K])


class Seq2SeqTransformer(Seq2SeqDecoding, TransformerModel):
    """An encoder-decoder Transformer for target sequences (``seq2seq``), class targets only.

    The encoder attends over all input steps; the decoder attends causally to its own inputs —
    a start symbol (id ``num_classes``), then the previous target symbols — and to the encoder's
    output. Training is teacher-forced in one pass (:meth:`forward_train`); :meth:`forward` decodes
    greedily, feeding back its own choices, exactly as
    :class:`~seqtasks.models.seq2seq.Seq2SeqLSTM` does.
    ``num_layers`` layers each in encoder and decoder; the decoder's positions are encoded as the
    encoder's.
    """

    def __init__(
        self,
        spec: TaskSpec | dict[str, Any],
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 256,
        dropout: float = 0.0,
        position: str = "sinusoidal",
        max_positions: int = MAX_POSITIONS,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(spec, lr=lr, weight_decay=weight_decay)
        self.check_classes()
        self.setup_transformer(
            d_model, num_heads, num_layers, dim_feedforward, dropout, position, max_positions
        )
        self.save_hyperparameters()
        self.target_embed = nn.Embedding(self.spec.num_classes + 1, d_model)  # + start symbol
        self.encoder = encoder_stack(self.layer_options, num_layers)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(**self.layer_options), num_layers, norm=nn.LayerNorm(d_model)
        )
        self.head = nn.Linear(d_model, self.spec.num_classes)

    @property
    def state_size(self) -> int:
        """Floats carried per sequence: every decoder layer's keys and values of the encoder's T
        outputs, and its self-attention cache of the K target steps."""
        steps = self.spec.input_length + self.spec.target_length
        return 2 * self.hparams.num_layers * self.hparams.d_model * steps

    def memory(self, inputs: torch.Tensor) -> torch.Tensor:
        """Encoder output ``(B, T, D)``."""
        return self.encoder(self.embed_inputs(inputs))  # (B, T, D)

    def decode(self, previous: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, k, C)`` for decoder inputs ``previous`` ``(B, k)`` under a causal mask."""
        features = self.dropout(self.positions(self.target_embed(previous)))  # (B, k, D)
        mask = causal_mask(previous.shape[1], previous.device)  # (k, k)
        outputs = self.decoder(features, memory, tgt_mask=mask, tgt_is_causal=True)  # (B, k, D)
        return self.head(outputs)  # (B, k, C)

    def forward_train(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``(B, K, C)``."""
        previous = self.teacher_inputs(inputs, targets)  # (B, K)
        return self.decode(previous, self.memory(inputs))  # (B, K, C)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Free-running greedy decoding: logits ``(B, K, C)``."""
        memory = self.memory(inputs)  # (B, T, D)
        previous = self.start(inputs)  # (B, 1)
        steps = []
        for _ in range(self.spec.target_length):
            logits = self.decode(previous, memory)[:, -1:]  # (B, 1, C): the newest step
            steps.append(logits)
            previous = torch.cat([previous, logits.argmax(dim=-1)], dim=1)  # (B, k+1)
        return torch.cat(steps, dim=1)  # (B, K, C)
