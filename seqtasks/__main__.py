"""Command line (``seqtasks`` once installed, or ``python -m seqtasks``).

``seqtasks list [NAME ...]``: the problems (framings, encodings, options, effective defaults), the
models and the experiment presets; NAME is a problem, ``models`` or ``experiments``.
``seqtasks show NAME [key=value ...] [-n COUNT]``: a few samples of a problem as a table.
``seqtasks train [hydra overrides]``: the same as ``python train.py`` (needs ``seqtasks[train]``).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import sys
from typing import Any

import torch

from seqtasks.base import DEFAULT_NUM_SAMPLES, IGNORE_INDEX, SequenceTask
from seqtasks.listing import (
    describe_default,
    effective_defaults,
    list_experiments,
    list_models,
)
from seqtasks.registry import PROBLEMS, available, make, options

# options every problem takes (SequenceTask's), listed once rather than under each problem
COMMON = ("framing", "encoding", "split", "seed", "num_samples", "batch_size", "device")


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
        return " ".join("-" if v == IGNORE_INDEX else str(int(v)) for v in values)  # - no answer
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


def describe(name: str) -> str:
    """The ``seqtasks list`` entry of problem ``name``: summary, framings, encodings, options."""
    problem = PROBLEMS[name]
    summary = (problem.__doc__ or "").strip().splitlines()[0].replace("``", "")
    framings = ", ".join(
        f"{framing} (default)" if i == 0 else framing for i, framing in enumerate(problem.framings)
    )
    encodings = ", ".join(
        f"{encoding} (default)" if i == 0 and len(problem.encodings) > 1 else encoding
        for i, encoding in enumerate(problem.encodings)
    )
    effective = effective_defaults(name)
    own = ", ".join(
        describe_default(key, value, effective.get(key, {}), problem.framings)
        for key, value in options(name).items()
        if key not in COMMON
    )
    target = "classes" if problem.target == "classes" else "real values"
    return "\n".join([
        f"{name}: {summary}",
        f"  framings   {framings}",
        f"  encodings  {encodings}",
        f"  targets    {target}",
        f"  options    {own or '(none)'}",
    ])  # fmt: skip


SECTIONS = ("models", "experiments")  # `seqtasks list models`, `seqtasks list experiments`


def common_options() -> str:
    """The options every problem takes, with what ``None`` means for each."""
    samples = ", ".join(f"{count:,} for {split}" for split, count in DEFAULT_NUM_SAMPLES.items())
    meaning = {
        "framing": "the first listed",
        "encoding": "the first listed",
        "num_samples": samples,
        "batch_size": "one sample per item; an int: whole batches",
    }
    return ", ".join(
        f"{key}={value!r}" if value is not None else f"{key}=None ({meaning.get(key, 'unset')})"
        for key, value in options(available()[0]).items()
        if key in COMMON
    )


def list_problems(names: list[str]) -> str:
    """``seqtasks list NAMES``: problems, ``models``, ``experiments`` (all when empty)."""
    for name in names:
        if name not in PROBLEMS and name not in SECTIONS:
            raise ValueError(
                f"unknown problem or section {name!r}: choose problems of {available()} or "
                f"one of {list(SECTIONS)}"
            )
    problems = [name for name in names if name in PROBLEMS] if names else available()
    blocks = [describe(name) for name in problems]
    if problems:
        blocks.append(
            f"every problem also takes: {common_options()}\n"
            "see one: seqtasks show NAME [option=value ...]; train one: seqtasks train task=NAME "
            "[task.option=value ...]"
        )
    if not names or "models" in names:
        blocks.append(list_models())
    if not names or "experiments" in names:
        blocks.append(list_experiments())
    return "\n\n".join(blocks)


def train(overrides: list[str]) -> int:
    """``seqtasks train ...``: run ``train.py``'s Hydra entry point with these overrides."""
    try:
        from seqtasks.training.cli import main as train_main
    except ImportError as error:
        print(f"error: seqtasks train needs the training extra ({error}): "
              "pip install 'seqtasks[train]'", file=sys.stderr)  # fmt: skip
        return 2
    sys.argv = ["seqtasks train", *overrides]  # Hydra reads its overrides from sys.argv
    # Lightning's DDP launcher starts the other ranks as `python -m <__main__'s module> ARGS`, or
    # `python <sys.argv[0]> ARGS` when __main__ has no module (a console script): neither is this
    # command. Name the module that is: the ranks run `python -m seqtasks.training.cli ARGS`.
    main_module = sys.modules["__main__"]
    before = getattr(main_module, "__spec__", None)
    main_module.__spec__ = importlib.util.find_spec("seqtasks.training.cli")
    try:
        train_main()
    finally:
        main_module.__spec__ = before
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``seqtasks`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:  # Hydra parses the rest itself (-m, --cfg job, key=value, ...)
        return train(argv[1:])
    parser = argparse.ArgumentParser(prog="seqtasks")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser(
        "list", help="the problems (framings, options, effective defaults), models, experiments"
    )
    listing.add_argument(
        "names", nargs="*", help="problems, or models or experiments, to describe (default: all)"
    )
    commands.add_parser("train", help="train a problem: seqtasks train task=NAME [key=value ...]")
    show = commands.add_parser("show", help="print a few samples of a problem")
    show.add_argument("name", help=f"one of {available()}")
    show.add_argument("options", nargs="*", help="problem options as key=value")
    show.add_argument("-n", "--count", type=int, default=4, help="samples to print")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            print(list_problems(args.names))
            return 0
        if args.count < 1:
            raise ValueError(f"-n {args.count}: the number of samples to show is 1 or more")
        pairs = [parse_option(text) for text in args.options]
        chosen = dict(pairs)
        if len(chosen) < len(pairs):  # the later value would silently win
            twice = sorted({key for key, _ in pairs if [k for k, _ in pairs].count(key) > 1})
            raise ValueError(f"options {twice} given more than once: give each option once")
        print(render(make(args.name, **chosen), args.count))
    except (TypeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
