"""The per-step head on every step or on the answered steps alone, side by side.

    python -m seqtasks.benchmarks.readout [--models lstm rnn transformer mamba]
        [--problems pairs length] [--batch 32] [--eval-batch 200] [--rounds 3] [--threads 1]
        [--out results]

MQAR and selective copying answer a few steps of each sequence (MQAR's queries: 1/64 of the
steps at 4 pairs and length 256); the others' targets are ``ignore_index``. A ``one_to_one``
model's loss and metrics then need its head's logits at the answered steps only
(:meth:`~seqtasks.models.base.SequenceModel.scored_outputs`). For each model (its config's
defaults, as ``model=NAME`` gives) and problem (the leaderboard's settings: ``pairs`` is MQAR at
length 256, vocabulary 512, 4 pairs, the first size of its num_pairs ladder; ``length`` is MQAR
at length 1,024, vocabulary 2,048, 64 pairs, the top of its length ladder; ``copy`` is selective
copying at length 1,024), two ways are timed in turn:

- every step: ``model.loss(model(inputs), targets)``, the head on every step's features;
- answered: ``model.training_loss(inputs, targets)``, what a training step runs;

forward and backward at ``--batch`` (training), and forward, loss and predictions without
gradients at ``--eval-batch`` (validation). A cell is the median time of ``--rounds`` rounds
after one warm-up each. Writes ``results/readout.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import seqtasks
from seqtasks.benchmarks.runner import compose_config, machine
from seqtasks.benchmarks.tables import (
    command_line,
    in_turn,
    out_folder,
    require_models,
    require_positive,
    write_side_by_side,
)
from seqtasks.models.base import SequenceModel
from seqtasks.training.run import build_model

PROBLEMS = {
    "pairs": ("associative_recall", {"length": 256, "vocab": 512, "num_pairs": 4}),
    "length": ("associative_recall", {"length": 1024, "vocab": 2048, "num_pairs": 64}),
    "copy": ("selective_copy", {"length": 1024, "vocab": 16, "num_tokens": 16}),
}


def ways(model: SequenceModel, inputs: torch.Tensor, targets: torch.Tensor, train: bool
         ) -> dict[str, Callable[[], Any]]:  # fmt: skip
    """One call of each way: the loss's backward (train), or loss and predictions (eval)."""

    def every_step() -> Any:
        output = model(inputs)  # (B, T, C)
        if train:
            return model.loss(output, targets).backward()
        return model.loss(output, targets), model.predict_from_output(output)

    def answered() -> Any:
        if train:
            return model.training_loss(inputs, targets).backward()
        output, scored, _ = model.scored_outputs(inputs, targets, training=False)  # (N, C)
        return model.loss(output, scored), model.predict_from_output(output)

    calls = {"every step": every_step, "answered": answered}
    return calls if train else {name: torch.no_grad()(call) for name, call in calls.items()}


def measure(name: str, problem: str, batch: int, train: bool, rounds: int) -> dict[str, Any]:
    task, options = PROBLEMS[problem]
    dataset = seqtasks.make(task, **options)
    inputs, targets = dataset.generate(0, batch)  # (B, T), (B, T)
    model = build_model(compose_config([f"model={name}"]).model, dataset.spec)
    model.train(train)
    seconds = in_turn(ways(model, inputs, targets, train), rounds,
                      before=lambda: model.zero_grad(set_to_none=True))  # fmt: skip
    every, answered = (seconds[way] * 1e3 for way in ("every step", "answered"))
    fraction = float((targets != dataset.spec.ignore_index).float().mean())
    return {"model": name, "problem": problem, "pass": "training" if train else "validation",
            "batch": batch, "answered_fraction": fraction, "every_step_ms": every,
            "answered_ms": answered, "speed_up": every / answered}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv  # the command the table names, as typed
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.readout")
    parser.add_argument("--models", nargs="+", default=["lstm", "rnn", "transformer", "mamba"])
    parser.add_argument(
        "--problems", nargs="+", choices=sorted(PROBLEMS), default=["pairs", "length"]
    )
    for option, default in (("batch", 32), ("eval-batch", 200), ("rounds", 3), ("threads", 1)):
        parser.add_argument(f"--{option}", type=int, default=default)
    parser.add_argument("--out", type=out_folder, default=Path("results"))
    args = parser.parse_args(argv)
    require_positive(parser, args, "batch", "eval_batch", "rounds", "threads")
    require_models(parser, "--models", args.models)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    plan = [(args.batch, True), (args.eval_batch, False)]
    rows = [measure(name, problem, batch, train, args.rounds) for name in args.models
            for problem in args.problems for batch, train in plan]  # fmt: skip
    cells = [[r["model"], r["problem"], r["pass"], str(r["batch"]), f"{r['answered_fraction']:.4f}",
              f"{r['every_step_ms']:.0f}", f"{r['answered_ms']:.0f}", f"{r['speed_up']:.2f}x"]
             for r in rows]  # fmt: skip
    header = ["model", "problem", "pass", "batch", "answered steps", "every step (ms)",
              "answered (ms)", "speed-up"]  # fmt: skip
    command = command_line("seqtasks.benchmarks.readout", argv)
    what = ("the head on every step against the head on the answered steps alone (MQAR: pairs at "
            "length 256, vocabulary 512, 4 pairs; length at 1,024, vocabulary 2,048, 64 pairs; "
            "copy: selective copying at 1,024); time per batch")  # fmt: skip
    write_side_by_side(args.out, "readout", command, what, header, cells, machine(), args, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
