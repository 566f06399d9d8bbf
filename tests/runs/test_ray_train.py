"""``"workers": N``: data-parallel runs on Ray Train's TorchTrainer (DDP, gloo) against the local Ray instance;
the local executor refuses them."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from netcanvas.artifacts import RunDir
from netcanvas.compiler import compile_graph
from netcanvas.data import load, prepare
from netcanvas.runs.execute import execute
from netcanvas.runs.ray_train import Shard
from netcanvas.training import TrainConfig, train
from netcanvas.training.config import Health
from netcanvas.training.events import Event
from runhelpers import DIGITS_MLP, LONG, app_client, start_run, wait_for, watch

TWO_WORKERS = {"epochs": 2, "batch_size": 32, "workers": 2, "optimizer": {"type": "adam", "lr": 0.01},
               "health": None, "tensorboard": False}


def test_shards_cover_the_split_evenly() -> None:
    for n, world in ((10, 3), (2, 4), (1437, 2)):
        shards = [Shard(rank, world, seed=7, device=torch.device("cpu")).indices(n) for rank in range(world)]
        assert len({len(s) for s in shards}) == 1
        assert set(torch.cat(shards).tolist()) == set(range(n))
    assert Shard(0, 2, seed=7, device=torch.device("cpu")).indices(9).tolist() != list(range(0, 9, 2))


class OneProcessDDP(Shard):
    """The loop's hooks on a one-process gloo group, with torch's DDP instead of Ray Train's prepare_model."""

    def __init__(self) -> None:
        super().__init__(0, 1, seed=0, device=torch.device("cpu"))
        self.wrapped: list[nn.Module] = []
        self.reduced = 0

    def wrap(self, module: nn.Module) -> nn.Module:
        self.wrapped.append(DistributedDataParallel(module))
        return self.wrapped[-1]

    def reduce(self, metrics: dict[str, float]) -> dict[str, float]:
        self.reduced += 1
        return super().reduce(metrics)


def test_the_loop_trains_a_ddp_module_with_its_health_probes(tmp_path: Path) -> None:
    dist.init_process_group("gloo", store=dist.FileStore(str(tmp_path / "store"), 1), rank=0, world_size=1)
    try:
        compiled = compile_graph(DIGITS_MLP)
        data = prepare(load("digits"), compiled, seed=0, validation_split=0.2)
        hooks = OneProcessDDP()
        events: list[Event] = []
        result = train(compiled, hooks.shard(data), TrainConfig(epochs=2, batch_size=32, health=Health(every=5)),
                       events.append, lambda: hooks.any(False), parallel=hooks)
    finally:
        dist.destroy_process_group()
    assert result.status == "completed", result.error
    assert len(hooks.wrapped) == 1 and hooks.reduced == 2
    assert [e.type for e in events].count("epoch") == 2 and "health" in [e.type for e in events]
    assert result.metrics["val_accuracy"] > 0.5


def test_several_workers_without_ray_fail_the_run_with_the_reason(tmp_path: Path) -> None:
    events: list[Event] = []
    outcome = execute(DIGITS_MLP, {"name": "digits"}, {"epochs": 1, "workers": 2}, tmp_path / "run", events.append)
    assert outcome.status == "failed"
    assert outcome.error == "config.workers: data-parallel training (workers > 1) needs NETCANVAS_EXECUTOR=ray"
    assert [e.type for e in events][-2:] == ["error", "done"]


def test_a_two_worker_run_trains_data_parallel_and_exports(tmp_path: Path, ray_address: str) -> None:
    with app_client(tmp_path, executor="ray", ray_address=ray_address) as client:
        run_id = start_run(client, DIGITS_MLP, "digits", TWO_WORKERS)
        events = watch(client, run_id)
        kinds = [(e["type"], e.get("status")) for e in events if e["type"] in ("status", "done")]
        assert kinds == [("status", "queued"), ("status", "running"), ("done", "completed")], events[-3:]
        epochs = [e for e in events if e["type"] == "epoch"]
        assert [e["epoch"] for e in epochs] == [1, 2]
        assert epochs[1]["metrics"]["loss"] < epochs[0]["metrics"]["loss"]
        assert epochs[1]["metrics"]["val_accuracy"] > 0.5  # chance is 0.1
        logs = [e["message"] for e in events if e["type"] == "log"]
        assert any(m.startswith("data-parallel training on 2 Ray Train workers (gloo") for m in logs), logs
        assert events[-1]["runtime"]["workers"] == 2
        run = wait_for(client, run_id, ("completed",))
        assert run["test_metrics"]["test_accuracy"] > 0.5
        assert RunDir(tmp_path / "runs" / run_id).info().runtime["workers"] == 2  # type: ignore[index]
        assert {"best_weights", "last_weights", "history"} <= {a["kind"] for a in run["artifacts"]}
        onnx = client.get(f"/api/runs/{run_id}/export", params={"format": "onnx"})
        assert onnx.status_code == 200, onnx.text
        session = ort.InferenceSession(onnx.content)
        x = np.random.default_rng(0).normal(size=(3, 1, 8, 8)).astype(np.float32)
        assert session.run(None, {session.get_inputs()[0].name: x})[0].shape == (3, 10)


def test_a_lost_train_worker_fails_the_run_with_the_reason(tmp_path: Path, ray_address: str) -> None:
    with app_client(tmp_path, executor="ray", ray_address=ray_address) as client:
        run_id = start_run(client, DIGITS_MLP, "digits", {**LONG, "workers": 2, "health": None,
                                                          "tensorboard": False})
        seen = 0
        while True:
            event = watch(client, run_id, after=seen, until="log")[-1]
            assert event["type"] == "log", client.get(f"/api/runs/{run_id}").json()["error"]
            seen, log = event["seq"], event.get("message", "")
            if log.startswith("data-parallel training"):
                break
        os.kill(int(re.findall(r"rank 1 on \S+ pid (\d+)", log)[0]), signal.SIGKILL)
        assert watch(client, run_id, after=seen)[-1]["status"] == "failed"
        run = wait_for(client, run_id, ("failed",))
        assert run["error"].startswith("data-parallel training failed: worker 1 was lost"), run["error"]


def test_a_stopped_two_worker_run_keeps_its_best_weights(tmp_path: Path, ray_address: str) -> None:
    with app_client(tmp_path, executor="ray", ray_address=ray_address) as client:
        run_id = start_run(client, DIGITS_MLP, "digits", {**LONG, "workers": 2, "health": None,
                                                          "tensorboard": False})
        watch(client, run_id, until="epoch")
        assert client.post(f"/api/runs/{run_id}/stop").status_code == 200
        assert watch(client, run_id)[-1]["status"] == "stopped"
        run = wait_for(client, run_id, ("stopped",))
        assert run["best"] is not None and {"best_weights", "last_weights"} <= {a["kind"] for a in run["artifacts"]}
        assert RunDir(tmp_path / "runs" / run_id).info().runtime["workers"] == 2  # type: ignore[index]


def test_the_local_executor_refuses_several_workers(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        r = client.post("/api/runs", json={"graph": DIGITS_MLP, "dataset": {"name": "digits"},
                                           "config": {"epochs": 1, "workers": 2}})
        assert r.status_code == 422, r.text
        problem = r.json()["detail"][0]
        assert problem["loc"] == ["body", "config", "workers"]
        assert "needs NETCANVAS_EXECUTOR=ray" in problem["msg"]
        assert client.get("/api/runs").json() == []
