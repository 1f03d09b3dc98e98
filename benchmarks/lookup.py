"""The recurrent layers on one-hot inputs two ways, side by side: fused kernel and lookup loop.

    python -m seqtasks.benchmarks.lookup [--vocabs 100 200 500 1000] [--batches 8 32]
        [--eval-batch 200] [--hidden 128] [--length 200] [--rounds 3] [--threads 1]
        [--out results]

For each cell (LSTM, GRU, RNN), vocabulary V and batch: ``nn.LSTM`` (``nn.GRU``, ``nn.RNN``) on
one-hot ``(B, length, V)`` inputs, against
:func:`~seqtasks.models.recurrent_lookup.lookup_recurrence` on the symbol ids, with the same
layer; forward and backward of a loss on the last step's logits (a linear head of V outputs) at
the training batches, forward alone at ``--eval-batch`` (validation). The two run in turn for
``--rounds`` rounds after one warm-up each, so both meet the same machine load; a cell is the
median time per sequence step. Writes ``results/lookup.{json,md}``; the models take the loop
where ``input_size >= 3 x hidden_size`` (``recurrent_lookup.WIDE``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqtasks.benchmarks.runner import machine
from seqtasks.benchmarks.tables import command_line, in_turn, out_folder, write_side_by_side
from seqtasks.models.recurrent_lookup import lookup_recurrence

CELLS = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}


def passes(layer: nn.RNNBase, symbols: torch.Tensor, train: bool) -> dict[str, Callable[[], Any]]:
    """One call of each way: forward and backward of a loss on the last step's logits (train),
    or the forward pass alone."""
    vocab = layer.input_size
    inputs = nn.functional.one_hot(symbols, vocab).float()  # (B, T, V)
    head = nn.Linear(layer.hidden_size, vocab)
    ways = {"fused": lambda: layer(inputs)[0], "loop": lambda: lookup_recurrence(layer, symbols)}

    def run(way: Callable[[], torch.Tensor]) -> Callable[[], Any]:
        if train:
            return lambda: head(way()[:, -1]).logsumexp(-1).sum().backward()
        return lambda: torch.no_grad()(way)()

    return {name: run(way) for name, way in ways.items()}


def measure(cell: str, vocab: int, batch: int, train: bool, args: argparse.Namespace) -> dict:
    layer = CELLS[cell](vocab, args.hidden, batch_first=True)
    symbols = torch.randint(0, vocab, (batch, args.length), generator=torch.Generator())
    seconds = in_turn(passes(layer, symbols, train), args.rounds)
    fused, loop = (seconds[name] / args.length * 1e3 for name in ("fused", "loop"))  # per step
    return {"cell": cell, "pass": "forward and backward" if train else "forward",
            "batch": batch, "vocab": vocab, "fused_ms": fused, "loop_ms": loop,
            "speed_up": fused / loop}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqtasks.benchmarks.lookup")
    parser.add_argument("--vocabs", type=int, nargs="+", default=[100, 200, 500, 1000])
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 32])
    for name, default in (("eval-batch", 200), ("hidden", 128), ("length", 200), ("rounds", 3),
                          ("threads", 1)):  # fmt: skip
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--out", type=out_folder, default=Path("results"))
    args = parser.parse_args(argv)
    for name in ("vocabs", "batches", "eval_batch", "hidden", "length", "rounds", "threads"):
        value, least = getattr(args, name), 2 if name == "vocabs" else 1
        if min(value if isinstance(value, list) else [value]) < least:
            parser.error(f"--{name.replace('_', '-')}={value}: every value must be >= {least}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    plan = [(batch, True) for batch in args.batches] + [(args.eval_batch, False)]
    rows = [measure(cell, vocab, batch, train, args)
            for cell in CELLS for batch, train in plan for vocab in args.vocabs]  # fmt: skip
    cells = [[r["cell"], r["pass"], str(r["batch"]), f"{r['vocab']:,}", f"{r['fused_ms']:.3f}",
              f"{r['loop_ms']:.3f}", f"{r['speed_up']:.2f}x"] for r in rows]  # fmt: skip
    header = ["cell", "pass", "batch", "vocabulary", "fused (ms/step)", "loop (ms/step)",
              "loop's speed-up"]  # fmt: skip
    command = command_line("seqtasks.benchmarks.lookup", argv)
    what = (f"recurrent layers of {args.hidden} units on one-hot inputs of {args.length} steps, "
            "the fused kernel against the lookup loop; time per sequence step")  # fmt: skip
    write_side_by_side(args.out, "lookup", command, what, header, cells, machine(), args, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
