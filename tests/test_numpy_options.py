"""NumPy scalars (``np.int64(10)``, ``np.float32(0.25)``, ``np.bool_(False)``) are options like
Python's: the same data, the same models, Python numbers in ``hparams``; a NumPy bool or float is
still refused where an int is asked for."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import yaml
from lightning.pytorch.core.saving import save_hparams_to_yaml

import seqtasks
from seqtasks.models import FAMILIES, SequenceModel

NUMPY_TYPES = (int, float, bool)


def numpy_scalar(value: int | float | bool) -> np.generic:
    """``value`` as ``np.int64``, ``np.bool_``, or ``np.float32`` where that holds it exactly."""
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, int):
        return np.int64(value)
    return np.float32(value) if float(np.float32(value)) == value else np.float64(value)


def as_numpy(options: dict[str, object]) -> dict[str, object]:
    """Each int, float and bool of ``options`` as a NumPy scalar of a matching kind."""
    return {
        name: numpy_scalar(value) if type(value) in NUMPY_TYPES else value
        for name, value in options.items()
    }


@pytest.mark.parametrize("name", seqtasks.available())
def test_every_problem_takes_numpy_scalars_and_makes_the_same_data(name: str) -> None:
    options = {"seed": 3, "num_samples": 6, "batch_size": 3}
    options |= {key: value for key, value in seqtasks.options(name).items()
                if type(value) in NUMPY_TYPES and key not in options}  # fmt: skip
    if "length" in options and name not in ("adding", "multiply", "temporal_order"):
        options["length"] = min(int(options["length"]), 64)
    numpy_options = as_numpy(options)
    assert any(isinstance(value, np.generic) for value in numpy_options.values())
    plain, numpy = seqtasks.make(name, **options), seqtasks.make(name, **numpy_options)
    for key, value in options.items():
        kept = getattr(numpy, key, value)
        assert type(kept) is type(value) and kept == value, key  # stored as Python's
    for (x, y), (u, v) in zip(plain, numpy, strict=True):
        assert torch.equal(x, u) and torch.equal(y, v)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("length", np.bool_(True), "length must be an int, got np.True_"),
        ("length", np.float64(10.0), "length must be an int"),
        ("length", np.int64(0), "length=0 is out of range"),
        ("threshold", np.float32(1.5), "threshold=1.5 is out of range"),
        ("threshold", np.bool_(False), "threshold must be a number"),
    ],
)
def test_numpy_scalars_of_the_wrong_kind_are_refused(option, value, message) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        seqtasks.make("classify", **{option: value})


def test_a_numpy_weight_decay_of_zero_is_in_range() -> None:
    """A NumPy zero at the closed end of ``0 <= weight_decay`` (compared as a Python float)."""
    spec = seqtasks.make("echo", length=6).spec
    model = FAMILIES["transformer"]["many_to_one"](spec, weight_decay=np.float32(0.0))
    assert model.weight_decay == 0.0


@pytest.mark.parametrize("family", [name for name, models in FAMILIES.items()
                                    if "many_to_one" in models])  # fmt: skip
def test_every_model_takes_numpy_sizes(family: str, tmp_path) -> None:
    model_class = FAMILIES[family]["many_to_one"]
    data = seqtasks.make("echo", length=6, vocab=8, num_samples=4, batch_size=4)
    defaults = {}  # the numeric defaults of every __init__ on the way (some take **kwargs)
    for cls in reversed(model_class.__mro__[: model_class.__mro__.index(SequenceModel)]):
        parameters = inspect.signature(cls.__init__).parameters
        defaults |= {key: p.default for key, p in parameters.items()
                     if type(p.default) in NUMPY_TYPES}  # fmt: skip
    assert len(defaults) >= 3, defaults
    defaults["lr"] = 0.01
    torch.manual_seed(0)
    plain = model_class(data.spec, **defaults)
    torch.manual_seed(0)
    numpy = model_class(data.spec, **as_numpy(defaults))
    for key, value in defaults.items():
        assert type(numpy.hparams[key]) is type(value) and numpy.hparams[key] == value, key
    save_hparams_to_yaml(tmp_path / "hparams.yaml", numpy.hparams)
    assert yaml.safe_load((tmp_path / "hparams.yaml").read_text())["lr"] == 0.01
    inputs, _ = next(iter(data))
    assert torch.equal(plain(inputs), numpy(inputs))


def test_a_float32_default_counts_as_the_default() -> None:
    # np.float32(0.01) is 0.009999999776...: still MQAR's default where it may not be changed
    options = {"framing": "many_to_one", "length": 16, "num_pairs": 2, "vocab": 32}
    given = seqtasks.make("associative_recall", power_a=np.float32(0.01), **options)
    assert given.spec == seqtasks.make("associative_recall", **options).spec
    with pytest.raises(ValueError, match=r"power_a=0.5 applies to framing='one_to_one' only"):
        seqtasks.make("associative_recall", power_a=np.float32(0.5), **options)


@pytest.mark.filterwarnings("ignore:Your `IterableDataset` has `__len__` defined")  # by design
@pytest.mark.parametrize("family", [name for name, models in FAMILIES.items()
                                    if "many_to_one" in models])  # fmt: skip
def test_a_subclass_keeps_its_own_arguments_in_hparams_and_reloads(family: str, tmp_path) -> None:
    """Lightning reads every ``__init__`` of the chain: a user's subclass's own arguments (NumPy
    ones too) are saved, and ``load_from_checkpoint`` rebuilds that model, not its defaults."""
    import lightning as L
    from torch.utils.data import DataLoader

    class WithExtraHead(FAMILIES[family]["many_to_one"]):
        def __init__(self, spec, extra_width: int = 1, **options) -> None:
            super().__init__(spec, **options)
            self.extra = torch.nn.Linear(extra_width, 1)  # a size only the argument gives

    data = seqtasks.make("echo", length=6, vocab=8, num_samples=8, batch_size=4)
    model = WithExtraHead(data.spec, extra_width=np.int64(5), lr=np.float32(0.5))
    assert type(model.hparams["extra_width"]) is int and model.hparams["extra_width"] == 5
    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(model, DataLoader(data, batch_size=None))
    trainer.save_checkpoint(tmp_path / "model.ckpt")
    reloaded = WithExtraHead.load_from_checkpoint(tmp_path / "model.ckpt").eval()
    assert reloaded.extra.in_features == 5 and reloaded.lr == 0.5
    inputs, _ = next(iter(data))
    with torch.no_grad():
        assert torch.equal(reloaded(inputs), model.eval()(inputs))
