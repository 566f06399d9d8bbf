"""Hyperparameter search in the browser: mark what varies, run a study, open its best trial."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect
from test_app import open_app, select, set_field

SHOTS = Path(__file__).resolve().parents[2] / "test-results"  # docs/*.png are refreshed from here by hand
STUDY_MS = 400_000
"""Three 1-2 epoch trials of a small CNN on digits, one at a time, on a busy 2-core machine."""


def set_range(page: Page, test_id: str, low: str, high: str) -> None:
    page.get_by_test_id(f"{test_id}-low").fill(low)
    page.get_by_test_id(f"{test_id}-high").fill(high)


def test_mark_lr_and_out_features_run_a_random_search_and_open_the_best(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-lenet-digits").click()
    expect(page.get_by_test_id("node-fc1")).to_be_visible()

    # A Linear's width: a tune mark in the inspector, shown on the node, undoable.
    select(page, "fc1")
    page.get_by_test_id("tune-marks-open").click()
    page.get_by_test_id("tune-out_features-toggle").check()
    expect(page.get_by_test_id("tune-badge-fc1")).to_be_visible()
    select(page, "fc1")  # keys typed in a field are the field's: undo from the canvas
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("tune-badge-fc1")).to_have_count(0)
    select(page, "fc1")
    page.get_by_test_id("tune-out_features-toggle").check()
    set_range(page, "tune-out_features", "8", "64")
    expect(page.get_by_test_id("tune-badge-fc1")).to_be_visible()

    # The training config's learning rate (log range) and epochs (1 to 2) in the Search tab.
    page.get_by_test_id("tab-search").click()
    expect(page.get_by_test_id("search-node-marks")).to_contain_text("fc1.out_features")
    page.get_by_test_id("tune-config.optimizer.lr-toggle").check()
    expect(page.get_by_test_id("tune-config.optimizer.lr-log")).to_be_checked()
    set_range(page, "tune-config.optimizer.lr", "0.001", "0.05")
    page.get_by_test_id("tune-config.epochs-toggle").check()
    set_range(page, "tune-config.epochs", "1", "2")

    # A bad range is refused next to its field; nothing starts.
    set_range(page, "tune-config.optimizer.lr", "0.5", "0.05")
    page.get_by_test_id("search-sampler").select_option("random")
    page.get_by_test_id("search-trials").fill("3")
    page.get_by_test_id("search-objective").select_option("val_accuracy")
    page.get_by_test_id("search-start").click()
    expect(page.get_by_test_id("tune-config.optimizer.lr-error")).to_contain_text("greater than high")
    expect(page.get_by_test_id("study-view")).to_have_count(0)

    page.get_by_test_id("tune-config.optimizer.lr-low").fill("0.001")
    page.get_by_test_id("search-start").click()
    view = page.get_by_test_id("study-view")
    expect(view).to_have_attribute("data-status", "running", timeout=30_000)
    expect(view).to_have_attribute("data-status", "completed", timeout=STUDY_MS)
    expect(page.get_by_test_id("trials-table").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_test_id("chart-best")).to_be_visible()
    expect(page.get_by_test_id("parallel-coordinates")).to_be_visible()
    best = page.get_by_test_id("study-best").inner_text()
    match = re.search(r"fc1\.out_features=(\d+)", best)
    assert match, best
    width = int(match.group(1))
    assert 8 <= width <= 64

    # Sorting the trials by the objective puts the best one first (descending accuracy).
    page.get_by_test_id("trials-sort-value").click()
    page.get_by_test_id("trials-sort-value").click()
    best_number = re.search(r"trial (\d+)", best)
    assert best_number
    first = page.get_by_test_id("trials-table").locator("tbody tr").first
    expect(first.locator("td").nth(2)).to_have_text(page.get_by_test_id(f"trial-{best_number.group(1)}").locator("td").nth(2).inner_text())
    page.get_by_test_id("study-best").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "search.png"))

    # Change the canvas, then open the best trial: its width comes back onto the canvas.
    page.get_by_test_id("tab-inspector").click()
    select(page, "fc1")
    set_field(page, "out_features", "5")
    expect(page.get_by_test_id("node-fc1")).to_contain_text("out_features=5")
    page.get_by_test_id("tab-search").click()
    page.get_by_test_id("study-open-best").click()
    expect(page.get_by_test_id("node-fc1")).to_contain_text(f"out_features={width}")
    expect(page.get_by_test_id("tab-train")).to_have_attribute("aria-selected", "true")
