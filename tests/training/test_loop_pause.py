"""Pause and resume in one process: a run paused at a step and resumed from its checkpoint (with the process's
random generators scrambled in between, as a new process would have them) ends bit for bit as the uninterrupted
run with the same seed; a missing or damaged checkpoint is an error naming the file."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from helpers import chain
from netcanvas import data
from netcanvas.compiler import compile_graph
from netcanvas.training import TrainConfig, train
from netcanvas.training.events import BatchEvent, EpochEvent, Event, LogEvent, StatusEvent
from netcanvas.training.loop import TrainResult
from netcanvas.training.pause import CheckpointError, Pause, load_paused
from pausehelpers import pause_at, paused_twice_then_resumed, scramble

GRAPH = chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": 32}), ("ReLU", {}), ("Dropout", {"p": 0.3}),
              ("BatchNorm1d", {}), ("Linear", {"out_features": 10}), name="digits-dropout")
CONFIG = {"epochs": 4, "batch_size": 64, "seed": 7, "optimizer": {"type": "adam", "lr": 0.01},
          "schedule": {"type": "step", "step_size": 1, "gamma": 0.7}, "metrics": ["accuracy"],
          "early_stopping": {"monitor": "val_loss", "patience": 3}}


def noisy(inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """An augmentation that draws from torch's, NumPy's and Python's generators."""
    scale = 0.05 * random.random()
    shift = torch.from_numpy(np.random.normal(0, 0.01, size=inputs[0].shape[1:]).astype(np.float32))
    return [x + scale * torch.randn_like(x) + shift for x in inputs]


def fit(pause: Pause | None = None, config: dict[str, Any] = CONFIG) -> tuple[TrainResult, list[Event], Any]:
    cfg = TrainConfig.model_validate(config)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)  # the loop seeds torch; the augmentation above also draws from these
    random.seed(cfg.seed)
    compiled = compile_graph(GRAPH)
    prepared = data.prepare(data.load("digits"), compiled, seed=cfg.seed, validation_split=cfg.validation_split)
    prepared.augment = noisy
    events: list[Event] = []
    return train(compiled, prepared, cfg, events.append, pause=pause), events, compiled


@pytest.mark.parametrize("where", ["mid-epoch", "first-step-of-an-epoch", "before-any-step"])
def test_a_paused_and_resumed_run_ends_as_the_uninterrupted_one(tmp_path: Path, where: str) -> None:
    whole, whole_events, whole_model = fit()
    assert whole.status == "completed" and len(whole.history) == 4
    steps = next(e.steps for e in whole_events if isinstance(e, BatchEvent))
    step = {"mid-epoch": steps + 5, "first-step-of-an-epoch": 2 * steps, "before-any-step": 0}[where]

    file = tmp_path / "pause.pt"
    first, first_events, _ = fit(pause_at(step, file))
    assert first.status == "paused"
    assert isinstance(first_events[-1], StatusEvent) and first_events[-1].status == "paused"
    assert not any(e.type == "done" for e in first_events)

    scramble()  # a new process: its generators are wherever they are
    state = load_paused(file)
    resumed, events, resumed_model = fit(Pause(requested=lambda: False, save=lambda s: None, resume=state))
    assert resumed.status == "completed"
    assert any(isinstance(e, LogEvent) and e.message.startswith("resumed at epoch") for e in events)

    assert [h["metrics"] for h in resumed.history] == [h["metrics"] for h in whole.history]
    assert [h["lr"] for h in resumed.history] == [h["lr"] for h in whole.history]
    assert resumed.metrics == whole.metrics and resumed.test_metrics == whole.test_metrics
    assert resumed.best_epoch == whole.best_epoch
    got, want = resumed_model.module.state_dict(), whole_model.module.state_dict()
    assert all(torch.equal(got[k], want[k]) for k in want)
    epochs = [e.epoch for e in events if isinstance(e, EpochEvent)]
    assert epochs == list(range(state.epoch, 5))  # the resumed run reports the epochs it trained, once each


def test_pausing_twice_still_ends_as_the_uninterrupted_run(tmp_path: Path) -> None:
    whole, _, _ = fit()
    resumed, _, _ = paused_twice_then_resumed(fit, tmp_path / "pause.pt", 5, 30)
    assert [h["metrics"] for h in resumed.history] == [h["metrics"] for h in whole.history]
    assert resumed.test_metrics == whole.test_metrics


def test_a_checkpoint_that_does_not_fit_the_run_fails_it_with_a_reason(tmp_path: Path) -> None:
    file = tmp_path / "pause.pt"
    fit(pause_at(3, file))
    state = load_paused(file)
    result, events, _ = fit(Pause(requested=lambda: False, save=lambda s: None, resume=state),
                            {**CONFIG, "batch_size": 32})
    assert result.status == "failed"
    assert result.error is not None and "steps per epoch" in result.error and "batch size" in result.error


def test_a_missing_or_damaged_checkpoint_is_an_error_naming_the_file(tmp_path: Path) -> None:
    file = tmp_path / "pause.pt"
    with pytest.raises(CheckpointError, match="pause.pt is missing"):
        load_paused(file)
    fit(pause_at(2, file))
    whole = file.read_bytes()
    file.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CheckpointError, match="pause.pt cannot be read"):
        load_paused(file)
    file.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="pause.pt cannot be read"):
        load_paused(file)
    torch.save({"format": "something/else"}, file)
    with pytest.raises(CheckpointError, match="not a NetCanvas pause checkpoint"):
        load_paused(file)
    torch.save({"format": "netcanvas.pause/1", "epoch": 1}, file)
    with pytest.raises(CheckpointError, match="pause.pt is incomplete"):
        load_paused(file)


def test_a_checkpoint_that_cannot_be_written_lets_training_go_on(tmp_path: Path) -> None:
    def refuse(state: Any) -> None:
        raise OSError(28, "No space left on device")

    asked = iter(range(10**9))
    result, events, _ = fit(Pause(requested=lambda: next(asked) == 4, save=refuse))
    assert result.status == "completed"
    assert any(isinstance(e, LogEvent) and "could not write the pause checkpoint" in e.message for e in events)
