"""Optimizers and learning-rate schedules from their config."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

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


def make_optimizer(cfg: Strict, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    if isinstance(cfg, SGD | Momentum):
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, dampening=cfg.dampening,
                               nesterov=cfg.nesterov and cfg.momentum > 0 and cfg.dampening == 0,
                               weight_decay=cfg.weight_decay)
    if isinstance(cfg, AdamW):  # before Adam: AdamW is a subclass of the Adam config
        return torch.optim.AdamW(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps,
                                 weight_decay=cfg.weight_decay, amsgrad=cfg.amsgrad)
    if isinstance(cfg, Adam):
        return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps,
                                weight_decay=cfg.weight_decay, amsgrad=cfg.amsgrad)
    if isinstance(cfg, RMSprop):
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps, momentum=cfg.momentum,
                                   centered=cfg.centered, weight_decay=cfg.weight_decay)
    if isinstance(cfg, Adagrad):
        return torch.optim.Adagrad(params, lr=cfg.lr, lr_decay=cfg.lr_decay, eps=cfg.eps,
                                   initial_accumulator_value=cfg.initial_accumulator_value,
                                   weight_decay=cfg.weight_decay)
    if isinstance(cfg, Adadelta):
        return torch.optim.Adadelta(params, lr=cfg.lr, rho=cfg.rho, eps=cfg.eps,
                                    weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg!r}")


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
