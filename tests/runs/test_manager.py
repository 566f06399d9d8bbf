"""The run manager with real worker processes: weights that survive a killed worker or server, the best epoch
as training decided it, and a server shutdown with runs running and queued."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load as load_safetensors
from starlette.testclient import TestClient

from netcanvas import data
from netcanvas.artifacts import RunDir
from netcanvas.runs.manager import RunManager
from netcanvas.training import TrainConfig, evaluate
from runhelpers import DIGITS_MLP, IRIS_MLP, LONG, app_client, start_run, wait_for, watch

BLANK_DIGIT = {"x": [[[0.0] * 8] * 8]}


def epoch_at_least(client: TestClient, run_id: str, epoch: int) -> dict[str, Any]:
    """The first epoch event numbered ``epoch`` or later (its weights are on disk when it is sent)."""
    with client.websocket_connect(f"/api/runs/{run_id}/events") as ws:
        while True:
            event = ws.receive_json()
            assert event["type"] != "done", event
            if event["type"] == "epoch" and event["epoch"] >= epoch:
                return dict(event)


def val_loss_of_best_weights(run: RunDir, dataset: str) -> float:
    """The validation loss of the run's best.safetensors, on the split the run validated on."""
    config = TrainConfig.model_validate(run.config())
    compiled = run.load_model("best")
    prepared = data.prepare(data.load(dataset), compiled, seed=config.seed, validation_split=config.validation_split)
    return evaluate(compiled, prepared, config, "val")["loss"]


def check_checkpoint(client: TestClient, tmp_path: Path, run: dict[str, Any]) -> None:
    """A run that died mid-way: its best so far is named, kept on disk, exportable and serves predictions."""
    best = run["best"]
    assert best["name"] == "val_loss" and 1 <= best["epoch"] <= run["epochs_done"]
    assert best["value"] == run["history"][best["epoch"] - 1]["metrics"]["val_loss"]
    assert {"best_weights", "last_weights"} <= {a["kind"] for a in run["artifacts"]}
    run_dir = RunDir(tmp_path / "runs" / run["id"])
    assert val_loss_of_best_weights(run_dir, "digits") == pytest.approx(best["value"], rel=1e-4)

    r = client.get(f"/api/runs/{run['id']}/export", params={"format": "weights"})
    assert r.status_code == 200, r.text
    exported = load_safetensors(r.content)
    on_disk = load_safetensors((run_dir.path / "best.safetensors").read_bytes())
    assert exported.keys() == on_disk.keys() and all(torch.equal(exported[k], v) for k, v in on_disk.items())
    r = client.post(f"/api/runs/{run['id']}/predict", json={"inputs": BLANK_DIGIT})
    assert r.status_code == 200, r.text
    assert len(r.json()["outputs"]["y"]) == 10


def test_a_killed_worker_fails_the_run_but_its_best_weights_so_far_export_and_predict(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        run_id = start_run(client, DIGITS_MLP, "digits", LONG)
        epoch_at_least(client, run_id, 2)
        manager: RunManager = client.app.state.runs  # type: ignore[attr-defined]
        pid = manager.worker_pid(run_id)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        run = wait_for(client, run_id, ("failed",))
        assert "SIGKILL" in run["error"] and run["epochs_done"] >= 2
        check_checkpoint(client, tmp_path, run)


SERVER = """
import sys, time
from starlette.testclient import TestClient
from netcanvas.api.app import create_app
from netcanvas.settings import Settings

with TestClient(create_app(Settings(data_dir=sys.argv[1]))) as client:
    run_id = client.post("/api/runs", json=__import__("json").loads(sys.argv[2])).json()["id"]
    with client.websocket_connect(f"/api/runs/{run_id}/events") as ws:
        while not ((event := ws.receive_json())["type"] == "epoch" and event["epoch"] >= 2):
            pass
    print(run_id, client.app.state.runs.worker_pid(run_id), flush=True)
    time.sleep(600)
"""


def test_a_killed_server_leaves_a_failed_run_whose_best_weights_export_and_predict(tmp_path: Path) -> None:
    body = {"graph": DIGITS_MLP, "dataset": {"name": "digits"}, "config": LONG}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp_path), json.dumps(body)],
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line, "the server ended before its run reached epoch 2"
        run_id, worker = line.split()
        os.kill(int(worker), signal.SIGKILL)  # the server and its worker die at once, as in a container kill
        server.kill()
    finally:
        server.kill()
        server.wait(30)
    with app_client(tmp_path) as client:
        run = client.get(f"/api/runs/{run_id}").json()
        assert run["status"] == "failed" and "server stopped" in run["error"]
        check_checkpoint(client, tmp_path, run)


def test_the_stored_best_names_the_epoch_training_kept_with_min_delta(tmp_path: Path) -> None:
    config = {"epochs": 8, "batch_size": 16, "optimizer": {"type": "adam", "lr": 0.01},
              "early_stopping": {"monitor": "val_loss", "min_delta": 0.1, "patience": 100}}
    with app_client(tmp_path) as client:
        run_id = start_run(client, IRIS_MLP, "iris", config)
        done = watch(client, run_id)[-1]
        run = client.get(f"/api/runs/{run_id}").json()
    losses = [h["metrics"]["val_loss"] for h in run["history"]]
    kept = 1
    for epoch, value in enumerate(losses, 1):  # an improvement beats the best by more than min_delta
        if value < losses[kept - 1] - 0.1:
            kept = epoch
    assert kept != losses.index(min(losses)) + 1  # the lowest val_loss is not the epoch min_delta keeps
    assert run["best"] == {"name": "val_loss", "value": losses[kept - 1], "epoch": kept} and done["best_epoch"] == kept
    run_dir = RunDir(tmp_path / "runs" / run_id)
    assert val_loss_of_best_weights(run_dir, "iris") == pytest.approx(losses[kept - 1], rel=1e-4)


def test_shutdown_stops_the_running_run_fails_the_queued_one_and_keeps_both(tmp_path: Path) -> None:
    with app_client(tmp_path, max_concurrent_runs=1) as client:
        running = start_run(client, DIGITS_MLP, "digits", LONG)
        queued, dropped = start_run(client), start_run(client)
        assert client.delete(f"/api/runs/{dropped}").status_code == 204  # a queued run can go before it starts
        epoch_at_least(client, running, 1)
    with app_client(tmp_path) as client:
        stopped = client.get(f"/api/runs/{running}").json()
        assert stopped["status"] == "stopped" and stopped["best"] is not None
        assert RunDir(tmp_path / "runs" / running).weights_path("best") is not None
        never = client.get(f"/api/runs/{queued}").json()
        assert never["status"] == "failed" and "shut down before this run started" in never["error"]
        assert never["started_at"] is None
        assert client.get(f"/api/runs/{dropped}").status_code == 404
        assert {r["id"] for r in client.get("/api/runs").json()} == {queued, running}
