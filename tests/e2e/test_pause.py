"""Pause a run in the browser, reload the page, resume it: the run goes on where it paused, its events in one
numbering."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Page, expect

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def test_pause_reload_resume(page: Page, server: str) -> None:
    page.goto(server)
    page.evaluate("localStorage.clear()")
    page.goto(server)
    expect(page.get_by_test_id("palette-Linear")).to_be_visible(timeout=20_000)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-lenet-digits").click()
    page.get_by_test_id("tab-train").click()
    page.get_by_test_id("cfg-epochs").fill("500")
    page.get_by_test_id("early-stopping").uncheck()
    expect(page.get_by_test_id("btn-pause")).to_be_disabled()  # nothing runs yet
    page.get_by_test_id("btn-train").click()
    expect(page.get_by_test_id("run-status")).to_have_text("running", timeout=30_000)
    run_id = page.get_by_test_id("run-id").inner_text()
    expect(page.get_by_test_id("progress-text")).to_contain_text("epoch", timeout=30_000)

    page.get_by_test_id("btn-pause").click()
    expect(page.get_by_test_id("run-status")).to_have_text("paused", timeout=30_000)
    expect(page.get_by_test_id("btn-resume")).to_be_visible()
    expect(page.get_by_test_id("btn-stop")).to_be_enabled()  # a paused run can still be stopped
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "paused.png"))
    paused_at = page.request.get(f"{server}/api/runs/{run_id}").json()["epochs_done"]
    page.get_by_test_id("tab-runs").click()
    expect(page.get_by_test_id("runs-panel")).to_contain_text("paused")

    page.reload()  # the app watches the run again: its events replay up to the pause
    page.get_by_test_id("tab-train").click()
    expect(page.get_by_test_id("run-id")).to_have_text(run_id, timeout=10_000)
    expect(page.get_by_test_id("run-status")).to_have_text("paused", timeout=10_000)
    page.get_by_test_id("btn-resume").click()
    expect(page.get_by_test_id("run-status")).to_have_text("running", timeout=30_000)
    expect(page.get_by_test_id("btn-pause")).to_be_enabled()
    # the run trains on: an epoch after the one it paused in
    deadline = time.monotonic() + 120  # a new worker starts: seconds, more on a loaded machine
    while page.request.get(f"{server}/api/runs/{run_id}").json()["epochs_done"] <= paused_at + 1:
        assert time.monotonic() < deadline, "the resumed run did not finish another epoch in 120 s"
        page.wait_for_timeout(200)
    page.get_by_test_id("btn-stop").click()
    expect(page.get_by_test_id("run-status")).to_have_text("stopped", timeout=30_000)

    events = page.request.get(f"{server}/api/runs/{run_id}/events").json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    statuses = [e["status"] for e in events if e["type"] == "status"]
    assert statuses == ["queued", "running", "paused", "queued", "running"]
    epochs = [e["epoch"] for e in events if e["type"] == "epoch"]
    assert epochs == list(range(1, len(epochs) + 1))  # each epoch once, across the pause
