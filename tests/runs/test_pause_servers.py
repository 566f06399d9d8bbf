"""Pause and resume through a server that does not train the run: two `netcanvas serve` processes on one
PostgreSQL database and one data directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
from sqlalchemy import select
from test_servers import servers, submit, wait_status

from netcanvas.store import Database, RunRow, ServerRow
from runhelpers import LONG


def test_a_run_paused_and_resumed_through_the_other_server(tmp_path: Path, postgres_url: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    procs: list[subprocess.Popen[bytes]] = []
    with servers(2, data_dir, postgres_url, procs) as urls:
        run_id = submit(urls[0], LONG)
        wait_status(urls[0], run_id, ("running",))
        db = Database(postgres_url)
        try:
            with db.session() as s:
                owner_pid = s.scalar(select(ServerRow.pid).join(RunRow, RunRow.owner == ServerRow.id)
                                     .where(RunRow.id == run_id))
        finally:
            db.close()
        other = next(url for url, proc in zip(urls, procs, strict=True) if proc.pid != owner_pid)

        r = httpx.post(f"{other}/api/runs/{run_id}/pause", timeout=30)
        assert r.status_code == 200, r.text
        assert wait_status(other, run_id, ("paused",))["status"] == "paused"
        assert not (data_dir / "runs" / run_id / "pause.request").exists()  # the owner took the request

        r = httpx.post(f"{other}/api/runs/{run_id}/resume", timeout=30)
        assert r.status_code == 200, r.text
        wait_status(other, run_id, ("running",))
        assert httpx.post(f"{other}/api/runs/{run_id}/stop", timeout=30).status_code == 200
        wait_status(other, run_id, ("stopped",))
        events = httpx.get(f"{other}/api/runs/{run_id}/events", timeout=30).json()
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert [e["status"] for e in events if e["type"] == "status"] == ["queued", "running", "paused", "queued",
                                                                          "running"]
