"""Two `netcanvas serve` processes on one PostgreSQL database and one data directory serve the same runs: live
events, stop, pause and resume through the server that does not train the run; a queued run taken by the free
server; the run of a killed server failed by the other."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from websockets.sync.client import connect

from netcanvas.store import Database, RunRow, ServerRow
from pgserver import PostgresServer
from runhelpers import DIGITS_MLP, LONG, non_batch
from serverhelpers import servers


def submit(url: str, config: dict[str, Any]) -> str:
    r = httpx.post(f"{url}/api/runs", json={"graph": DIGITS_MLP, "dataset": {"name": "digits"}, "config": config},
                   timeout=30)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def status_of(url: str, run_id: str) -> dict[str, Any]:
    r = httpx.get(f"{url}/api/runs/{run_id}", timeout=30)
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_status(url: str, run_id: str, statuses: tuple[str, ...]) -> dict[str, Any]:
    while (run := status_of(url, run_id))["status"] not in statuses:
        assert run["status"] in ("queued", "running"), run
        time.sleep(0.1)
    return run


# First in the module: the shared pair below starts only after this test's own servers have stopped.
def test_a_run_queued_on_a_busy_server_is_run_by_the_other_and_a_killed_server_fails_its_run(
        tmp_path: Path, postgres_url: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with servers(1, data_dir, postgres_url) as (b,):
        procs: list[subprocess.Popen[bytes]] = []
        with servers(1, data_dir, postgres_url, procs=procs) as (a,):
            running = submit(a, LONG)
            wait_status(a, running, ("running",))
            blocker = submit(b, LONG)  # b busy too: the next run waits in the shared queue
            wait_status(b, blocker, ("running",))
            queued = submit(a, {"epochs": 2, "batch_size": 32})
            assert status_of(b, queued)["status"] == "queued"
            assert httpx.post(f"{a}/api/runs/{blocker}/stop", timeout=30).status_code == 200
            assert wait_status(a, queued, ("completed",))["status"] == "completed"  # b ran it after its stop
            procs[0].kill()  # a dies with its run "running": b notices its process is gone and fails the run
            procs[0].wait(30)  # reaped: a zombie would count as alive until its heartbeat is DEAD_AFTER_S old
            failed = wait_status(b, running, ("failed",))
        assert "the server running this run stopped" in failed["error"]
        assert status_of(b, blocker)["status"] == "stopped"


@dataclass
class Pair:
    urls: list[str]
    procs: list[subprocess.Popen[bytes]]
    data_dir: Path
    database_url: str


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer) -> Iterator[Pair]:
    """Two servers on one new database and data directory, shared by the tests that leave them idle (starting a
    server and its standby worker is most of such a test's time)."""
    data_dir = tmp_path_factory.mktemp("pair") / "data"
    data_dir.mkdir()
    name = postgres_server.create_database()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with servers(2, data_dir, postgres_server.url(name), procs) as urls:
            yield Pair(urls, procs, data_dir, postgres_server.url(name))
    finally:
        postgres_server.drop_database(name)


def test_two_servers_share_runs_queue_live_events_stop_and_exports(pair: Pair) -> None:
    postgres_url = pair.database_url
    a, b = pair.urls
    first, second = submit(a, LONG), submit(a, LONG)  # a trains one run at a time: b takes the other
    ws_url = b.replace("http://", "ws://") + f"/api/runs/{first}/events"
    seen: list[dict[str, Any]] = []
    with connect(ws_url, open_timeout=30) as ws:
        while not (seen and seen[-1]["type"] == "epoch" and seen[-1]["epoch"] >= 2):
            seen.append(json.loads(ws.recv(timeout=120)))
        assert wait_status(b, second, ("running",))["status"] == "running"
        db = Database(postgres_url)
        try:
            with db.session() as s:
                owners = dict(s.execute(select(RunRow.id, RunRow.owner)
                                        .where(RunRow.id.in_((first, second)))).all())
                assert len(s.scalars(select(ServerRow.id)).all()) == 2
        finally:
            db.close()
        assert None not in owners.values() and owners[first] != owners[second], owners

        assert httpx.post(f"{b}/api/runs/{first}/stop", timeout=30).status_code == 200  # a runs it
        while seen[-1]["type"] != "done":
            seen.append(json.loads(ws.recv(timeout=120)))
    assert seen[-1]["status"] == "stopped"
    seqs = [e["seq"] for e in seen]
    assert seqs == sorted(set(seqs)), "every event once, in order"
    stored = httpx.get(f"{a}/api/runs/{first}/events", timeout=30).json()
    assert non_batch(seen) == non_batch(stored)
    assert ("stop requested" in [e.get("message") for e in seen if e["type"] == "log"])
    assert {r["id"] for r in httpx.get(f"{b}/api/runs", timeout=30).json()} == {first, second}

    exported = httpx.get(f"{b}/api/runs/{first}/export", params={"format": "weights"}, timeout=120)
    assert exported.status_code == 200, exported.text
    assert len(exported.content) > 1000

    while (run := status_of(b, second))["epochs_done"] < 1:  # its best weights come with its first epoch
        assert run["status"] == "running", run
        time.sleep(0.1)
    assert httpx.post(f"{a}/api/runs/{second}/stop", timeout=30).status_code == 200  # b runs it
    assert wait_status(b, second, ("stopped",))["best"] is not None
    assert httpx.delete(f"{a}/api/runs/{second}", timeout=60).status_code == 204
    assert status_of(b, first)["status"] == "stopped"
    assert httpx.get(f"{b}/api/runs/{second}", timeout=30).status_code == 404


def test_a_run_paused_and_resumed_through_the_other_server(pair: Pair) -> None:
    run_id = submit(pair.urls[0], LONG)
    wait_status(pair.urls[0], run_id, ("running",))
    db = Database(pair.database_url)
    try:
        with db.session() as s:
            owner_pid = s.scalar(select(ServerRow.pid).join(RunRow, RunRow.owner == ServerRow.id)
                                 .where(RunRow.id == run_id))
    finally:
        db.close()
    other = next(url for url, proc in zip(pair.urls, pair.procs, strict=True) if proc.pid != owner_pid)

    r = httpx.post(f"{other}/api/runs/{run_id}/pause", timeout=30)
    assert r.status_code == 200, r.text
    assert wait_status(other, run_id, ("paused",))["status"] == "paused"
    assert not (pair.data_dir / "runs" / run_id / "pause.request").exists()  # the owner took the request

    r = httpx.post(f"{other}/api/runs/{run_id}/resume", timeout=30)
    assert r.status_code == 200, r.text
    wait_status(other, run_id, ("running",))
    assert httpx.post(f"{other}/api/runs/{run_id}/stop", timeout=30).status_code == 200
    wait_status(other, run_id, ("stopped",))
    events = httpx.get(f"{other}/api/runs/{run_id}/events", timeout=30).json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["status"] for e in events if e["type"] == "status"] == ["queued", "running", "paused", "queued",
                                                                      "running"]
    assert httpx.delete(f"{other}/api/runs/{run_id}", timeout=60).status_code == 204  # the pair left as found
