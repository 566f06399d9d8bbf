"""Optimizers and learning-rate schedules from their config.

Each optimizer takes the fastest implementation PyTorch has for it on the training device
(``implementation``): the fused kernel where there is one (Adam, AdamW, SGD and Adagrad, on
the CPU as on GPUs; one kernel for all parameters instead of a dozen small ops each), else
the multi-tensor ``foreach`` one on GPUs, else the per-parameter loop. They compute the same
update up to float rounding (tests/training/test_optimizers.py compares them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import torch
from torch import nn
from torch.utils._foreach_utils import _get_foreach_kernels_supported_devices, _get_fused_kernels_supported_devices

from .config import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    AdamW,
    CosineLR,
    ExponentialLR,
    Momentum,
    PlateauLR,
    RMSprop,
    StepLR,
    Strict,
)
from .metrics import monitor_mode

Scheduler = torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau
Implementation = Literal["fused", "foreach", "for-loop"]
FUSED: dict[type[torch.optim.Optimizer], tuple[str, ...]] = {
    torch.optim.Adam: tuple(_get_fused_kernels_supported_devices()),
    torch.optim.AdamW: tuple(_get_fused_kernels_supported_devices()),
    torch.optim.SGD: tuple(_get_fused_kernels_supported_devices()),
    torch.optim.Adagrad: ("cpu", "cuda"),  # its fused kernel exists for these two only
}
"""Optimizers with a fused kernel, and the device types it runs on (torch 2.13)."""


def implementation(kind: type[torch.optim.Optimizer], device: torch.device) -> Implementation:
    """The fastest implementation of ``kind`` on ``device``: fused, else foreach on accelerators, else the loop
    (foreach on the CPU is slower than the loop: 0.85-0.93x on the bench/train.py workloads)."""
    if device.type in FUSED.get(kind, ()):
        return "fused"
    if device.type != "cpu" and device.type in _get_foreach_kernels_supported_devices():
        return "foreach"
    return "for-loop"


def optimizer_class(cfg: Strict) -> tuple[type[torch.optim.Optimizer], dict[str, Any]]:
    """The torch optimizer a config names, and its keyword arguments."""
    if isinstance(cfg, SGD | Momentum):
        return torch.optim.SGD, {"lr": cfg.lr, "momentum": cfg.momentum, "dampening": cfg.dampening,
                                 "nesterov": cfg.nesterov and cfg.momentum > 0 and cfg.dampening == 0,
                                 "weight_decay": cfg.weight_decay}
    if isinstance(cfg, Adam):  # AdamW's config is a subclass of Adam's
        kind = torch.optim.AdamW if isinstance(cfg, AdamW) else torch.optim.Adam
        return kind, {"lr": cfg.lr, "betas": (cfg.beta1, cfg.beta2), "eps": cfg.eps,
                      "weight_decay": cfg.weight_decay, "amsgrad": cfg.amsgrad}
    if isinstance(cfg, RMSprop):
        return torch.optim.RMSprop, {"lr": cfg.lr, "alpha": cfg.alpha, "eps": cfg.eps, "momentum": cfg.momentum,
                                     "centered": cfg.centered, "weight_decay": cfg.weight_decay}
    if isinstance(cfg, Adagrad):
        return torch.optim.Adagrad, {"lr": cfg.lr, "lr_decay": cfg.lr_decay, "eps": cfg.eps,
                                     "initial_accumulator_value": cfg.initial_accumulator_value,
                                     "weight_decay": cfg.weight_decay}
    if isinstance(cfg, Adadelta):
        return torch.optim.Adadelta, {"lr": cfg.lr, "rho": cfg.rho, "eps": cfg.eps, "weight_decay": cfg.weight_decay}
    raise ValueError(f"unknown optimizer {cfg!r}")


def make_optimizer(cfg: Strict, params: Iterable[nn.Parameter] | Iterable[dict[str, Any]],
                   device: torch.device | None = None, choice: Implementation | None = None) -> torch.optim.Optimizer:
    """The optimizer of ``cfg`` over ``params`` or parameter groups (which live on ``device``, the CPU by
    default), in the implementation ``choice`` or else the fastest there (``implementation``)."""
    kind, options = optimizer_class(cfg)
    choice = choice or implementation(kind, device or torch.device("cpu"))
    if choice != "for-loop":
        options[choice] = True
    else:
        options["foreach"] = False
    return kind(params, **options)


def implementation_of(optimizer: torch.optim.Optimizer) -> Implementation:
    """Which implementation an optimizer steps with."""
    group = optimizer.param_groups[0]
    return "fused" if group.get("fused") else "foreach" if group.get("foreach") else "for-loop"


def make_scheduler(cfg: Strict | None, optimizer: torch.optim.Optimizer, epochs: int) -> Scheduler | None:
    """A scheduler stepped once per epoch (the plateau one with the monitored metric)."""
    if cfg is None:
        return None
    if isinstance(cfg, StepLR):
        return torch.optim.lr_scheduler.StepLR(optimizer, cfg.step_size, cfg.gamma)
    if isinstance(cfg, ExponentialLR):
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, cfg.gamma)
    if isinstance(cfg, CosineLR):
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, cfg.t_max or max(1, epochs), cfg.eta_min)
    if isinstance(cfg, PlateauLR):
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=monitor_mode(cfg.monitor, cfg.mode), factor=cfg.factor, patience=cfg.patience,
            threshold=cfg.threshold, cooldown=cfg.cooldown, min_lr=cfg.min_lr)
    raise ValueError(f"unknown schedule {cfg!r}")
