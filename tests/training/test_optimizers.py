"""Optimizers and schedules built from their config, with their PyTorch options."""

import copy
from typing import Any

import pytest
import torch
from torch import nn

from netcanvas.training.config import OPTIMIZERS, TrainConfig
from netcanvas.training.optimizers import implementation_of, make_optimizer, make_scheduler

EXPECTED = {"sgd": torch.optim.SGD, "momentum": torch.optim.SGD, "adam": torch.optim.Adam,
            "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad,
            "adadelta": torch.optim.Adadelta}


@pytest.mark.parametrize("kind", [o.model_fields["type"].default for o in OPTIMIZERS])
def test_every_optimizer_builds_its_pytorch_class_and_takes_a_step(kind: str) -> None:
    layer = nn.Linear(3, 1)
    cfg = TrainConfig.model_validate({"optimizer": {"type": kind, "lr": 0.05, "weight_decay": 0.01}})
    optimizer = make_optimizer(cfg.optimizer, layer.parameters())
    assert type(optimizer) is EXPECTED[kind]
    assert optimizer.param_groups[0]["lr"] == 0.05 and optimizer.param_groups[0]["weight_decay"] == 0.01
    before = layer.weight.detach().clone()
    layer(torch.ones(2, 3)).sum().backward()
    optimizer.step()
    assert not torch.equal(before, layer.weight)


def test_options_reach_pytorch() -> None:
    params = list(nn.Linear(2, 2).parameters())
    momentum = make_optimizer(TrainConfig.model_validate({"optimizer": "momentum"}).optimizer, params)
    assert momentum.param_groups[0]["momentum"] == 0.9
    sgd = make_optimizer(TrainConfig.model_validate(
        {"optimizer": {"type": "sgd", "momentum": 0.5, "nesterov": True}}).optimizer, params)
    assert sgd.param_groups[0]["nesterov"] is True
    adam = make_optimizer(TrainConfig.model_validate(
        {"optimizer": {"type": "adam", "betas": [0.5, 0.9], "amsgrad": True}}).optimizer, params)
    assert adam.param_groups[0]["betas"] == (0.5, 0.9) and adam.param_groups[0]["amsgrad"] is True
    rms = make_optimizer(TrainConfig.model_validate(
        {"optimizer": {"type": "rmsprop", "alpha": 0.9, "centered": True}}).optimizer, params)
    assert rms.param_groups[0]["alpha"] == 0.9 and rms.param_groups[0]["centered"] is True
    adadelta = TrainConfig.model_validate({"optimizer": {"type": "adadelta", "rho": 0.8}}).optimizer
    ada = make_optimizer(adadelta, params)
    assert ada.param_groups[0]["rho"] == 0.8


def lrs(schedule: dict[str, object], epochs: int = 6, values: list[float] | None = None) -> list[float]:
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    scheduler = make_scheduler(TrainConfig.model_validate({"schedule": schedule}).schedule, optimizer, epochs)
    seen = []
    for epoch in range(epochs):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(values[epoch] if values else 1.0)
        elif scheduler is not None:
            scheduler.step()
    return seen


def test_schedules() -> None:
    assert lrs({"type": "step", "step_size": 2, "gamma": 0.5}) == [1, 1, 0.5, 0.5, 0.25, 0.25]
    assert lrs({"type": "exponential", "gamma": 0.5})[:3] == [1, 0.5, 0.25]
    cosine = lrs({"type": "cosine", "eta_min": 0.0}, epochs=4)
    assert cosine[0] == 1 and cosine[2] == pytest.approx(0.5) and cosine == sorted(cosine, reverse=True)
    plateau = lrs({"type": "plateau", "patience": 1, "factor": 0.1}, values=[1, 0.5, 0.5, 0.5, 0.5, 0.5])
    assert plateau[:4] == [1, 1, 1, 1] and plateau[4] == pytest.approx(0.1)
    accuracy = lrs({"type": "plateau", "monitor": "val_accuracy", "patience": 0},
                   values=[0.5, 0.6, 0.7, 0.7, 0, 0])
    assert accuracy[:4] == [1, 1, 1, 1] and accuracy[4] == pytest.approx(0.1)  # auto mode: higher is better


FUSED_KINDS = ["sgd", "momentum", "adam", "adamw", "adagrad"]


@pytest.mark.parametrize("kind", [o.model_fields["type"].default for o in OPTIMIZERS])
def test_on_the_cpu_each_optimizer_takes_its_fused_kernel_where_pytorch_has_one(kind: str) -> None:
    cfg = TrainConfig.model_validate({"optimizer": kind}).optimizer
    optimizer = make_optimizer(cfg, nn.Linear(2, 2).parameters(), torch.device("cpu"))
    assert implementation_of(optimizer) == ("fused" if kind in FUSED_KINDS else "for-loop")


@pytest.mark.parametrize("kind,options", [("sgd", {}), ("sgd", {"weight_decay": 0.01}), ("momentum", {}),
                                          ("momentum", {"nesterov": True}), ("adam", {}), ("adam", {"amsgrad": True}),
                                          ("adam", {"weight_decay": 0.01}), ("adamw", {}), ("adamw", {"amsgrad": True}),
                                          ("adagrad", {}), ("adagrad", {"weight_decay": 0.01})])
def test_fused_optimizers_give_the_plain_ones_results(kind: str, options: dict[str, Any]) -> None:
    torch.manual_seed(0)
    fused_net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    plain_net = copy.deepcopy(fused_net)
    cfg = TrainConfig.model_validate({"optimizer": {"type": kind, "lr": 0.01, **options}}).optimizer
    fused = make_optimizer(cfg, fused_net.parameters(), choice="fused")
    plain = make_optimizer(cfg, plain_net.parameters(), choice="for-loop")
    assert (implementation_of(fused), implementation_of(plain)) == ("fused", "for-loop")
    x, y = torch.randn(256, 8), torch.randint(0, 3, (256,))
    for step in range(40):
        batch = slice(step % 8 * 32, step % 8 * 32 + 32)
        for net, optimizer in ((fused_net, fused), (plain_net, plain)):
            optimizer.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
            optimizer.step()
    torch.manual_seed(0)
    start = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    for a, b, before in zip(fused_net.parameters(), plain_net.parameters(), start.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        assert not torch.allclose(a, before)  # both trained
