"""Pause and resume: what a pause costs, in the engine and through the server.

    .venv/bin/python bench/pause.py [--repeats 3]

- Checkpoint: seconds to write and to read the pause checkpoint (``pause.pt``) and its size, for the
  digits CNN (the LeNet template) and a 256-512-512 MLP on 64 features, paused mid-epoch.
- Server: with the app in this process (its standby worker warm), seconds from POST .../pause to the
  ``paused`` status event, and from POST .../resume to the resumed run's next ``batch`` event (a new
  worker starts: it loads the data, compiles the graph and reads the checkpoint).

A benchmark prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from netcanvas import data
from netcanvas.compiler import compile_graph
from netcanvas.templates import list_templates
from netcanvas.training import TrainConfig, train
from netcanvas.training.pause import Pause, PausedState, load_paused, save_paused

LENET = next(t for t in list_templates() if t["id"] == "lenet-digits")["graph"]
MLP = {"format": "netcanvas.graph/1", "name": "mlp-512", "nodes": [
    {"id": "x", "type": "Input", "params": {"shape": [64]}},
    {"id": "a", "type": "Linear", "params": {"out_features": 256}}, {"id": "ra", "type": "ReLU"},
    {"id": "b", "type": "Linear", "params": {"out_features": 512}}, {"id": "rb", "type": "ReLU"},
    {"id": "c", "type": "Linear", "params": {"out_features": 512}}, {"id": "rc", "type": "ReLU"},
    {"id": "d", "type": "Linear", "params": {"out_features": 10}}, {"id": "y", "type": "Output"}],
    "edges": [{"source": s, "target": t} for s, t in
              [("x", "a"), ("a", "ra"), ("ra", "b"), ("b", "rb"), ("rb", "c"), ("c", "rc"), ("rc", "d"), ("d", "y")]]}


def checkpoint(graph: dict[str, Any], flatten: bool, folder: Path) -> tuple[float, float, int]:
    """Write and read seconds and the size of a checkpoint made mid-way through epoch 2."""
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    if flatten:
        from sklearn.datasets import load_digits

        digits = load_digits()
        dataset = data.from_arrays(digits.data.astype(np.float32), digits.target, compiled)
    else:
        dataset = data.load("digits")
    prepared = data.prepare(dataset, compiled, seed=0, validation_split=0.2)
    steps = -(-len(next(iter(prepared.train.values()))) // 32)
    file = folder / "pause.pt"
    written: list[float] = []
    asked = iter(range(10**9))

    def save(state: PausedState) -> None:
        started = time.perf_counter()
        save_paused(file, state)
        written.append(time.perf_counter() - started)

    train(compiled, prepared, TrainConfig(epochs=3, batch_size=32, device="cpu"), lambda e: None,
          pause=Pause(requested=lambda: next(asked) == steps + steps // 2, save=save))
    started = time.perf_counter()
    load_paused(file)
    return written[0], time.perf_counter() - started, file.stat().st_size


def server(repeats: int) -> tuple[list[float], list[float]]:
    from starlette.testclient import TestClient

    from netcanvas.api.app import create_app
    from netcanvas.settings import Settings

    to_paused, to_batch = [], []
    settings = Settings(allowed_hosts=["testserver"])  # the name Starlette's TestClient sends
    with tempfile.TemporaryDirectory() as tmp, \
            TestClient(create_app(settings.model_copy(update={"data_dir": Path(tmp)}))) as client:
        time.sleep(8)  # the standby worker warms up
        r = client.post("/api/runs", json={"graph": LENET, "dataset": {"name": "digits"},
                                           "config": {"epochs": 100_000, "batch_size": 32}})
        run_id = r.json()["id"]
        with client.websocket_connect(f"/api/runs/{run_id}/events") as ws:
            while ws.receive_json()["type"] != "epoch":
                pass
            for _ in range(repeats):
                started = time.perf_counter()
                client.post(f"/api/runs/{run_id}/pause")
                while (e := ws.receive_json())["type"] != "status" or e["status"] != "paused":
                    pass
                to_paused.append(time.perf_counter() - started)
                time.sleep(20)  # the next standby worker warms up (a few seconds; more on a loaded machine)
                started = time.perf_counter()
                client.post(f"/api/runs/{run_id}/resume")
                while ws.receive_json()["type"] != "batch":
                    pass
                to_batch.append(time.perf_counter() - started)
        client.post(f"/api/runs/{run_id}/stop")
    return to_paused, to_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        for name, graph, flatten in (("digits CNN", LENET, False), ("256-512-512 MLP", MLP, True)):
            runs = [checkpoint(graph, flatten, Path(tmp)) for _ in range(args.repeats)]
            write = statistics.median(r[0] for r in runs)
            read = statistics.median(r[1] for r in runs)
            print(f"{name}: checkpoint written in {write * 1000:.1f} ms, read in {read * 1000:.1f} ms, "
                  f"{runs[0][2] / 1024:.0f} KiB")
    paused, batch = server(args.repeats)
    print(f"server: pause -> paused {statistics.median(paused):.2f} s ({min(paused):.2f}-{max(paused):.2f}), "
          f"resume -> next batch {statistics.median(batch):.2f} s ({min(batch):.2f}-{max(batch):.2f})")


if __name__ == "__main__":
    main()
