"""POST /api/runs/{id}/pause and /resume: what each answers for runs that cannot be paused or resumed."""

from __future__ import annotations

from pathlib import Path

import torch

from runhelpers import DIGITS_MLP, LONG, QUICK, app_client, start_run, wait_for


def test_pause_and_resume_answer_409_naming_the_status_or_the_checkpoint(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        assert client.post("/api/runs/nope/pause").status_code == 404
        r = client.post("/api/runs/nope/resume")
        assert r.status_code == 404 and "nope" in r.json()["detail"]

        done = start_run(client, config=QUICK)
        wait_for(client, done, ("completed",))
        r = client.post(f"/api/runs/{done}/pause")
        assert r.status_code == 409 and r.json()["detail"] == (f"run '{done}' is completed; only a running run "
                                                               "can be paused")
        r = client.post(f"/api/runs/{done}/resume")
        assert r.status_code == 409 and "is completed; only a paused run can be resumed" in r.json()["detail"]

        run_id = start_run(client, DIGITS_MLP, "digits", LONG)
        wait_for(client, run_id, ("running",))
        r = client.post(f"/api/runs/{run_id}/resume")
        assert r.status_code == 409 and "is running" in r.json()["detail"]
        r = client.post(f"/api/runs/{run_id}/pause")
        assert r.status_code == 200, r.text
        assert client.post(f"/api/runs/{run_id}/pause").status_code in (200, 409)  # twice: pausing, or paused
        wait_for(client, run_id, ("paused",))
        r = client.post(f"/api/runs/{run_id}/pause")
        assert r.status_code == 409
        assert r.json()["detail"] == f"run '{run_id}' is paused; only a running run can be paused"

        checkpoint = tmp_path / "runs" / run_id / "pause.pt"
        whole = checkpoint.read_bytes()
        checkpoint.write_bytes(whole[:100])
        r = client.post(f"/api/runs/{run_id}/resume")
        assert r.status_code == 409 and "pause.pt cannot be read" in r.json()["detail"], r.text
        torch.save({"format": "netcanvas.pause/1"}, checkpoint)
        r = client.post(f"/api/runs/{run_id}/resume")
        assert r.status_code == 409 and "pause.pt is incomplete" in r.json()["detail"], r.text
        checkpoint.unlink()
        r = client.post(f"/api/runs/{run_id}/resume")
        assert r.status_code == 409 and "pause.pt is missing" in r.json()["detail"], r.text
        assert client.get(f"/api/runs/{run_id}").json()["status"] == "paused"  # still paused: stop or delete it

        checkpoint.write_bytes(whole)
        r = client.post(f"/api/runs/{run_id}/resume")
        assert r.status_code == 200 and r.json()["status"] in ("queued", "running"), r.text
        # Stop at once, while the paused worker may still be ending and the new one starting: the stop must reach
        # whichever trains the run (it was once taken for the old worker's, and the run trained to its end).
        assert client.post(f"/api/runs/{run_id}/stop").status_code == 200
        stopped = wait_for(client, run_id, ("stopped", "completed"), timeout=120)
        assert stopped["status"] == "stopped" and stopped["epochs_done"] < LONG["epochs"], stopped


def test_a_run_resumed_from_a_checkpoint_damaged_after_the_check_fails_with_the_reason(tmp_path: Path) -> None:
    with app_client(tmp_path, max_concurrent_runs=1) as client:
        run_id = start_run(client, DIGITS_MLP, "digits", LONG)
        wait_for(client, run_id, ("running",))
        client.post(f"/api/runs/{run_id}/pause")
        wait_for(client, run_id, ("paused",))
        blocker = start_run(client, DIGITS_MLP, "digits", LONG)  # holds the only slot: the resumed run waits
        wait_for(client, blocker, ("running",))
        assert client.post(f"/api/runs/{run_id}/resume").status_code == 200
        (tmp_path / "runs" / run_id / "pause.pt").write_bytes(b"garbage")
        client.post(f"/api/runs/{blocker}/stop")
        run = wait_for(client, run_id, ("failed",), timeout=120)
        assert run["error"].startswith("cannot resume: the pause checkpoint pause.pt cannot be read"), run["error"]

