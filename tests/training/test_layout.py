"""The memory layout a convolutional model trains in (training/layout.py): channels-last gives the default layout's
results within float rounding, the trained module and its weights come back in the default layout, the trial
leaves the run's random state alone, and a paused run resumes in the layout it paused in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from helpers import chain, mlp
from netcanvas import data
from netcanvas.compiler import compile_graph
from netcanvas.training import TrainConfig, layout, train
from netcanvas.training.events import Event, LogEvent
from netcanvas.training.loop import TrainResult
from netcanvas.training.pause import Pause, load_paused, save_paused

CNN = chain([1, 8, 8], ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
            ("MaxPool2d", {"kernel_size": 2}), ("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}),
            ("BatchNorm2d", {}), ("ReLU", {}), ("Flatten", {}),
            ("Linear", {"out_features": 10}), name="small-cnn")
CONFIG = {"epochs": 3, "batch_size": 64, "seed": 5, "optimizer": {"type": "adam", "lr": 0.01},
          "metrics": ["accuracy"], "health": None}


def fit(monkeypatch: pytest.MonkeyPatch, speedup: float | None, pause: Pause | None = None,
        config: dict[str, Any] | None = None) -> tuple[TrainResult, list[Event], Any]:
    """A run whose layout trial reports ``speedup`` (channels-last is kept from 1 + MARGIN on)."""
    tried: list[bool] = []

    def trial(*args: Any) -> float | None:
        tried.append(True)
        return speedup

    monkeypatch.setattr(layout, "channels_last_speedup", trial)
    cfg = TrainConfig.model_validate({**CONFIG, **(config or {})})
    torch.manual_seed(cfg.seed)
    compiled = compile_graph(CNN)
    prepared = data.prepare(data.load("digits"), compiled, seed=cfg.seed, validation_split=cfg.validation_split)
    events: list[Event] = []
    result = train(compiled, prepared, cfg, events.append, pause=pause)
    assert tried == ([] if pause is not None and pause.resume is not None else [True])
    return result, events, compiled


def layout_of(events: list[Event]) -> bool:
    first = next(e for e in events if isinstance(e, LogEvent) and e.message.startswith("training on cpu"))
    return "channels-last" in first.message


def test_channels_last_trains_to_the_same_results_and_gives_back_the_default_layout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sgd = {"optimizer": {"type": "sgd", "lr": 0.01}}  # (Adam's g/sqrt(v) would blow rounding up where g is ~0)
    default, default_events, _ = fit(monkeypatch, None, config=sgd)
    last, last_events, compiled = fit(monkeypatch, 1 + layout.MARGIN, config=sgd)
    assert not layout_of(default_events) and layout_of(last_events)
    for a, b in zip(default.history, last.history, strict=True):
        assert a["metrics"] == pytest.approx(b["metrics"], rel=1e-3, abs=1e-4)
    assert last.test_metrics == pytest.approx(default.test_metrics, rel=1e-3, abs=1e-4)
    assert all(p.is_contiguous() for p in compiled.module.parameters())
    assert last.best_state is not None and all(t.is_contiguous() for t in last.best_state.values())


def test_a_speedup_under_the_margin_keeps_the_default_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    _, events, _ = fit(monkeypatch, 1 + layout.MARGIN / 2)
    assert not layout_of(events)


def test_the_trial_changes_nothing_the_run_computes() -> None:
    """Timed on copies inside a forked random state: the module, and the random numbers drawn next, are as before."""
    torch.manual_seed(0)
    compiled = compile_graph(CNN)
    before = {k: v.clone() for k, v in compiled.module.state_dict().items()}
    batch = torch.randn(16, 1, 8, 8)
    targets = torch.randint(0, 10, (16,))

    def step(module: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        loss = torch.nn.functional.cross_entropy(module(batch), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    state = torch.get_rng_state()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as runs train (several threads on a busy machine can make a step slow to try)
    try:
        speedup = layout.channels_last_speedup(compiled.module, lambda m: torch.optim.Adam(m.parameters()), step)
    finally:
        torch.set_num_threads(threads)
    assert speedup is not None and speedup > 0
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(before[k], v) for k, v in compiled.module.state_dict().items())
    assert all(p.is_contiguous() for p in compiled.module.parameters())


def test_only_convolutional_models_without_dropout_on_the_cpu_are_tried() -> None:
    assert layout.may_try(compile_graph(CNN).module, torch.device("cpu"))
    assert not layout.may_try(compile_graph(mlp(4, 3)).module, torch.device("cpu"))
    assert not layout.may_try(compile_graph(CNN).module, torch.device("meta"))
    dropout = chain([1, 8, 8], ("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("Dropout", {"p": 0.2}),
                    ("Flatten", {}), ("Linear", {"out_features": 10}))
    assert not layout.may_try(compile_graph(dropout).module, torch.device("cpu"))


def test_a_paused_run_resumes_in_the_layout_it_paused_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    whole, _, whole_model = fit(monkeypatch, 2.0)
    file = tmp_path / "pause.pt"
    asked = iter(range(10**9))
    paused, _, _ = fit(monkeypatch, 2.0, Pause(requested=lambda: next(asked) == 30,
                                              save=lambda state: save_paused(file, state)))
    assert paused.status == "paused"
    state = load_paused(file)
    assert state.extra["channels_last"] is True
    # the resumed run does not try again (fit asserts it): it would now find the default layout quicker
    resumed, events, resumed_model = fit(monkeypatch, None, Pause(requested=lambda: False, save=lambda s: None,
                                                                  resume=state))
    assert layout_of(events)
    assert [h["metrics"] for h in resumed.history] == [h["metrics"] for h in whole.history]
    got, want = resumed_model.module.state_dict(), whole_model.module.state_dict()
    assert all(torch.equal(got[k], want[k]) for k in want)
