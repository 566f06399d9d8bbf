"""Evaluation and explanations in the browser: a confusion-matrix cell shows its samples, an integrated-gradients
overlay on a digit, SHAP bars on iris named by column, the attention map of the Transformer template."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from test_app import open_app, shot, train

EXPLAIN_MS = 60_000
"""The first explanation imports captum and loads the run (seconds on a busy 2-core machine)."""


def open_insight(page: Page, tab: str) -> None:
    page.get_by_test_id("btn-insight").click()
    page.get_by_test_id(f"insight-tab-{tab}").click()


def explain(page: Page, method: str | None, sample: int = 0) -> None:
    if method is not None:
        page.get_by_test_id("explain-method").select_option(method)
    page.get_by_test_id("explain-sample").fill(str(sample))
    page.get_by_test_id("btn-explain").click()
    expect(page.get_by_test_id("explanation")).to_be_visible(timeout=EXPLAIN_MS)


def coloured_pixels(page: Page, test_id: str) -> int:
    """Pixels of a canvas whose red and blue differ: where an attribution was painted over the grey image."""
    return int(page.get_by_test_id(test_id).evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
                  for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - d[i + 2]) > 20) n++; return n; }"""))


def test_a_confusion_cell_shows_its_samples_and_integrated_gradients_colour_a_digit(page: Page, server: str) -> None:
    open_app(page, server)
    train(page, "lenet-digits", 3)
    open_insight(page, "evaluation")
    expect(page.get_by_test_id("confusion")).to_be_visible(timeout=EXPLAIN_MS)
    expect(page.get_by_test_id("per-class")).to_contain_text("precision")
    cell = page.get_by_test_id("confusion-3-3")
    count = int(cell.inner_text() or 0)
    assert count > 0
    cell.click()
    expect(page.get_by_test_id("cell-samples")).to_contain_text(re.compile(r"True 3, predicted 3: \d+ sample"))
    expect(page.get_by_test_id("cell-sample")).to_have_count(min(count, 12), timeout=EXPLAIN_MS)
    expect(page.get_by_test_id("worst-sample").first).to_be_visible(timeout=EXPLAIN_MS)
    page.get_by_test_id("cell-samples").scroll_into_view_if_needed()
    shot(page, "evaluation")

    page.get_by_test_id("insight-tab-explain").click()
    explain(page, "integrated_gradients", sample=5)
    expect(page.get_by_test_id("explain-target-label")).to_have_text(re.compile(r"^\d$"))
    expect(page.get_by_test_id("attribution-x")).to_be_visible()
    assert coloured_pixels(page, "attribution-x") > 100
    shot(page, "explain-digit")


def test_shap_bars_on_iris_are_named_by_column(page: Page, server: str) -> None:
    open_app(page, server)
    train(page, "mlp-iris", 30)
    open_insight(page, "explain")
    explain(page, "shap", sample=3)
    bars = page.get_by_test_id("attribution-x-bar")
    expect(bars).to_have_count(4)
    expect(page.get_by_test_id("attribution-x")).to_contain_text("petal length (cm)")
    expect(page.get_by_test_id("attribution-x")).to_contain_text("sepal width (cm)")
    shot(page, "explain-iris-shap")


def test_attention_heat_map_on_the_transformer_template(page: Page, server: str) -> None:
    open_app(page, server)
    train(page, "transformer-text", 1)
    open_insight(page, "explain")
    expect(page.get_by_test_id("explain-method")).to_have_value("attention")
    explain(page, None)
    grid = page.get_by_test_id("attention-0")
    expect(grid.locator("tbody tr")).to_have_count(24)
    expect(grid.locator("thead th")).to_have_count(25)
    page.get_by_test_id("attention-head-0").select_option("1")
    expect(page.get_by_test_id("explanation")).to_contain_text("TransformerEncoderLayer")
    shot(page, "explain-attention")
