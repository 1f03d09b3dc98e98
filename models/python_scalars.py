"""The metaclass of every model: NumPy scalar options become Python numbers before ``__init__``."""

from __future__ import annotations

import abc
import inspect
from typing import Any

from seqtasks._validate import python_scalars


class PythonScalars(abc.ABCMeta):
    """Makes a model from NumPy scalars (``np.int64(64)``, which the option checks accept) given as
    Python numbers: torch's layers refuse them (``nn.LSTM(hidden_size=np.int64(8))``); in
    ``hparams.yaml`` they would be objects ``yaml.safe_load`` refuses. Done at the call, not in a
    wrapper of ``__init__``: Lightning's ``save_hyperparameters`` reads the ``__init__`` frames of a
    subclass's chain, and a wrapper's frame between two of them hides the subclass's arguments.
    The options of the call are converted, not values an ``__init__`` computes and passes on. An
    ``abc.ABCMeta``, so that a model may also derive from ``abc.ABC``; a mixin with another
    metaclass needs one derived from this."""

    def __call__(cls, *args: Any, **options: Any) -> Any:
        options = {name: python_scalars(value) for name, value in options.items()}
        return super().__call__(*python_scalars(args), **options)

    @property
    def __signature__(cls) -> inspect.Signature:  # help(), completion: the __init__'s options
        for owner in cls.__mro__:  # a class's own __signature__ first
            if "__signature__" in vars(owner):
                return vars(owner)["__signature__"]
        init = inspect.signature(cls.__init__)
        options = list(init.parameters.values())[1:]  # without self
        return init.replace(parameters=options, return_annotation=inspect.Signature.empty)
