"""Repeat blocks on the canvas: group three nodes into a block, repeat it ×3, see the shapes, undo/redo, train."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect
from test_app import open_app, shot
from test_canvas import settle_view


def test_group_three_nodes_repeat_three_times_and_train(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-mlp-iris").click()
    expect(page.get_by_test_id("shape-fc2")).to_have_text("3", timeout=10_000)
    settle_view(page)

    page.get_by_test_id("node-fc1").click()
    page.get_by_test_id("node-act1").click(modifiers=["Shift"])
    page.get_by_test_id("node-drop").click(modifiers=["Shift"])
    expect(page.get_by_test_id("inspector")).to_contain_text("3 nodes selected")
    page.keyboard.press("Control+g")
    expect(page.get_by_test_id("node-block1")).to_be_visible()
    expect(page.get_by_test_id("node-fc1")).to_have_count(0)
    expect(page.get_by_test_id("shape-block1")).to_have_text("32", timeout=10_000)
    expect(page.get_by_test_id("palette-block-block1")).to_be_visible()

    # Undo brings the three nodes back, redo the block.
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("node-fc1")).to_be_visible()
    expect(page.get_by_test_id("node-block1")).to_have_count(0)
    page.keyboard.press("Control+Shift+z")
    expect(page.get_by_test_id("node-block1")).to_be_visible()

    page.get_by_test_id("node-block1").click()
    expect(page.get_by_test_id("block-repeat")).to_be_visible()
    page.get_by_test_id("block-repeat").fill("3")
    expect(page.get_by_test_id("block-repeat-block1")).to_have_text("×3 own weights")
    # The inner layers of the last copy were validated: 3 copies of Linear(32) after a 4-wide input.
    expect(page.get_by_test_id("inspector-shape")).to_contain_text("2,272 params in 3 copies", timeout=10_000)
    expect(page.get_by_test_id("block-inner")).to_contain_text("fc1")
    expect(page.get_by_test_id("shape-fc2")).to_have_text("3")
    page.get_by_test_id("block-shared").check()
    expect(page.get_by_test_id("block-repeat-block1")).to_have_text("×3 shared weights")
    expect(page.get_by_test_id("inspector-shape")).to_contain_text("shared by 3 copies")
    page.get_by_test_id("block-shared").uncheck()

    # Out of range: the server's error names the block, on the node and in the inspector.
    page.get_by_test_id("block-repeat").fill("10000")
    expect(page.get_by_test_id("error-block1")).to_contain_text("block1", timeout=10_000)
    expect(page.get_by_test_id("error-block1")).to_contain_text("repeat")
    page.get_by_test_id("block-repeat").fill("3")
    expect(page.get_by_test_id("error-block1")).to_have_count(0, timeout=10_000)
    expect(page.get_by_test_id("shape-block1")).to_have_text("32")

    page.wait_for_timeout(600)  # the graph is mirrored to localStorage 400 ms after the last edit
    saved = json.loads(page.evaluate("() => localStorage.getItem('netcanvas.graph')"))
    assert saved["format"] == "netcanvas.graph/2"
    assert [n["id"] for n in saved["blocks"]["block1"]["nodes"]] == ["in", "fc1", "act1", "drop", "out"]
    assert {"id": "block1", "type": "Block"}.items() <= next(n for n in saved["nodes"] if n["id"] == "block1").items()
    shot(page, "blocks-grouped")

    page.get_by_test_id("tab-train").click()
    if not page.get_by_test_id("cfg-epochs").is_visible():
        page.get_by_test_id("train-settings").locator("summary").click()
    page.get_by_test_id("cfg-epochs").fill("3")
    before = page.get_by_test_id("run-id").inner_text() if page.get_by_test_id("run-id").count() else ""
    page.get_by_test_id("btn-train").click()
    expect(page.get_by_test_id("run-id")).not_to_have_text(before, timeout=30_000)
    expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=90_000)
    run_id = page.get_by_test_id("run-id").inner_text()
    run = page.request.get(f"{server}/api/runs/{run_id}").json()
    assert run["epochs_done"] == 3


def test_resnet_template_shows_its_stage_collapsed(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-resnet-digits").click()
    expect(page.get_by_test_id("shape-stage1")).to_have_text("16×8×8", timeout=10_000)
    expect(page.get_by_test_id("block-repeat-stage1")).to_have_text("×2 own weights")
    expect(page.get_by_test_id("shape-fc")).to_have_text("10")
    expect(page.get_by_test_id("palette-block-basic")).to_be_visible()
    settle_view(page)
    page.get_by_test_id("node-stage1").click()
    expect(page.get_by_test_id("block-inner")).to_contain_text("conv_a")
    expect(page.get_by_test_id("inspector-shape")).to_contain_text("9,344 params in 2 copies")
    shot(page, "blocks-resnet")

    # Expand to edit the block's layers on the canvas, then collapse it back into one node.
    page.get_by_test_id("btn-expand").click()
    expect(page.get_by_test_id("node-conv_a")).to_be_visible()
    expect(page.get_by_test_id("node-stage1")).to_have_count(0)
    expect(page.get_by_test_id("shape-relu_out")).to_have_text("16×8×8", timeout=10_000)
    page.get_by_test_id("btn-collapse-stage1").click()
    expect(page.get_by_test_id("node-conv_a")).to_have_count(0)
    expect(page.get_by_test_id("block-repeat-stage1")).to_have_text("×2 own weights")
    expect(page.get_by_test_id("shape-stage1")).to_have_text("16×8×8", timeout=10_000)

    # Reuse from the palette: a second node of the same block, undone with Ctrl+Z.
    page.get_by_test_id("palette-block-basic").dblclick()
    expect(page.get_by_test_id("node-basic")).to_be_visible()
    expect(page.get_by_test_id("block-repeat-basic")).to_have_text("×1")
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("node-basic")).to_have_count(0)
