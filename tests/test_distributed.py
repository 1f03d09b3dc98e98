"""Lightning DDP on 2 CPU processes (gloo): disjoint, complete shards; identical metrics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch

from seqtasks.models import OneToOneLSTM
from seqtasks.training.datamodule import SequenceDataModule

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = {"length": 10}
BATCH, SAMPLES, EPOCHS = 16, 200, 2  # 200 samples -> 14 batches of 14-15, 7 per rank


class RecordBatches(L.Callback):
    """Each rank writes the training inputs it saw, per epoch, and its reduced val metrics."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.seen: dict[int, list[torch.Tensor]] = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.seen.setdefault(trainer.current_epoch, []).append(batch[0].detach().cpu())

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.metrics = {k: float(v) for k, v in trainer.callback_metrics.items()
                            if k.startswith("val/")}  # fmt: skip

    def on_train_end(self, trainer, pl_module) -> None:
        torch.save({"seen": self.seen, "metrics": self.metrics},
                   self.out / f"rank{trainer.global_rank}.pt")  # fmt: skip


def make_datamodule() -> SequenceDataModule:
    return SequenceDataModule("classify", OPTIONS, batch_size=BATCH, train_samples=SAMPLES,
                              val_samples=101, test_samples=101, eval_batch_size=16)  # fmt: skip


@pytest.mark.slow  # two processes
def test_ddp_spawn_shards_are_disjoint_complete_and_metrics_identical(tmp_path):
    datamodule = make_datamodule()
    model = OneToOneLSTM(datamodule.spec.to_dict(), hidden_size=16)
    trainer = L.Trainer(
        accelerator="cpu", devices=2, strategy="ddp_spawn", max_epochs=EPOCHS,
        logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[RecordBatches(tmp_path)],
    )  # fmt: skip
    trainer.fit(model, datamodule=datamodule)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    reference = make_datamodule().datasets["train"]
    for epoch in range(EPOCHS):
        per_rank = [rank["seen"][epoch] for rank in ranks]
        assert len(per_rank[0]) == len(per_rank[1]) == 7, "equal batch counts on every rank"
        seen = torch.cat([torch.cat(batches) for batches in per_rank])  # (SAMPLES, T, 1)
        reference.set_epoch(epoch)
        expected, _ = reference.generate(0, SAMPLES)
        order = lambda x: x.flatten(1).sum(1).argsort()  # noqa: E731
        assert seen.shape == expected.shape, "nothing missing, nothing twice"
        assert torch.equal(seen[order(seen)], expected[order(expected)])
        assert len({tuple(row.flatten().tolist()) for row in seen}) == SAMPLES, "no duplicates"
    first = torch.cat(ranks[0]["seen"][0]), torch.cat(ranks[0]["seen"][1])
    assert not torch.equal(first[0], first[1]), "each epoch brings fresh data"
    assert ranks[0]["metrics"] == ranks[1]["metrics"], "val metrics reduced across ranks"
    assert set(ranks[0]["metrics"]) >= {"val/accuracy", "val/loss"}


@pytest.mark.slow  # a DDP launch of train.py; .ci/run runs the slow tests too
def test_train_py_trainer_ddp_on_two_cpu_processes(tmp_path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable, "train.py", "task=classify", "trainer=ddp", "trainer.accelerator=cpu",
        "trainer.max_steps=20", "data.train_samples=2560", "trainer.enable_progress_bar=false",
        "report.plots=false", f"hydra.run.dir={run_dir}",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 20
    assert summary["samples"] == 2 * 20 * 256, "both ranks' sequences are counted"
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
