"""The files of ``seqtasks.benchmarks.device``: where it ran, and ``device-<kind>.md`` / ``.json``.

The file name follows the device: ``device-gpu`` on CUDA, ``device-cpu`` on the CPU (another
device type ``t``: ``device-t``).
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import lightning
import numpy as np
import torch

from seqtasks.benchmarks.tables import markdown_table

HOST_SYNC_NOTE = (
    "host syncs: what made the host wait for the device in one checked batch or step (CUDA: "
    "torch.cuda.set_sync_debug_mode('warn'); every device: a dispatch check for .item(), "
    "nonzero, tensors from host data, copies between devices; on the CPU data is checked in its "
    "tensor form, the code a GPU runs); 'none' is what a GPU needs"
)


def file_stem(device_type: str) -> str:
    """``device-gpu`` for CUDA, else ``device-<type>``."""
    return "device-gpu" if device_type == "cuda" else f"device-{device_type}"


def environment(device: torch.device) -> dict[str, Any]:
    """The device, torch, CUDA and the machine around them."""
    env: dict[str, Any] = {
        "device": device.type,
        "name": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "lightning": lightning.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "load_average": round(os.getloadavg()[0], 2),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(name=props.name, capability=f"{props.major}.{props.minor}",
                   memory_gib=round(props.total_memory / 2**30, 1),
                   driver=_driver())  # fmt: skip
    return env


def _driver() -> str | None:
    try:
        return torch._C._cuda_getDriverVersion()  # an int such as 12040, or absent
    except (AttributeError, RuntimeError):
        return None


def write_report(result: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write ``result`` as ``<stem>.json`` and ``<stem>.md`` into ``out``; their paths."""
    stem = file_stem(result["environment"]["device"])
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / f"{stem}.md", "json": out / f"{stem}.json"}
    result["files"] = {kind: str(path) for kind, path in paths.items()}
    paths["json"].write_text(json.dumps(result, indent=1, default=str) + "\n")
    paths["md"].write_text(markdown(result))
    return paths


def _number(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "-"}[value]
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


# why a run ended, in the report's words (runner.run_job's ``stopped``)
STOPPED = {"solved": "validation criterion met", "time": "time limit", "max_steps": "max steps"}


def _syncs(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"error: {row['error']}"
    return "; ".join(row["host_syncs"]) or "none"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return markdown_table(header, [[_number(cell) for cell in row] for row in rows]).splitlines()


def _section_lines(name: str, section: dict[str, Any], device: str) -> list[str]:
    rows = section["rows"]
    lines = [f"## {name}", "",
             f"Budget {section['budget_s']:g} s (allowed {section['allowed_s']:g} s with time left "
             f"by earlier sections), took {section['elapsed_s']:g} s.", ""]  # fmt: skip
    if name == "data":
        lines.append(f"`seqtasks.make(NAME, batch_size=B, device='{device}')` at default options "
                     "through `DataLoader(batch_size=None)`; timed calls synchronised at both "
                     "ends.")  # fmt: skip
        lines += ["", *_table(["problem", "batch", "samples/s", "batches timed", "host syncs"],
                              [[r["problem"], r["batch"], r.get("samples_per_s", "-"),
                                r.get("calls", "-"), _syncs(r)] for r in rows])]  # fmt: skip
    elif name == "training":
        lines.append("Plain loop over the LightningModule: `forward_train`, `loss`, backward, "
                     "`clip_grad_norm_(1.0)`, the optimiser of `configure_optimizers`; fresh "
                     "batches generated on the device; float32; 2 warm-up steps, then timed steps "
                     "synchronised at both ends. Model options from "
                     "`training/conf/model/FAMILY.yaml`.")  # fmt: skip
        lines += ["", *_table(
            ["family", "model", "task", "T", "batch", "parameters", "steps/s", "sequences/s",
             "steps timed", "host syncs"],
            [[r["family"], r.get("model", "-"), r.get("task", "-"), r["length"], r["batch"],
              r.get("parameters", "-"), r.get("steps_per_s", "-"), r.get("sequences_per_s", "-"),
              r.get("calls", "-"), _syncs(r)] for r in rows])]  # fmt: skip
    elif name == "paper_4":
        lines.append(
            "Through `seqtasks.benchmarks.runner.run_jobs` in this process. Training stops at "
            "the first validation where every one of 2,000 validation sequences is within 0.04 "
            "(stopped: validation criterion met); the seed is solved when every one of the "
            "2,560 test sequences is within 0.04 as well (test accuracy 1)."
        )
        lines += ["", *_table(
            ["command", "solved", "steps", "sequences", "test accuracy", "stopped", "wall s"],
            [[f"`{r['command']}`", r["solved"], r["steps"], r["sequences"], r["test_metric"],
              STOPPED.get(r["stopped"], r["stopped"])
              + (f" ({r['error']})" if r.get("error") else ""), r["seconds"]]
             for r in rows])]  # fmt: skip
    else:
        lines.append("`seqtasks.benchmarks.time_to_solve.time_one`: each command a subprocess; "
                     "wall time of the whole command, start-up included.")  # fmt: skip
        lines += ["", *_table(
            ["command", "model", "solved", "steps", "sequences", "test metric", "train s",
             "wall s"],
            [[f"`{r['command']}`", r.get("model", "-"), r.get("solved", "-"), r.get("steps", "-"),
              r.get("sequences", "-"),
              f"{r['test_metric']} = {r['test_value']:.4g}" if "test_metric" in r
              else f"error: {r['error']}", r.get("fit_seconds", "-"), r.get("wall_seconds", "-")]
             for r in rows])]  # fmt: skip
    cut = section["cut"]
    lines += ["", f"Cut ({len(cut)}): " + ("; ".join(cut) if cut else "nothing"), ""]
    return lines


def _plan_line(plan: dict[str, Any] | None) -> str:
    if not plan:
        return "Work asked: not recorded."

    def words(values: Any) -> str:
        return ", ".join(str(v) for v in values)

    shares = ", ".join(f"{name} {share:.0%}" for name, share in plan["shares"].items())
    return (f"Work asked: data batches {words(plan['data_batches'])}; training T "
            f"{words(plan['lengths'])} x batches {words(plan['train_batches'])}; shares of the "
            f"budget: {shares}.")  # fmt: skip


def markdown(result: dict[str, Any]) -> str:
    env = result["environment"]
    device = env["device"]
    cuda = f"CUDA {env['cuda']}, cuDNN {env['cudnn']}" if env["cuda"] else "no CUDA (CPU build)"
    where = (f"{env['name']} ({env.get('memory_gib')} GiB, capability {env.get('capability')})"
             if device == "cuda" else f"{env['name']} CPU, {env['cpu_count']} cores")  # fmt: skip
    lines = [
        f"# Training and data on {device}: {env['name']}", "",
        f"Command: `{result['command']}` (budget {result['budget_s']:g} s; took "
        f"{result.get('wall_s', 0):g} s{'' if result.get('complete') else ', unfinished'}).", "",
        f"Device: {where}; torch {env['torch']}, {cuda}, Lightning {env['lightning']}, "
        f"Python {env['python']}, torch threads: {env['torch_threads']}, float32 matmul "
        f"precision: {env.get('float32_matmul_precision')}, load average "
        f"{env['load_average']} at the start; {env['platform']}.", "",
        _plan_line(result.get("plan")), "",
        HOST_SYNC_NOTE + ".", "",
    ]  # fmt: skip
    for name, section in result["sections"].items():
        lines += _section_lines(name, section, device)
    return "\n".join(lines)
