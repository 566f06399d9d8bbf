"""What a first walk through the app turned up: every palette name readable, a pair field that refuses a word, a
minimap that leaves a small window's canvas to the graph."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from test_app import open_app, select, shot
from test_canvas import settle_view

CLIPPED = """() => [...document.querySelectorAll('.palette-item')]
    .filter((e) => e.scrollWidth > e.clientWidth).map((e) => e.textContent)"""
"""The palette items whose text is wider than the item: cut off by the palette's edge."""


def test_every_palette_name_is_shown_whole(page: Page, server: str) -> None:
    open_app(page, server)
    item = page.get_by_test_id("palette-TransformerEncoderLayer")
    expect(item).to_have_text("TransformerEncoderLayer")  # the breaks between words are not text
    item.scroll_into_view_if_needed()
    shot(page, "palette-long-names")
    assert page.evaluate(CLIPPED) == []
    groups = page.locator(".palette-groups")
    assert groups.evaluate("(e) => e.scrollWidth <= e.clientWidth"), "the palette scrolls sideways"


def test_a_pair_field_says_what_is_wrong_with_a_word_and_keeps_the_value_in_use(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-lenet-digits").click()
    expect(page.get_by_test_id("shape-conv2")).to_have_text("16×4×4", timeout=10_000)
    select(page, "conv2")
    field = page.get_by_test_id("param-kernel_size")
    field.fill("3, x")
    field.press("Enter")
    expect(page.get_by_test_id("param-kernel_size-error")).to_have_text("“x” is not a number")
    shot(page, "pair-field-word")
    expect(page.get_by_test_id("summary")).to_contain_text("valid")  # nothing was sent: no server error
    expect(page.get_by_test_id("error-conv2")).to_have_count(0)

    field.fill("1, 3")
    field.press("Enter")
    expect(page.get_by_test_id("param-kernel_size-error")).to_have_count(0)
    expect(page.get_by_test_id("shape-conv2")).to_have_text("16×6×4", timeout=10_000)


def test_on_a_small_window_the_minimap_leaves_the_canvas_to_the_graph(page: Page, server: str) -> None:
    page.set_viewport_size({"width": 1024, "height": 700})
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-lenet-digits").click()
    expect(page.get_by_test_id("shape-conv2")).to_have_text("16×4×4", timeout=10_000)
    select(page, "conv2")
    settle_view(page)
    canvas = page.get_by_test_id("canvas").bounding_box()
    minimap = page.locator(".react-flow__minimap svg").bounding_box()
    assert canvas and minimap
    shot(page, "minimap-small-window")
    # was 168 × 112 on a canvas of about 450 × 620: more than a third of its width
    assert minimap["width"] <= canvas["width"] / 4 and minimap["height"] <= canvas["height"] / 5
    assert minimap["width"] * minimap["height"] <= canvas["width"] * canvas["height"] / 6
    node = page.get_by_test_id("node-conv2").bounding_box()
    assert node
    overlaps = (node["x"] < minimap["x"] + minimap["width"] and minimap["x"] < node["x"] + node["width"]
                and node["y"] < minimap["y"] + minimap["height"] and minimap["y"] < node["y"] + node["height"])
    assert not overlaps, "the minimap covers the selected node"
