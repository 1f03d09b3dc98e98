"""LightningModules for the seqtasks problems, and the name -> model registry used by configs."""

from __future__ import annotations

from seqtasks import FRAMINGS
from seqtasks.models.base import SequenceModel
from seqtasks.models.custom import NetModel, wrap
from seqtasks.models.linear_attention import LinearTransformer
from seqtasks.models.lru import LRU
from seqtasks.models.mamba import Mamba
from seqtasks.models.mlp import StepMLP, WindowMLP
from seqtasks.models.recurrent import (
    ManyToOneGRU,
    ManyToOneLSTM,
    ManyToOneRNN,
    OneToOneGRU,
    OneToOneLSTM,
    OneToOneRNN,
)
from seqtasks.models.seq2seq import Seq2SeqGRU, Seq2SeqLSTM, Seq2SeqRNN
from seqtasks.models.tcn import TCN
from seqtasks.models.transformer import CausalTransformer, Seq2SeqTransformer
from seqtasks.models.xlstm import XLSTM

# config name -> the model of each framing it serves (``model=lstm`` picks by the problem)
FAMILIES: dict[str, dict[str, type[SequenceModel]]] = {
    "lstm": {"one_to_one": OneToOneLSTM, "many_to_one": ManyToOneLSTM, "seq2seq": Seq2SeqLSTM},
    "gru": {"one_to_one": OneToOneGRU, "many_to_one": ManyToOneGRU, "seq2seq": Seq2SeqGRU},
    "rnn": {"one_to_one": OneToOneRNN, "many_to_one": ManyToOneRNN, "seq2seq": Seq2SeqRNN},
    "transformer": {
        "one_to_one": CausalTransformer,
        "many_to_one": CausalTransformer,
        "seq2seq": Seq2SeqTransformer,
    },
    "mlp": {"one_to_one": StepMLP, "many_to_one": StepMLP},
    "tcn": {framing: TCN for framing in TCN.framings},
    "mamba": {framing: Mamba for framing in Mamba.framings},
    "lru": {framing: LRU for framing in LRU.framings},
    "linear_attention": {framing: LinearTransformer for framing in LinearTransformer.framings},
    "xlstm": {framing: XLSTM for framing in XLSTM.framings},
    "mlp_window": {framing: WindowMLP for framing in WindowMLP.framings},
    # one model for one framing, names kept from before the families
    "lstm_one_to_one": {"one_to_one": OneToOneLSTM},
    "lstm_many_to_one": {"many_to_one": ManyToOneLSTM},
    "seq2seq": {"seq2seq": Seq2SeqLSTM},
}
CUSTOM = "custom"  # model=custom: a user's nn.Module by `_target_`, wrapped in NetModel


def available() -> list[str]:
    """Every model config name, ``custom`` included."""
    return [*FAMILIES, CUSTOM]


def resolve(name: str, framing: str) -> type[SequenceModel]:
    """The model class called ``name`` for a problem of ``framing``; refuses a mismatch."""
    if framing not in FRAMINGS:
        raise ValueError(f"unknown framing {framing!r}: choose one of {list(FRAMINGS)}")
    if name == CUSTOM:
        return NetModel
    if name not in FAMILIES:
        raise ValueError(f"unknown model {name!r}: choose one of {available()}")
    family = FAMILIES[name]
    if framing not in family:
        able = [key for key, serves in FAMILIES.items() if framing in serves] + [CUSTOM]
        raise ValueError(
            f"model={name} cannot serve framing={framing!r} (it serves {list(family)}); "
            f"models for {framing!r}: {able}"
        )
    return family[framing]


__all__ = [
    "CUSTOM",
    "FAMILIES",
    "LRU",
    "TCN",
    "XLSTM",
    "CausalTransformer",
    "LinearTransformer",
    "Mamba",
    "ManyToOneGRU",
    "ManyToOneLSTM",
    "ManyToOneRNN",
    "NetModel",
    "OneToOneGRU",
    "OneToOneLSTM",
    "OneToOneRNN",
    "Seq2SeqGRU",
    "Seq2SeqLSTM",
    "Seq2SeqRNN",
    "Seq2SeqTransformer",
    "SequenceModel",
    "StepMLP",
    "WindowMLP",
    "available",
    "resolve",
    "wrap",
]
