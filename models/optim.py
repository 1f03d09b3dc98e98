"""The models' optimiser (``SequenceModel.configure_optimizers``): AdamW, as torch's fused kernel
where it runs, with weight decay on the weight matrices alone.

Where ``weight_decay`` is above 0, a parameter with fewer than 2 dimensions (a bias, a norm's
gain, the LRU's ring ``nu_log``/``theta_log``/``gamma_log``, Mamba's ``D``), a weight norm's
magnitude (the TCN's ``parametrizations.weight.original0``; ``weight_g`` of torch's older
``torch.nn.utils.weight_norm``, in a user's net) or one named in its module's
``no_weight_decay`` (Mamba's ``A_log``, as in its reference code) is not decayed: decay would pull
a bias and a norm toward 0, and a state space model's poles toward fast forgetting (the LRU's
longest time constant fell from 220 to 55 steps in 1,000 steps of decay 0.1 alone). With
``weight_decay=0`` (every config's default) the optimiser holds one group, as before; a checkpoint
saved with decay before this split (one group) cannot be resumed into two, which
:func:`seqtasks.training.resume_check.check_resume` refuses by name.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.plugins import MixedPrecision
from torch import nn
from torch.nn.utils.weight_norm import WeightNorm

FUSED_DEVICES = ("cpu", "cuda")  # where torch's fused AdamW runs


def parameter_groups(module: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """The optimiser's groups: one of every parameter without decay; else the decayed matrices and
    the rest at ``weight_decay=0`` (an empty group left out)."""
    parameters = list(module.parameters())
    if not weight_decay:
        return [{"params": parameters, "weight_decay": 0.0}]
    named = {id(getattr(part, name)) for part in module.modules()
             for name in getattr(part, "no_weight_decay", ())}  # fmt: skip
    for part in module.modules():  # a weight norm's magnitude g is a norm's gain (original1: v)
        for chain in getattr(part, "parametrizations", {}).values():
            if any(type(step).__name__ == "_WeightNorm" for step in chain):
                named.add(id(chain.original0))
        for hook in part._forward_pre_hooks.values():  # the older weight norm: NAME_g, NAME_v
            if isinstance(hook, WeightNorm):
                named.add(id(getattr(part, f"{hook.name}_g")))
    decayed: list[nn.Parameter] = []
    kept: list[nn.Parameter] = []
    for parameter in parameters:
        (kept if parameter.ndim < 2 or id(parameter) in named else decayed).append(parameter)
    groups = [{"params": decayed, "weight_decay": weight_decay},
              {"params": kept, "weight_decay": 0.0}]  # fmt: skip
    return [group for group in groups if group["params"]]


def adamw(module: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW, as torch's fused kernel where it runs: every parameter a float on the CPU or a CUDA
    device, outside Lightning's mixed precision, no gradient scaler (Lightning refuses to clip for
    an optimiser that unscales itself, FSDP's would clip scaled). The same arithmetic as torch's
    AdamW to rounding, faster (``python -m seqtasks.benchmarks.optimizers``)."""
    parameters = list(module.parameters())
    trainer = getattr(module, "_trainer", None)  # None outside a Trainer (a user's own loop)
    precision = getattr(trainer, "precision_plugin", None)
    fused = (
        not isinstance(precision, MixedPrecision)
        and getattr(precision, "scaler", None) is None
        and bool(parameters)
        and all(p.is_floating_point() and p.device.type in FUSED_DEVICES for p in parameters)
    )
    groups = parameter_groups(module, weight_decay)
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay, fused=fused or None)
