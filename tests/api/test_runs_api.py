"""POST /api/runs, the websocket, stop, delete, queueing, crashes and restarts, through the real app."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest
from starlette.websockets import WebSocketDisconnect

from helpers import chain
from netcanvas.artifacts import RunDir
from netcanvas.store import Database, EventRow, RunRow
from runhelpers import DIGITS_MLP, IRIS_MLP, LONG, QUICK, app_client, non_batch, start_run, wait_for, watch


def test_a_run_streams_status_epochs_and_done_and_keeps_its_history(tmp_path: Path, database_url: str) -> None:
    with app_client(tmp_path, worker_threads=2, database_url=database_url) as client:
        run_id = start_run(client)
        events = watch(client, run_id)
        kinds = [e["type"] for e in events]
        assert kinds[:2] == ["status", "status"]
        assert [e["status"] for e in events[:2]] == ["queued", "running"]
        assert kinds.count("epoch") == 3 and kinds[-1] == "done"
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert events[-1]["status"] == "completed" and "test_accuracy" in events[-1]["test_metrics"]

        run = client.get(f"/api/runs/{run_id}").json()
        assert run["status"] == "completed" and run["error"] is None
        assert [h["epoch"] for h in run["history"]] == [1, 2, 3]
        assert run["history"][-1]["metrics"]["loss"] < run["history"][0]["metrics"]["loss"]
        assert run["best"]["name"] == "val_loss" and run["epochs_done"] == 3
        assert run["graph"]["nodes"][0]["id"] == "x" and run["config"]["epochs"] == 3
        assert run["config"]["num_threads"] == 2  # the server's worker_threads, as the config did not say
        assert run["started_at"] and run["finished_at"] and run["torch_version"]
        assert {a["kind"] for a in run["artifacts"]} >= {"best_weights", "last_weights", "preprocessing", "history"}
        listed = client.get("/api/runs").json()
        assert [r["id"] for r in listed] == [run_id] and listed[0]["dataset"] == {"name": "iris"}

        # The run directory is the shared layout: the exporters and the CLI read it the same way.
        run_dir = RunDir(tmp_path / "runs" / run_id)
        assert run_dir.info().status == "completed" and len(run_dir.history()) == 3
        assert run_dir.load_model().input_names == ["x"]
        assert run_dir.preprocessing().inputs["x"].mean

        # Replay of a finished run: the same events, then the server closes.
        assert watch(client, run_id) == events
        assert client.get(f"/api/runs/{run_id}/events", params={"after": 3}).json() == events[3:]
    assert multiprocessing.active_children() == []


def test_resume_with_after_and_two_watchers_see_the_same_stream(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        run_id = start_run(client, config={"epochs": 30, "batch_size": 16})
        with client.websocket_connect(f"/api/runs/{run_id}/events") as first, \
                client.websocket_connect(f"/api/runs/{run_id}/events") as second:
            head = [first.receive_json() for _ in range(3)]
            # first drops off after three events; second stays to the end
            seen = []
            while not seen or seen[-1]["type"] != "done":
                seen.append(second.receive_json())
        rest = watch(client, run_id, after=head[-1]["seq"])
        resumed = head + rest
        assert [e["seq"] for e in resumed] == list(range(1, len(resumed) + 1))  # no gap, no duplicate
        assert resumed == seen
        assert sum(e["type"] == "epoch" for e in seen) == 30


def test_stop_ends_stopped_and_keeps_the_best_weights(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        run_id = start_run(client, DIGITS_MLP, "digits", LONG)
        watch(client, run_id, until="epoch")
        r = client.post(f"/api/runs/{run_id}/stop")
        assert r.status_code == 200 and r.json()["status"] in ("running", "stopped")
        done = watch(client, run_id)[-1]
        assert done["type"] == "done" and done["status"] == "stopped"
        run = wait_for(client, run_id, ("stopped",))
        assert run["epochs_done"] >= 1 and run["best"] is not None
        assert {"best_weights", "last_weights"} <= {a["kind"] for a in run["artifacts"]}
        assert RunDir(tmp_path / "runs" / run_id).load_model("best").output_names == ["y"]
        # stopping a finished run changes nothing
        assert client.post(f"/api/runs/{run_id}/stop").json()["status"] == "stopped"


def test_a_killed_worker_fails_the_run_with_a_message(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        run_id = start_run(client, DIGITS_MLP, "digits", LONG)
        watch(client, run_id, until="epoch")
        pid = client.app.state.runs.worker_pid(run_id)  # type: ignore[attr-defined]
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        events = watch(client, run_id)
        assert events[-1]["type"] == "done" and events[-1]["status"] == "failed"
        error = next(e for e in events if e["type"] == "error")
        assert "SIGKILL" in error["message"]
        run = wait_for(client, run_id, ("failed",))
        assert "killed" in run["error"] and run["history"]


def test_an_infinite_loss_fails_the_run_naming_epoch_and_step(tmp_path: Path) -> None:
    graph = chain([10], ("Linear", {"out_features": 32}), ("ReLU", {}), ("Linear", {"out_features": 1}))
    config = {"optimizer": {"type": "sgd", "lr": 10.0}, "loss": "mse", "metrics": ["mae"], "epochs": 5}
    with app_client(tmp_path) as client:
        run_id = start_run(client, graph, "diabetes", config)
        events = watch(client, run_id)
        assert events[-1]["status"] == "failed"
        run = client.get(f"/api/runs/{run_id}").json()
        assert run["status"] == "failed" and "epoch 1, step" in run["error"]


def test_runs_queue_fifo_beyond_max_concurrent_runs(tmp_path: Path) -> None:
    with app_client(tmp_path, max_concurrent_runs=1) as client:
        first = start_run(client)
        second = start_run(client)
        third = start_run(client)
        assert client.get(f"/api/runs/{second}").json()["status"] == "queued"
        assert client.post(f"/api/runs/{third}/stop").json()["status"] == "stopped"  # never started
        a, b = wait_for(client, first, ("completed",)), wait_for(client, second, ("completed",))
        assert b["started_at"] >= a["finished_at"]
        c = client.get(f"/api/runs/{third}").json()
        assert c["started_at"] is None and [e["type"] for e in watch(client, third)] == ["status", "log", "done"]


def test_delete_stops_a_running_run_and_removes_its_files(tmp_path: Path, database_url: str) -> None:
    with app_client(tmp_path, database_url=database_url) as client:
        run_id = start_run(client, DIGITS_MLP, "digits", LONG)
        watch(client, run_id, until="epoch")
        pid = client.app.state.runs.worker_pid(run_id)  # type: ignore[attr-defined]
        assert client.delete(f"/api/runs/{run_id}").status_code == 204
        assert client.get(f"/api/runs/{run_id}").status_code == 404
        assert not (tmp_path / "runs" / run_id).exists()
        assert pid is not None and not _alive(pid)
        assert client.delete(f"/api/runs/{run_id}").status_code == 404


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_restarted_server_fails_orphaned_runs_and_keeps_history(tmp_path: Path, database_url: str) -> None:
    with app_client(tmp_path, database_url=database_url) as client:
        done_id = start_run(client)
        watch(client, done_id)
    # A server that died mid-run leaves its run "running" with some epochs stored.
    db = Database(database_url)
    with db.session() as s:
        s.add(RunRow(id="orphan", name="o", graph=IRIS_MLP, dataset={"name": "iris"}, config=QUICK, status="running"))
        s.flush()
        s.add(EventRow(run_id="orphan", seq=1, type="status", payload={"seq": 1, "type": "status",
                                                                        "status": "running", "message": None}))
        s.add(EventRow(run_id="orphan", seq=2, type="epoch", payload={
            "seq": 2, "type": "epoch", "epoch": 1, "epochs": 3, "metrics": {"loss": 1.0}, "lr": 0.001,
            "seconds": 0.1}))
    db.close()
    with app_client(tmp_path, database_url=database_url) as client:
        orphan = client.get("/api/runs/orphan").json()
        assert orphan["status"] == "failed" and "server stopped" in orphan["error"]
        assert [h["epoch"] for h in orphan["history"]] == [1]
        assert non_batch(watch(client, "orphan")) == [(1, "status"), (2, "epoch"), (3, "error"), (4, "done")]
        kept = client.get(f"/api/runs/{done_id}").json()
        assert kept["status"] == "completed" and len(kept["history"]) == 3


def test_unknown_runs_are_404_and_their_websocket_closes_with_a_reason(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        for method, path in [("get", "/api/runs/nope"), ("post", "/api/runs/nope/stop"),
                             ("delete", "/api/runs/nope"), ("get", "/api/runs/nope/events")]:
            r = client.request(method.upper(), path)
            assert r.status_code == 404 and "nope" in r.json()["detail"], path
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/api/runs/nope/events") as ws:
            ws.receive_json()
        assert closed.value.code == 4404 and "no run with id 'nope'" in closed.value.reason


def _detail(client: object, body: dict[str, object]) -> list[dict[str, object]]:
    r = client.post("/api/runs", json=body)  # type: ignore[attr-defined]
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list)
    return detail


def test_what_cannot_train_is_a_422_naming_the_node_or_field(tmp_path: Path) -> None:
    bad_shape = chain([4], ("Conv2d", {"out_channels": 3, "kernel_size": 3}), ("Linear", {"out_features": 3}))
    with app_client(tmp_path) as client:
        detail = _detail(client, {"graph": bad_shape, "dataset": {"name": "iris"}, "config": QUICK})
        assert detail[0]["node"] == "n0" and "n0" in str(detail[0]["msg"])

        detail = _detail(client, {"graph": IRIS_MLP, "dataset": {"name": "mnist"}, "config": QUICK})
        assert detail[0]["loc"] == ["body", "dataset", "name"] and "iris" in str(detail[0]["msg"])

        detail = _detail(client, {"graph": IRIS_MLP, "dataset": {"name": "iris"},
                                  "config": {"optimizer": {"type": "adam", "lr": -1}}})
        assert detail[0]["loc"][:3] == ["body", "config", "optimizer"] and "lr" in detail[0]["loc"]

        detail = _detail(client, {"graph": IRIS_MLP, "dataset": {"name": "iris"}, "config": {"loss": "hinge"}})
        assert "unknown loss 'hinge'" in str(detail[0]["msg"])

        detail = _detail(client, {"graph": IRIS_MLP, "dataset": {"name": "iris"},
                                  "config": {"loss": {"y": "mse", "extra": "mse"}}})
        assert "extra" in str(detail[0]["msg"])

        wrong_width = chain([5], ("Linear", {"out_features": 3}))
        detail = _detail(client, {"graph": wrong_width, "dataset": {"name": "iris"}, "config": QUICK})
        assert "Input 'x'" in str(detail[0]["msg"]) and "[4]" in str(detail[0]["msg"])

        detail = _detail(client, {"graph": {"nodes": [{"id": "a"}]}, "dataset": {"name": "iris"}})
        assert detail[0]["loc"][:3] == ["body", "graph", "nodes"]
        assert client.get("/api/runs").json() == []


def test_runs_start_in_the_waiting_worker_and_a_dead_one_is_replaced(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        manager = client.app.state.runs  # type: ignore[attr-defined]
        waiting = manager._standby
        assert waiting is not None and waiting.process.is_alive()
        first = start_run(client)
        assert manager.worker_pid(first) == waiting.process.pid  # no new process to wait for
        watch(client, first)
        deadline = time.monotonic() + 30
        while manager._standby is None and time.monotonic() < deadline:  # replaced once the worker has exited
            time.sleep(0.05)
        replacement = manager._standby
        assert replacement is not None and replacement.process.pid != waiting.process.pid
        os.kill(replacement.process.pid, signal.SIGKILL)
        replacement.process.join(5)
        second = start_run(client)
        assert manager.worker_pid(second) not in (None, replacement.process.pid)
        assert watch(client, second)[-1]["status"] == "completed"
    assert multiprocessing.active_children() == []
