"""LightningModules for the seqtasks problems, and the name -> model registry used by configs."""

from __future__ import annotations

from models.base import SequenceModel
from models.lstm import ManyToOneLSTM, OneToOneLSTM
from models.mlp import StepMLP, WindowMLP
from models.seq2seq import Seq2SeqLSTM

MODELS: dict[str, type[SequenceModel]] = {
    "lstm_one_to_one": OneToOneLSTM,
    "lstm_many_to_one": ManyToOneLSTM,
    "seq2seq": Seq2SeqLSTM,
    "mlp": StepMLP,
    "mlp_window": WindowMLP,
}
# ``lstm`` names the LSTM of each framing: the default model of every problem
DEFAULT_FOR_FRAMING = {
    "one_to_one": "lstm_one_to_one",
    "many_to_one": "lstm_many_to_one",
    "seq2seq": "seq2seq",
}


def resolve(name: str, framing: str) -> type[SequenceModel]:
    """The model class called ``name`` for a problem of ``framing``; refuses a mismatch."""
    if name == "lstm":
        name = DEFAULT_FOR_FRAMING[framing]
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}: choose one of {['lstm', *MODELS]}")
    model = MODELS[name]
    if framing not in model.framings:
        able = ["lstm"] + [key for key, cls in MODELS.items() if framing in cls.framings]
        raise ValueError(
            f"model={name} cannot serve framing={framing!r} (it serves {list(model.framings)}); "
            f"models for {framing!r}: {able}"
        )
    return model


__all__ = [
    "DEFAULT_FOR_FRAMING",
    "MODELS",
    "ManyToOneLSTM",
    "OneToOneLSTM",
    "Seq2SeqLSTM",
    "SequenceModel",
    "StepMLP",
    "WindowMLP",
    "resolve",
]
