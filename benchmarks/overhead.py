"""Lightning's cost: the project's LightningModule + DataModule through the Trainer, beside a
hand-written PyTorch loop over the same model, data, batch size, clipping and step count.

    python -m seqtasks.benchmarks.overhead [--task classify] [--steps 300] [--repeats 3]
        [--out results/overhead.md]

Both run in this one process, alternating, after a warm-up; the table gives median steps/s.
The Lightning path keeps the defaults of ``train.py`` (CSV logging every 50 steps, the progress
bar refreshed every 20 steps); it skips validation and checkpoints, which the plain loop lacks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import lightning as L
import torch
from hydra import compose, initialize_config_module
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger

import seqtasks
from seqtasks.benchmarks.tables import command_line, out_file, require_positive
from seqtasks.training.datamodule import SequenceDataModule
from seqtasks.training.run import PROGRESS_EVERY, build_model


def default_parts(task: str) -> tuple[SequenceDataModule, object, float]:
    """The DataModule, model config and gradient clip value that ``train.py task=TASK`` uses."""
    with initialize_config_module("seqtasks.training.conf", version_base="1.3"):
        cfg = compose("config", overrides=[f"task={task}"])
    options = {k: v for k, v in cfg.task.items() if k != "name"}
    datamodule = SequenceDataModule(task, options, seed=cfg.seed, **cfg.data)
    return datamodule, cfg.model, cfg.trainer.gradient_clip_val


def plain_loop(task: str, steps: int) -> float:
    """Steps per second of a hand-written loop."""
    datamodule, model_cfg, clip = default_parts(task)
    model = build_model(model_cfg, datamodule.spec)
    optimizer = model.configure_optimizers()
    dataset = datamodule.datasets["train"]
    done, epoch = 0, 0
    model.train()
    start = time.perf_counter()
    while done < steps:
        dataset.set_epoch(epoch)
        for inputs, targets in dataset:
            loss = model.training_loss(inputs, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            done += 1
            if done == steps:
                break
        epoch += 1
    return steps / (time.perf_counter() - start)


def lightning_loop(task: str, steps: int) -> float:
    """Steps per second of the Trainer with train.py's logging and progress bar."""
    datamodule, model_cfg, clip = default_parts(task)
    model = build_model(model_cfg, datamodule.spec)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = L.Trainer(
            accelerator="cpu",
            max_steps=steps,
            max_epochs=-1,
            gradient_clip_val=clip,
            limit_val_batches=0,
            enable_checkpointing=False,
            enable_model_summary=False,
            logger=CSVLogger(run_dir, name="", version=""),
            callbacks=[TQDMProgressBar(refresh_rate=PROGRESS_EVERY)],
        )
        start = time.perf_counter()
        trainer.fit(model, datamodule=datamodule)
        return steps / (time.perf_counter() - start)


def runs(values: list[float]) -> str:
    """Each run's steps/s, one decimal, comma-separated."""
    return ", ".join(f"{value:.1f}" for value in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="classify", choices=seqtasks.available())
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=out_file, help="also write the table to this markdown file")
    args = parser.parse_args()
    require_positive(parser, args, "steps", "repeats")
    L.seed_everything(0, verbose=False)
    plain_loop(args.task, 20), lightning_loop(args.task, 20)  # warm-up
    plain, lightning = [], []
    for _ in range(args.repeats):
        plain.append(plain_loop(args.task, args.steps))
        lightning.append(lightning_loop(args.task, args.steps))
    p, l_ = statistics.median(plain), statistics.median(lightning)
    threads = torch.get_num_threads()
    table = "\n".join([
        f"Command: `{command_line('seqtasks.benchmarks.overhead')}` ({os.cpu_count()} CPU cores, "
        f"torch {torch.__version__}, {threads} thread{'s' if threads != 1 else ''})",
        "",
        f"{args.task}, {args.steps} steps x {args.repeats}, torch threads {threads}",
        "| loop | steps/s (median) | runs |",
        "|---|---|---|",
        f"| plain PyTorch | {p:.1f} | {runs(plain)} |",
        f"| Lightning (train.py defaults) | {l_:.1f} | {runs(lightning)} |",
        f"| ratio Lightning / plain | {l_ / p:.2f} | |",
    ])  # fmt: skip
    print("\n" + table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
