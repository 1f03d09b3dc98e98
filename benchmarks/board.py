"""What the leaderboard is made of: its problems and their ladders, its models, its profiles.

Every problem has one knob, pushed up a ladder to a stated ceiling (at least 1,000 steps of sequence
for the length knobs, but parity's: trained at 40, scored at longer lengths), and one budget in
steps and sequences, the same for every model. A problem or model family joins the board only when
it is there at run time: a problem when ``seqtasks.available()`` lists its task and the task takes
every option the ladder sets, a family when ``seqtasks.models.FAMILIES`` has it, so problems and
models that land later join without an edit here.

Per-problem settings, the same for every model (measured here with the default LSTM, seed 0):
batch 32 on the memory problems, which learned per sequence as fast as 64 or 128 and costs the
least per step (echo at lag 49: solved after 1,800 steps at batch 32, 1,700 at 64; subsequence at
length 20: 2,650 at 32, 2,050 at 64, 1,650 at 128); on the ramp, batch 512: its criterion is a
root mean squared error of a quarter of the ramp's step, which Adam's noise at batch 32 stays
above (the claims' ramp runs keep lr 0.004: at 0.01 the LSTM's mse stayed at 1.5e-7 after 3,000
steps at length 1000, 6.25e-8 needed). On the ladders the learning rate is each model's own, the
best of three at the first size (``LRS``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import seqtasks
from seqtasks.benchmarks.leaderboard import LRS, Problem

# every model the board knows, in column order; the MLPs are the memoryless references
ALL_MODELS = ("lstm", "gru", "rnn", "transformer", "tcn", "mamba", "lru", "linear_attention",
              "xlstm", "mlp", "mlp_window")  # fmt: skip
# the order ladders start in (a time limit cuts the last): the default LSTM, then the step MLP
# (the memoryless reference), then the other architectures; the window MLP last: it reads the
# whole window and writes every step's answer at once, 35,865,088 parameters at MQAR's 4 pairs
# (length 256, vocabulary 512), where a run took 2,031 s, against 235 s for the step MLP and
# 773 s for the LSTM (num_parameters and seconds in results/rows.jsonl)
PRIORITY = ("lstm", "mlp", "gru", "rnn", "transformer", "tcn", "mamba", "lru", "linear_attention",
            "xlstm", "mlp_window")  # fmt: skip
# per task (the docstring says why); batch 32 for the others. The ladders replace the learning
# rate with each model's tuned one; the claims' runs at the default sizes keep these
SETTINGS = {"ramp": ("data.batch_size=512", "model.lr=0.004")}
DEFAULT_SETTINGS = ("data.batch_size=32",)
# the sizes the default LSTM is asked to reach
GOALS = {"ramp": 1000, "memorize": 50, "echo": 50, "subsequence/many_to_one": 20,
         "subsequence/one_to_one": 20, "subsequence/seq2seq": 20, "classify": 100}  # fmt: skip
LADDER = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)


def ladder(start: int, stop: int) -> tuple[int, ...]:
    """The 1-2-5 sizes from ``start`` to ``stop``."""
    return tuple(value for value in LADDER if start <= value <= stop)


def doubling(start: int, stop: int) -> tuple[int, ...]:
    return tuple(start * 2**k for k in range(64) if start * 2**k <= stop)


# key -> (task, knob, fixed task options, what stays fixed in words, the ladder to its ceiling,
#         other Problem fields)
PROBLEMS: dict[str, tuple[str, str, dict[str, Any], str, tuple[int, ...], dict[str, Any]]] = {
    "ramp": ("ramp", "length", {"framing": "many_to_one"},
             "window 1; solved at mse <= (0.25/length)^2", (10, 30, 100, 300, 1000, 3000, 10000),
             {}),
    "memorize": ("memorize", "length", {"framing": "many_to_one"}, "many_to_one, 2 sequences",
                 ladder(5, 1000), {}),
    "echo": ("echo", "lag", {"framing": "many_to_one"}, "length lag + 1, vocab 100",
             ladder(5, 1000), {"tied": {"length": (1, 1)}}),
    "subsequence/many_to_one": ("subsequence", "length", {"framing": "many_to_one"},
                                "whole sequence after the last input, vocab 10",
                                ladder(5, 1000), {}),
    "subsequence/one_to_one": ("subsequence", "length", {"framing": "one_to_one"},
                               "one output per step (the identity), vocab 10", ladder(5, 1000),
                               {"scored_at": (2, 5, 10)}),
    "subsequence/seq2seq": ("subsequence", "length", {"framing": "seq2seq"},
                            "the first 3 symbols, encoder-decoder, vocab 10", ladder(5, 1000),
                            {"scored_at": (2, 5, 10)}),
    "classify": ("classify", "length", {"framing": "one_to_one"}, "threshold length/4",
                 ladder(10, 1000), {}),
    "copy_memory": ("copy_memory", "delay", {}, "10 symbols of 8, recalled after the delay",
                    ladder(10, 1000), {}),
    "associative_recall/pairs": ("associative_recall", "num_pairs", {"length": 256, "vocab": 512},
                                 "MQAR at length 256, vocab 512", doubling(4, 64), {}),
    "associative_recall/length": ("associative_recall", "length", {},
                                  "num_pairs = length/16, vocab 2 x length", doubling(64, 1024),
                                  {"tied": {"num_pairs": (1 / 16, 0), "vocab": (2, 0)}}),
    "selective_copy": ("selective_copy", "length", {"num_tokens": 16, "vocab": 16},
                       "16 tokens to copy, vocab 16 (as Mamba's Table 1)", doubling(64, 1024),
                       {}),
    "induction_heads": ("induction_heads", "length", {}, "first size scored at 2x-64x",
                        doubling(32, 1024), {"scored_at": (2, 4, 8, 16, 32, 64)}),
    "parity": ("parity", "length", {"min_length": 1}, "trained on lengths 1-40, scored to 500",
               (40,), {"eval_lengths": (50, 100, 200, 500)}),
}  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """One budget for every run of a leaderboard, and the sizes each problem is pushed through."""

    name: str
    max_steps: int  # the budget of one run, in optimizer steps (sequences: steps x batch)
    val_every: int  # steps between validations: the stop-when-solved check
    eval_samples: int  # fixed validation and test sets
    seeds: int  # at the frontier and at the first unsolved size (one seed climbs)
    run_seconds: float  # wall-clock guard of one run: a run stopped by it counts as unsolved
    time_limit: float | None  # seconds: no run starts after this (None: run the board out)
    sizes: int | None = None  # the first ``sizes`` of each ladder (None: up to its ceiling)
    lrs: tuple[float, ...] = LRS  # learning rates tried at the first size (): the model's own
    extra: dict[str, tuple[int, ...]] = field(default_factory=dict)  # ladders replaced
    only: tuple[str, ...] = ()  # these problems alone (--problems); () for all
    claims: bool = True  # also the specification's claims (runs at the default sizes)

    def overrides(self) -> list[str]:
        return [f"trainer.max_steps={self.max_steps}", f"solved_in_a_row={SOLVED_IN_A_ROW}",
                f"data.val_samples={self.eval_samples}",
                f"data.test_samples={self.eval_samples}",
                f"data.eval_batch_size={EVAL_BATCH}", "checkpoint.every_n_steps=0",
                "+trainer.enable_model_summary=false", "trainer.log_every_n_steps=100"]  # fmt: skip


# a run stops after two validations in a row meet the criterion: stopped at the first, a model
# that only just touched the threshold on the validation set fails the test set about half the
# time (the LSTM on classify at length 10: validation 0.990, test 0.989), which says nothing of it
SOLVED_IN_A_ROW = 2
# validation and test in batches of 200 sequences: the same metrics as one batch, without holding
# 1,000 x length x vocab logits at once (MQAR at length 1,024, vocab 2,048: 8 GB)
EVAL_BATCH = 200
BOARD = Profile("board", 3000, 100, 1000, 3, 3600, None)  # the leaderboard: hours; --resume
# a first look in under 5 minutes: the ladders' first two sizes (priority order), no claims
QUICK = Profile("quick", 200, 25, 500, 1, 20, 200, sizes=2, lrs=(), claims=False)
FULL = Profile("full", 20000, 100, 2000, 3, 3 * 3600, None)  # a GPU's budget
PROFILES = {profile.name: profile for profile in (BOARD, QUICK, FULL)}


def settings(task: str, profile: Profile) -> tuple[str, ...]:
    """A task's training overrides: its ``SETTINGS``, and a training epoch (the validation
    interval) of ``profile.val_every`` steps."""
    chosen = SETTINGS.get(task, DEFAULT_SETTINGS)
    batch = int(next(item for item in chosen if item.startswith("data.batch_size=")).split("=")[1])
    return (*chosen, f"data.train_samples={batch * profile.val_every}")


def problems(profile: Profile, warn: bool = True) -> list[Problem]:
    """Every problem of ``PROBLEMS`` whose task is registered and takes the ladder's options."""
    chosen = []
    for key, (task, knob, fixed, note, values, more) in PROBLEMS.items():
        if task not in seqtasks.available() or (profile.only and key not in profile.only):
            continue
        values = profile.extra.get(key, values)[: profile.sizes]
        problem = Problem(key, task, knob, values, fixed, settings(task, profile), note, **more)
        unknown = set(problem.options(values[0])) - set(seqtasks.options(task))
        if unknown:  # a ladder written before its task: say so, leave it out
            if warn:
                print(f"leaderboard: {key} left out: task={task} has no option(s) "
                      f"{sorted(unknown)} (it takes {list(seqtasks.options(task))})",
                      file=sys.stderr)  # fmt: skip
            continue
        chosen.append(problem)
    return chosen


def models() -> tuple[str, ...]:
    """The families of ``ALL_MODELS`` that ``seqtasks.models.FAMILIES`` has now."""
    from seqtasks.models import FAMILIES

    return tuple(model for model in ALL_MODELS if model in FAMILIES)
