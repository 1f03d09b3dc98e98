"""The seconds a run has taken, across the processes of a resumed run."""

from __future__ import annotations

import time
from typing import Any

import lightning as L


class RunClock(L.Callback):
    """Seconds since ``started`` (a ``time.perf_counter()`` reading) plus the seconds its
    checkpoint had, so that a resumed run's ``summary.json`` counts the whole run as its steps and
    samples do. Earlier processes count up to the checkpoint the run resumed from: time they spent
    after it (a killed process's last steps) is not known. The checkpoint of an older version has
    no seconds and counts as 0.
    """

    def __init__(self, started: float) -> None:
        self.started = started
        self.earlier = 0.0  # seconds of the processes before this one

    def seconds(self) -> float:
        """The run's seconds so far: the earlier processes' and this one's."""
        return self.earlier + time.perf_counter() - self.started

    def state_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.earlier = float(state_dict.get("seconds", 0.0))
