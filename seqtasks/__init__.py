"""seqtasks: small, exactly defined, scalable sequence-prediction problems as IterableDatasets.

>>> import seqtasks
>>> ds = seqtasks.make("classify", batch_size=32)
>>> X, Y = next(iter(ds))  # X: (31, 10, 1) float32, Y: (31, 10) int64

(10,000 samples in 313 batches of at most 32, whose sizes differ by at most one.)
"""

from seqtasks.adding import Adding
from seqtasks.associative_recall import AssociativeRecall
from seqtasks.base import (
    FRAMINGS,
    IGNORE_INDEX,
    MAX_BATCH_VALUES,
    MAX_STEPS,
    SPLITS,
    SequenceTask,
    TaskSpec,
)
from seqtasks.classify import Classify
from seqtasks.copy_memory import CopyMemory
from seqtasks.echo import Echo
from seqtasks.induction_heads import InductionHeads
from seqtasks.memorize import Memorize
from seqtasks.memorize_long import MemorizeLong
from seqtasks.multiply import Multiply
from seqtasks.parity import Parity
from seqtasks.ramp import Ramp
from seqtasks.registry import available, make, options, register
from seqtasks.selective_copy import SelectiveCopy
from seqtasks.subsequence import Subsequence
from seqtasks.temporal_order import TemporalOrder

__all__ = [
    "FRAMINGS",
    "IGNORE_INDEX",
    "MAX_BATCH_VALUES",
    "MAX_STEPS",
    "SPLITS",
    "Adding",
    "AssociativeRecall",
    "Classify",
    "CopyMemory",
    "Echo",
    "InductionHeads",
    "Memorize",
    "MemorizeLong",
    "Multiply",
    "Parity",
    "Ramp",
    "SelectiveCopy",
    "SequenceTask",
    "Subsequence",
    "TaskSpec",
    "TemporalOrder",
    "available",
    "make",
    "options",
    "register",
]
__version__ = "0.1.0"
