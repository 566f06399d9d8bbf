"""The memory layout a convolutional model trains in on the CPU (docs/training-config.md, "Memory layout").

oneDNN's CPU convolutions and pooling are often quicker on channels-last tensors (NHWC) than on PyTorch's default
NCHW, but not for every model and size. So before the first step a model with ``Conv2d`` layers trains a few
steps on copies of itself in each layout, interleaved, and keeps channels-last only when its quickest step beats
the default's by ``MARGIN``. The copies have their own optimizer and run inside a forked random state: the trial
changes nothing the run computes. The layout changes how tensors are stored, not what they hold: results agree
within float rounding. Checkpoints, the best weights and the trained module come back in the default layout.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable

import torch
from torch import nn

TRIAL_ROUNDS = 8
"""Steps timed in each layout (after one untimed warm-up step each); the quickest of each counts."""
MARGIN = 0.02
"""Channels-last must be this much quicker (2 %) to be kept: a tie stays in the default layout."""
MAX_STEP_S = 0.2
"""A model whose first timed step takes longer is not tried (the trial would cost more than it could save)."""
MAX_PARAMETERS = 20_000_000
"""Nor is a bigger model (the trial holds two copies of it and their optimizer states)."""

Step = Callable[[nn.Module, torch.optim.Optimizer], None]
"""One training step of a module (forward, loss, backward, optimizer step) on a fixed batch."""


def may_try(module: nn.Module, device: torch.device) -> bool:
    """Whether the layout trial applies: a module with 2-d convolutions, on the CPU, not too big, and without
    dropout (which draws its mask in memory order: another layout would drop other units)."""
    modules = list(module.modules())
    if device.type != "cpu" or not any(isinstance(m, nn.Conv2d) for m in modules):
        return False
    if any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0 for m in modules):
        return False
    return sum(p.numel() for p in module.parameters()) <= MAX_PARAMETERS


def to_layout(module: nn.Module, channels_last: bool) -> None:
    """The module's 4-d weights in place (the Parameter objects stay, so an optimizer over them stays valid)."""
    format_ = torch.channels_last if channels_last else torch.contiguous_format
    module.to(memory_format=format_)  # type: ignore[call-overload]  # (accepted, missing from the stubs)


def channels_last_speedup(module: nn.Module, make_optimizer: Callable[[nn.Module], torch.optim.Optimizer],
                          step: Step) -> float | None:
    """How many times quicker a step of ``module`` is in channels-last than in the default layout, timed on
    copies; None when the model is too slow to try or a channels-last step fails."""
    copies = {last: copy.deepcopy(module) for last in (False, True)}
    quickest = {False: math.inf, True: math.inf}
    with torch.random.fork_rng(devices=[]):
        optimizers = {}
        for last, model in copies.items():
            to_layout(model, last)
            model.train()
            optimizers[last] = make_optimizer(model)
        for round_ in range(TRIAL_ROUNDS + 1):
            for last in (False, True):
                started = time.perf_counter()
                try:
                    step(copies[last], optimizers[last])
                except Exception:  # a layer that cannot take channels-last tensors, or a model the run will fail on
                    return None
                took = time.perf_counter() - started
                if round_ == 1 and took > MAX_STEP_S:  # (the warm-up step may pay for a first call's setup)
                    return None
                if round_ > 0:
                    quickest[last] = min(quickest[last], took)
    return quickest[False] / quickest[True]
