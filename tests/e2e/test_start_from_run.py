"""Transfer learning in the browser: train on digits 0–4, start from that run on digits 5–9 with a frozen trunk."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from test_app import open_app, select, shot, train


def test_start_from_a_run_with_frozen_nodes(page: Page, server: str) -> None:
    open_app(page, server)
    first = train(page, "transfer-1-digits-0-4", 2)

    # Step 2: the template locks the convolutional trunk; the canvas shows the locks.
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-transfer-2-digits-5-9").click()
    for node in ("conv1", "bn1", "conv2"):
        expect(page.get_by_test_id(f"frozen-badge-{node}")).to_be_visible(timeout=10_000)
    expect(page.get_by_test_id("frozen-badge-fc1")).to_have_count(0)

    # A lock in the inspector freezes a node, and unlocking it takes the lock away again.
    page.get_by_test_id("tab-inspector").click()
    select(page, "fc1")
    page.get_by_test_id("inspector-freeze").check()
    expect(page.get_by_test_id("frozen-badge-fc1")).to_be_visible()
    page.get_by_test_id("inspector-freeze").uncheck()
    expect(page.get_by_test_id("frozen-badge-fc1")).to_have_count(0)

    page.get_by_test_id("tab-train").click()
    expect(page.get_by_test_id("frozen-list")).to_contain_text("conv1")
    expect(page.get_by_test_id("frozen-list")).to_contain_text("conv2")
    page.get_by_test_id("init-run").select_option(first)
    page.get_by_test_id("init-lr-scale").fill("0.5")
    if not page.get_by_test_id("cfg-epochs").is_visible():
        page.get_by_test_id("train-settings").locator("summary").click()
    page.get_by_test_id("cfg-epochs").fill("2")
    page.get_by_test_id("btn-train").click()
    expect(page.get_by_test_id("run-id")).not_to_have_text(first, timeout=30_000)
    second = page.get_by_test_id("run-id").inner_text()
    expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=90_000)
    assert page.get_by_test_id("run-id").inner_text() == second

    report = page.get_by_test_id("init-report")
    expect(report).to_contain_text(first, timeout=20_000)
    expect(page.get_by_test_id("init-loaded")).to_have_text("conv1, bn1, conv2, fc1, fc2")
    expect(page.get_by_test_id("init-frozen")).to_have_text("Frozen: conv1, bn1, conv2")
    expect(page.get_by_test_id("init-mismatched")).to_have_count(0)

    # The run trained what it was told to: the server has the config with the source run and the frozen trunk.
    detail = page.request.get(f"{server}/api/runs/{second}").json()
    assert detail["config"]["init"] == {"run": first, "freeze": ["conv1", "bn1", "conv2"], "lr_scale": 0.5}
    page.get_by_test_id("node-conv2").scroll_into_view_if_needed()
    shot(page, "transfer")  # docs/transfer.png is this picture
