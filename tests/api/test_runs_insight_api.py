"""Through the real app: health events stored and replayed, distinct default run names, TensorBoard logs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from runhelpers import IRIS_MLP, app_client, start_run, watch


def test_health_events_are_stored_and_replayed_like_the_others(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        run_id = start_run(client, config={"epochs": 3, "batch_size": 16, "health": {"every": 4}})
        live = watch(client, run_id)
        health = [e for e in live if e["type"] == "health"]
        assert len(health) == 5  # 6 steps per epoch, 18 steps: 0, 4, 8, 12, 16
        assert set(health[0]["nodes"]) == {"n0", "n1", "n2"}
        assert health[0]["nodes"]["n1"]["dead"] is not None and health[0]["nodes"]["n0"]["update_ratio"] > 0
        # replayed from the store: the same events, over the websocket and as JSON
        assert watch(client, run_id) == live
        stored = client.get(f"/api/runs/{run_id}/events").json()
        assert [e for e in stored if e["type"] == "health"] == health
        off = start_run(client, config={"epochs": 1, "health": None})
        assert not [e for e in watch(client, off) if e["type"] == "health"]


def test_runs_of_one_graph_get_distinct_default_names(tmp_path: Path) -> None:
    graph = dict(IRIS_MLP, name="LeNet (digits)")
    with app_client(tmp_path) as client:
        first = start_run(client, graph, config={"epochs": 1})
        second = start_run(client, graph, config={"epochs": 1})
        r = client.post("/api/runs", json={"graph": graph, "dataset": {"name": "iris"}, "config": {"epochs": 1},
                                           "name": "my run"})
        named = r.json()["id"]
        names = {r["id"]: r["name"] for r in client.get("/api/runs").json()}
        assert names[first] == "LeNet (digits) #1" and names[second] == "LeNet (digits) #2"
        assert names[named] == "my run"
        watch(client, second)
        assert client.delete(f"/api/runs/{second}").status_code == 204
        third = start_run(client, graph, config={"epochs": 1})
        assert client.get(f"/api/runs/{third}").json()["name"] == "LeNet (digits) #2"
        # a graph name with SQL wildcards is matched literally
        odd = dict(IRIS_MLP, name="50%_off")
        assert client.get(f"/api/runs/{start_run(client, odd, config={'epochs': 1})}").json()["name"] == "50%_off #1"
        # the runs still queued need not train: the app's shutdown stops the running one and fails the others


def test_a_server_run_has_tensorboard_logs_to_download(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        run_id = start_run(client, config={"epochs": 2, "batch_size": 16})
        assert watch(client, run_id)[-1]["status"] == "completed"
        r = client.get(f"/api/runs/{run_id}/tensorboard")
        assert r.status_code == 200
        names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        assert any(n.startswith(f"{run_id}/events.out.tfevents.") for n in names)
