"""Pause and resume through the run manager with real worker processes: a run (an ordinary one, a GAN) paused, its
server restarted, and resumed ends with the metrics of the same run never paused; its events go on with the same
numbering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from starlette.testclient import TestClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from helpers import chain
from netcanvas.templates import list_templates
from netcanvas.training.tensorboard import LOG_DIR
from runhelpers import app_client, start_run, wait_for, watch

GRAPH = chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": 32}), ("ReLU", {}), ("Dropout", {"p": 0.3}),
              ("Linear", {"out_features": 10}), name="digits-dropout")
CONFIG: dict[str, Any] = {"epochs": 6, "batch_size": 8, "seed": 3, "optimizer": {"type": "adam", "lr": 0.003},
          "schedule": {"type": "step", "step_size": 2, "gamma": 0.8}}


def pause_after_epoch(client: TestClient, run_id: str, epoch: int) -> None:
    """Ask for a pause once the run reports ``epoch``; wait until it is paused."""
    with client.websocket_connect(f"/api/runs/{run_id}/events") as ws:
        while True:
            event = ws.receive_json()
            assert event["type"] != "done", event
            if event["type"] == "epoch" and event["epoch"] >= epoch:
                break
    r = client.post(f"/api/runs/{run_id}/pause")
    assert r.status_code == 200, r.text
    wait_for(client, run_id, ("paused",))


def history(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [h["metrics"] for h in run["history"]]


def whole_and_paused(tmp_path: Path, graph: dict[str, Any], config: dict[str, Any],
                     epoch: int) -> tuple[str, dict[str, Any], str]:
    """One run trained through on a server of its own (tmp_path/once), and the same run paused after ``epoch`` on
    another (tmp_path/paused), which then stops: the whole run's id and record, and the paused run's id."""
    with app_client(tmp_path / "once") as client:
        whole_id = start_run(client, graph, "digits", config)
        whole = wait_for(client, whole_id, ("completed",), timeout=120)
    with app_client(tmp_path / "paused") as client:
        run_id = start_run(client, graph, "digits", config)
        pause_after_epoch(client, run_id, epoch)
        paused = client.get(f"/api/runs/{run_id}").json()
        assert paused["status"] == "paused" and paused["epochs_done"] < config["epochs"]
        before = client.get(f"/api/runs/{run_id}/events").json()
        assert before[-1]["type"] == "status" and before[-1]["status"] == "paused"
        assert before[-1]["message"].startswith("paused at epoch")
    return whole_id, whole, run_id


def test_a_run_paused_before_a_restart_and_resumed_ends_as_if_never_paused(tmp_path: Path) -> None:
    _, whole, run_id = whole_and_paused(tmp_path, GRAPH, CONFIG, 2)
    assert (tmp_path / "paused" / "runs" / run_id / "pause.pt").is_file()

    with app_client(tmp_path / "paused") as client:  # a new server on the same database and data directory
        run = client.get(f"/api/runs/{run_id}").json()
        assert run["status"] == "paused", run  # not failed: a paused run waits for its resume
        r = client.post(f"/api/runs/{run_id}/resume")
        assert r.status_code == 200, r.text
        assert r.json()["status"] in ("queued", "running")
        events = watch(client, run_id)
        resumed = wait_for(client, run_id, ("completed",), timeout=120)

    assert history(resumed) == history(whole)
    assert resumed["test_metrics"] == whole["test_metrics"] and resumed["best"] == whole["best"]
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1))  # one numbering across the pause and the restart
    statuses = [(e["status"], e.get("message")) for e in events if e["type"] == "status"]
    assert [s for s, _ in statuses] == ["queued", "running", "paused", "queued", "running"]
    assert statuses[-1][1] == "resumed"
    assert [e["epoch"] for e in events if e["type"] == "epoch"] == list(range(1, CONFIG["epochs"] + 1))
    assert not (tmp_path / "paused" / "runs" / run_id / "pause.pt").exists()  # removed once the run ended


def test_a_gan_run_paused_before_a_restart_and_resumed_ends_as_if_never_paused(tmp_path: Path) -> None:
    template = next(t for t in list_templates() if t["id"] == "dcgan-digits")
    graph, config = template["graph"], {**template["config"], "epochs": 4, "batch_size": 64, "seed": 4}
    whole_id, whole, run_id = whole_and_paused(tmp_path, graph, config, 1)
    with app_client(tmp_path / "paused") as client:
        assert client.post(f"/api/runs/{run_id}/resume").status_code == 200
        events = watch(client, run_id)
        resumed = wait_for(client, run_id, ("completed",), timeout=120)

    assert history(resumed) == history(whole)
    assert resumed["test_metrics"] == whole["test_metrics"] and resumed["best"] == whole["best"]
    weights = [load_file(tmp_path / where / "runs" / run / "best.safetensors")
               for where, run in (("once", whole_id), ("paused", run_id))]
    assert weights[0].keys() == weights[1].keys() and {"g_fc.weight", "d_fc.weight"} <= weights[0].keys()
    assert all(torch.allclose(weights[0][k], weights[1][k], rtol=1e-6, atol=1e-7) for k in weights[0])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["status"] for e in events if e["type"] == "status"] == ["queued", "running", "paused", "queued",
                                                                      "running"]
    assert [e["epoch"] for e in events if e["type"] == "epoch"] == list(range(1, config["epochs"] + 1))
    board = EventAccumulator(str(tmp_path / "paused" / "runs" / run_id / LOG_DIR), size_guidance={"scalars": 0})
    board.Reload()  # one event file from before the pause, one from after: each epoch once
    assert [s.step for s in board.Scalars("g_loss/train")] == list(range(1, config["epochs"] + 1))
    assert [s.value for s in board.Scalars("g_loss/train")] == pytest.approx([h["g_loss"] for h in history(whole)],
                                                                             rel=1e-6)


def test_a_paused_run_can_be_stopped_or_deleted_and_frees_its_worker(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        run_id = start_run(client, GRAPH, "digits", {**CONFIG, "epochs": 1000})
        pause_after_epoch(client, run_id, 1)
        other = start_run(client, GRAPH, "digits", {**CONFIG, "epochs": 1})  # the paused run holds no slot
        wait_for(client, other, ("completed",), timeout=120)

        r = client.post(f"/api/runs/{run_id}/stop")
        assert r.status_code == 200 and r.json()["status"] == "stopped", r.text
        run = client.get(f"/api/runs/{run_id}").json()
        assert "best_weights" in {a["kind"] for a in run["artifacts"]}
        assert not (tmp_path / "runs" / run_id / "pause.pt").exists()
        assert client.get(f"/api/runs/{run_id}/export", params={"format": "weights"}).status_code == 200

        second = start_run(client, GRAPH, "digits", {**CONFIG, "epochs": 1000})
        pause_after_epoch(client, second, 1)
        assert client.delete(f"/api/runs/{second}").status_code == 204
        assert not (tmp_path / "runs" / second).exists()


def test_a_resumed_run_still_queued_when_the_server_stops_is_paused_again(tmp_path: Path) -> None:
    endless = {**CONFIG, "epochs": 1000}
    with app_client(tmp_path, max_concurrent_runs=1) as client:
        run_id = start_run(client, GRAPH, "digits", endless)
        pause_after_epoch(client, run_id, 1)
        busy = start_run(client, GRAPH, "digits", endless)  # takes the only worker slot
        wait_for(client, busy, ("running",))
        assert client.post(f"/api/runs/{run_id}/resume").json()["status"] == "queued"
    with app_client(tmp_path, max_concurrent_runs=1) as client:
        run = client.get(f"/api/runs/{run_id}").json()
        assert run["status"] == "paused" and run["error"] is None, run
        assert client.get(f"/api/runs/{busy}").json()["status"] == "stopped"
        assert client.post(f"/api/runs/{run_id}/resume").status_code == 200
        wait_for(client, run_id, ("running",))
        client.post(f"/api/runs/{run_id}/stop")
        wait_for(client, run_id, ("stopped",))
