"""``+callbacks.NAME._target_=CLASS``: a Lightning callback of the user's own runs beside the
harness's; a bad entry is refused by name before anything is written."""

from __future__ import annotations

from typing import ClassVar

import lightning as L
import pytest

from seqtasks.training.run import ConfigError, train

HERE = __name__
SHORT = ["trainer.max_steps=8", "report.plots=false", "test=false"]


class CountSteps(L.Callback):
    """Counts the training steps it sees; ``every`` is an option given on the command line."""

    seen: ClassVar[list[CountSteps]] = []

    def __init__(self, every: int = 1) -> None:
        self.every, self.steps = every, 0
        CountSteps.seen.append(self)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.steps += 1


def test_a_callback_of_ones_own_sees_every_step_and_the_harness_still_stops(compose_config):
    CountSteps.seen.clear()
    summary = train(compose_config(*SHORT, f"+callbacks.count._target_={HERE}.CountSteps",
                                   "+callbacks.count.every=3"))  # fmt: skip
    (counter,) = CountSteps.seen
    assert counter.every == 3 and counter.steps == summary["steps"] == 8
    assert compose_config().callbacks == {}, "none by default"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["+callbacks.count=3"], r"callbacks.count=3 must be a mapping with a _target_"),
        (["+callbacks.count._target_=builtins.dict"],
         r"callbacks.count: builtins.dict built a dict, not a lightning.pytorch.Callback"),
        (["+callbacks.count._target_=nowhere.Nothing"], r"callbacks.count: .*nowhere"),
        ([f"+callbacks.count._target_={HERE}.CountSteps", "+callbacks.count.colour=red"],
         r"callbacks.count: .*colour"),
        (["callbacks=3"], r"callbacks=3 must map names to callbacks"),
    ],
)  # fmt: skip
def test_a_bad_entry_is_refused_before_anything_is_written(compose_config, tmp_path, overrides,
                                                           message):  # fmt: skip
    with pytest.raises(ConfigError, match=message):
        train(compose_config(*SHORT, *overrides))
    assert not any(tmp_path.iterdir())
