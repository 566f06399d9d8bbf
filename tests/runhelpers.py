"""Helpers for tests that start the app and train through the run manager."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from helpers import chain, mlp
from netcanvas.api.app import create_app
from netcanvas.settings import Settings

IRIS_MLP = mlp(4, 3, hidden=16)
DIGITS_MLP = chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": 32}), ("ReLU", {}),
                   ("Linear", {"out_features": 10}), name="digits-mlp")
QUICK = {"epochs": 3, "batch_size": 16}
LONG = {"epochs": 100_000, "batch_size": 8}
"""A run that only ends when it is stopped or killed."""


@contextmanager
def app_client(data_dir: Path, **settings: Any) -> Iterator[TestClient]:
    """The app on its own data directory, lifespan included (the run manager starts and stops with it)."""
    with TestClient(create_app(Settings(data_dir=data_dir, **settings))) as client:
        yield client


def start_run(client: TestClient, graph: dict[str, Any] | None = None, dataset: str = "iris",
              config: dict[str, Any] | None = None) -> str:
    r = client.post("/api/runs", json={"graph": graph or IRIS_MLP, "dataset": {"name": dataset},
                                       "config": QUICK if config is None else config})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def watch(client: TestClient, run_id: str, after: int | None = None, until: str = "done",
          limit: int = 100_000) -> list[dict[str, Any]]:
    """Events from the websocket until one of type ``until`` (included) or the server closes it."""
    path = f"/api/runs/{run_id}/events" + (f"?after={after}" if after is not None else "")
    events: list[dict[str, Any]] = []
    with client.websocket_connect(path) as ws:
        while len(events) < limit:
            event = ws.receive_json()
            events.append(event)
            if event["type"] == until:
                break
    return events


def wait_for(client: TestClient, run_id: str, statuses: tuple[str, ...], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in statuses:
            return dict(run)
        assert time.monotonic() < deadline, f"run stayed {run['status']}: {run.get('error')}"
        time.sleep(0.05)


def non_batch(events: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(e["seq"], e["type"]) for e in events if e["type"] != "batch"]
