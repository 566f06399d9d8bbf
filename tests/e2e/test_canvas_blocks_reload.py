"""A Block node expanded for editing stays collapsible after the page is reloaded (the graph is mirrored to
localStorage with the blocks expanded in it, frontend/src/stores/blocks.ts), and collapses back as it was."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from test_app import open_app
from test_canvas import settle_view


def test_an_expanded_block_survives_a_reload(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-resnet-digits").click()
    expect(page.get_by_test_id("block-repeat-stage1")).to_have_text("×2 own weights", timeout=10_000)
    settle_view(page)  # the template's fit animation moves the nodes: a click during it can miss
    page.get_by_test_id("node-stage1").click()
    expect(page.get_by_test_id("block-inner")).to_contain_text("conv_a")
    page.get_by_test_id("btn-expand").click()
    expect(page.get_by_test_id("node-conv_a")).to_be_visible()
    expect(page.get_by_test_id("btn-collapse-stage1")).to_be_visible()
    page.wait_for_timeout(600)  # the graph is mirrored to localStorage 400 ms after the last change

    page.reload()
    expect(page.get_by_test_id("node-conv_a")).to_be_visible(timeout=20_000)
    page.get_by_test_id("btn-collapse-stage1").click()
    expect(page.get_by_test_id("node-conv_a")).to_have_count(0)
    expect(page.get_by_test_id("block-repeat-stage1")).to_have_text("×2 own weights")
    expect(page.get_by_test_id("shape-stage1")).to_have_text("16×8×8", timeout=10_000)
    expect(page.get_by_test_id("handle-stage1-in-in")).to_have_count(1)
    expect(page.get_by_test_id("handle-stage1-out-out")).to_have_count(1)
    expect(page.get_by_test_id("btn-collapse-stage1")).to_have_count(0)
