"""NETCANVAS_EXECUTOR=ray: runs as Ray Core tasks on a local Ray instance give the events, statuses, stop, files
and failure messages of local runs."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from helpers import chain
from netcanvas.artifacts import RunDir
from runhelpers import DIGITS_MLP, IRIS_MLP, LONG, QUICK, app_client, start_run, wait_for, watch


def test_a_ray_run_streams_like_a_local_one_and_its_weights_export(tmp_path: Path, ray_address: str) -> None:
    with app_client(tmp_path, executor="ray", ray_address=ray_address) as client:
        run_id = start_run(client, IRIS_MLP, "iris", QUICK)
        events = watch(client, run_id)
        kinds = [(e["type"], e.get("status")) for e in events if e["type"] in ("status", "done")]
        assert kinds == [("status", "queued"), ("status", "running"), ("done", "completed")]
        assert [e["epoch"] for e in events if e["type"] == "epoch"] == [1, 2, 3]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert any(e["type"] == "log" and "training on Ray node" in e["message"] for e in events)
        run = wait_for(client, run_id, ("completed",))
        assert {"best_weights", "last_weights", "history"} <= {a["kind"] for a in run["artifacts"]}
        assert RunDir(tmp_path / "runs" / run_id).load_model("best").output_names == ["y"]
        exported = client.get(f"/api/runs/{run_id}/export", params={"format": "weights"})
        assert exported.status_code == 200 and len(exported.content) > 100


def test_a_ray_run_stops_with_its_best_weights_and_fails_like_a_local_one(tmp_path: Path, ray_address: str) -> None:
    diverging = chain([10], ("Linear", {"out_features": 32}), ("ReLU", {}), ("Linear", {"out_features": 1}))
    with app_client(tmp_path, executor="ray", ray_address=ray_address, max_concurrent_runs=2) as client:
        long_run = start_run(client, DIGITS_MLP, "digits", LONG)
        failing = start_run(client, diverging, "diabetes", {"optimizer": {"type": "sgd", "lr": 10.0}, "loss": "mse",
                                                             "metrics": ["mae"], "epochs": 5})
        watch(client, long_run, until="epoch")
        r = client.post(f"/api/runs/{long_run}/pause")  # pausing needs a local worker
        assert r.status_code == 409 and "pausing needs the local executor" in r.json()["detail"], r.text
        assert client.post(f"/api/runs/{long_run}/stop").status_code == 200
        assert watch(client, long_run)[-1]["status"] == "stopped"
        stopped = wait_for(client, long_run, ("stopped",))
        assert stopped["best"] is not None and {"best_weights", "last_weights"} <= {
            a["kind"] for a in stopped["artifacts"]}
        failed = wait_for(client, failing, ("failed",))
        assert "epoch 1, step" in failed["error"]


def test_a_lost_ray_worker_fails_the_run_with_the_reason(tmp_path: Path, ray_address: str) -> None:
    with app_client(tmp_path, executor="ray", ray_address=ray_address) as client:
        run_id = start_run(client, DIGITS_MLP, "digits", LONG)
        where = watch(client, run_id, until="log")[-1]["message"]
        os.kill(int(re.findall(r"worker pid (\d+)", where)[0]), signal.SIGKILL)
        events = watch(client, run_id)
        assert events[-1]["type"] == "done" and events[-1]["status"] == "failed"
        run = wait_for(client, run_id, ("failed",))
        assert run["error"].startswith("the Ray worker running this run was lost: "), run["error"]


def test_an_unreachable_ray_address_stops_the_server_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "NETCANVAS_DATA_DIR": str(tmp_path), "NETCANVAS_EXECUTOR": "ray",
           "NETCANVAS_RAY_ADDRESS": "127.0.0.1:1"}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = subprocess.run([sys.executable, "-m", "netcanvas.cli", "serve", "--port", str(port)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "cannot reach the Ray cluster at 127.0.0.1:1: Connection refused" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
