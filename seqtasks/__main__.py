"""Command line: ``python -m seqtasks show NAME [key=value ...] [-n COUNT]``."""

from __future__ import annotations

import argparse
import ast
import sys
from typing import Any

import torch

from seqtasks.base import SequenceTask
from seqtasks.registry import available, make


def parse_option(text: str) -> tuple[str, Any]:
    """``"lag=3"`` -> ``("lag", 3)``; values are Python literals, else strings."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ValueError(f"options are written key=value, got {text!r}")
    try:
        return key, ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return key, raw


def _cells(values: torch.Tensor, symbols: bool) -> str:
    if values.dim() == 0:
        values = values[None]
    if symbols:
        return " ".join(str(int(v)) for v in values)
    if values.dim() == 2:  # several real features per step: (T, F)
        return " ".join("(" + ",".join(f"{float(v):.2f}" for v in step) + ")" for step in values)
    return " ".join(f"{float(v):.2f}" for v in values)


def render(dataset: SequenceTask, count: int) -> str:
    """A table of the first ``count`` samples of ``dataset``: inputs and targets."""
    spec = dataset.spec
    inputs, targets = dataset.generate(0, min(count, dataset.num_samples))
    if spec.encoding == "onehot":
        inputs = inputs.argmax(dim=-1)  # show the symbols, not the one-hot vectors
    elif spec.encoding != "index":
        inputs = inputs.squeeze(-1)
    shape = list(spec.target_shape)
    kind = f"{spec.num_classes} classes" if spec.target == "classes" else "reals"
    lines = [
        f"{spec.name}: framing={spec.framing} encoding={spec.encoding} input_length="
        f"{spec.input_length} target={kind} {spec.target_layout} shape={shape}",
        f"solved when test {spec.metric} {'<=' if spec.metric == 'mse' else '>='} "
        f"{spec.solved_threshold:.6g}; chance {spec.chance:.4g}",
    ]
    symbols = spec.encoding in ("onehot", "index")
    rows = [
        (_cells(x, symbols), _cells(y, spec.target == "classes"))
        for x, y in zip(inputs, targets, strict=True)
    ]
    width = max(len("x"), *(len(x) for x, _ in rows))
    lines.append(f"{'x':<{width}}  ->  y")
    lines += [f"{x:<{width}}  ->  {y}" for x, y in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqtasks")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="print a few samples of a problem")
    show.add_argument("name", help=f"one of {available()}")
    show.add_argument("options", nargs="*", help="problem options as key=value")
    show.add_argument("-n", "--count", type=int, default=4, help="samples to print")
    args = parser.parse_args(argv)
    try:
        options = dict(parse_option(text) for text in args.options)
        print(render(make(args.name, **options), args.count))
    except (TypeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
