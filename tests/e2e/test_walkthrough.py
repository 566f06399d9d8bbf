"""What a first walk through the app turned up: every palette name readable, a pair field that refuses a word."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from test_app import open_app, select, shot

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
