"""Pausing a GAN run in one process: paused at a step and resumed from its checkpoint (with the process's random
generators scrambled in between, as a new process would have them), it ends bit for bit as the uninterrupted run
with the same seed; a checkpoint that does not fit the run fails it with the reason."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch

from helpers import chain
from netcanvas import data
from netcanvas.compiler import compile_graph
from netcanvas.templates import list_templates
from netcanvas.training import TrainConfig, train
from netcanvas.training.events import BatchEvent, DoneEvent, EpochEvent, Event, LogEvent, StatusEvent
from netcanvas.training.gan import GanParts, split_gan, train_gan
from netcanvas.training.loop import TrainResult
from netcanvas.training.pause import Pause, load_paused
from pausehelpers import pause_at, paused_twice_then_resumed, resuming, scramble

TEMPLATE = next(t for t in list_templates() if t["id"] == "dcgan-digits")


def with_dropout(graph: dict[str, Any]) -> dict[str, Any]:
    """The template with a Dropout in the discriminator: its masks draw from torch's global generator."""
    graph = copy.deepcopy(graph)
    graph["nodes"].append({"id": "d_drop", "type": "Dropout", "params": {"p": 0.2}})
    edge = next(e for e in graph["edges"] if e["source"] == "d_lrelu2" and e["target"] == "d_flat")
    graph["edges"].remove(edge)
    graph["edges"] += [{"source": "d_lrelu2", "target": "d_drop"}, {"source": "d_drop", "target": "d_flat"}]
    return graph


GRAPH = with_dropout(TEMPLATE["graph"])


def fit(pause: Pause | None = None, **config: Any) -> tuple[TrainResult, list[Event], GanParts]:
    cfg = TrainConfig.model_validate({**TEMPLATE["config"], "epochs": 2, "batch_size": 64, "seed": 5,
                                      **config, "gan": {**TEMPLATE["config"]["gan"], **config.get("gan", {})}})
    assert cfg.gan is not None
    torch.manual_seed(cfg.seed)
    parts = split_gan(GRAPH, cfg.gan)
    prepared = data.prepare(data.load("digits"), parts.data_signature, seed=cfg.seed, validation_split=0.2)
    events: list[Event] = []
    return train_gan(parts, prepared, cfg, events.append, pause=pause), events, parts


@pytest.mark.parametrize(("loss", "where"), [("non_saturating", "mid-epoch"), ("wgan_gp", "mid-epoch"),
                                             ("non_saturating", "first-step-of-an-epoch"),
                                             ("non_saturating", "before-any-step")])
def test_a_paused_and_resumed_gan_run_ends_as_the_uninterrupted_one(tmp_path: Path, loss: str, where: str) -> None:
    whole, whole_events, whole_parts = fit(gan={"loss": loss})
    assert whole.status == "completed", whole.error
    steps = next(e.steps for e in whole_events if isinstance(e, BatchEvent))
    step = {"mid-epoch": steps + 3, "first-step-of-an-epoch": steps, "before-any-step": 0}[where]

    file = tmp_path / "pause.pt"
    first, first_events, _ = fit(pause_at(step, file), gan={"loss": loss})
    assert first.status == "paused", first.error
    last = first_events[-1]
    assert isinstance(last, StatusEvent) and last.status == "paused" and last.message is not None
    assert last.message.startswith(f"paused at epoch {step // steps + 1}, step {step % steps + 1} of {steps}")
    assert not any(isinstance(e, DoneEvent) for e in first_events) and not first.test_metrics
    assert first.last_state is not None and {"g_fc.weight", "d_fc.weight"} <= set(first.last_state)

    scramble()  # a new process: its generators are wherever they are
    resumed, events, parts = fit(resuming(file), gan={"loss": loss})
    assert resumed.status == "completed", resumed.error
    assert any(isinstance(e, LogEvent) and e.message.startswith("resumed at epoch") for e in events)

    assert [h["metrics"] for h in resumed.history] == [h["metrics"] for h in whole.history]
    assert resumed.metrics == whole.metrics and resumed.test_metrics == whole.test_metrics
    assert resumed.best_epoch == whole.best_epoch == 2
    got, want = parts.state(), whole_parts.state()
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)  # BatchNorm's buffers too
    assert [e.epoch for e in events if isinstance(e, EpochEvent)] == list(range(step // steps + 1, 3))
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.status == "completed"


def test_pausing_a_gan_run_twice_still_ends_as_the_uninterrupted_run(tmp_path: Path) -> None:
    whole, _, whole_parts = fit()
    file = tmp_path / "pause.pt"
    resumed, _, parts = paused_twice_then_resumed(fit, file, 4, 20)
    assert load_paused(file).step > 4  # the second pause's checkpoint
    assert [h["metrics"] for h in resumed.history] == [h["metrics"] for h in whole.history]
    assert all(torch.equal(parts.state()[k], v) for k, v in whole_parts.state().items())


def test_a_checkpoint_that_does_not_fit_the_gan_run_fails_it_with_a_reason(tmp_path: Path) -> None:
    file = tmp_path / "pause.pt"
    fit(pause_at(3, file))
    result, events, _ = fit(resuming(file), batch_size=32)
    assert result.status == "failed" and result.error is not None
    assert "steps per epoch" in result.error and "batch size" in result.error
    assert isinstance(events[-1], DoneEvent) and events[-1].status == "failed"

    ordinary = tmp_path / "ordinary.pt"  # an ordinary run's checkpoint where a GAN's was
    cfg = TrainConfig(epochs=1, batch_size=64)
    compiled = compile_graph(chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": 10})))
    train(compiled, data.prepare(data.load("digits"), compiled, seed=0), cfg, lambda e: None,
          pause=pause_at(1, ordinary))
    result, _, _ = fit(resuming(ordinary))
    assert result.status == "failed" and result.error == ("the pause checkpoint is not a GAN run's: it does not "
                                                          "fit this run")
