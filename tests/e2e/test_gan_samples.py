"""The DCGAN template in the browser: both losses on one chart and a grid of samples that updates each epoch."""

from __future__ import annotations

import base64
import io

from PIL import Image
from playwright.sync_api import Page, expect
from test_app import open_app, shot


def test_the_dcgan_template_shows_a_sample_grid_updating_during_training(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-dcgan-digits").click()
    expect(page.get_by_test_id("shape-g_up2")).to_have_text("1×8×8", timeout=10_000)
    page.get_by_test_id("tab-train").click()
    expect(page.get_by_test_id("dataset-select")).to_have_value("digits")
    expect(page.get_by_test_id("gan-toggle")).to_be_checked()  # the template's config is a GAN
    expect(page.get_by_test_id("gan-parts")).to_have_text(
        "generator: z → fake (11 nodes) · discriminator: x → score (8 nodes)")
    shot(page, "gan-settings")
    if not page.get_by_test_id("cfg-epochs").is_visible():
        page.get_by_test_id("train-settings").locator("summary").click()
    page.get_by_test_id("cfg-epochs").fill("6")
    before = page.get_by_test_id("run-id").inner_text() if page.get_by_test_id("run-id").count() else ""
    page.get_by_test_id("btn-train").click()
    expect(page.get_by_test_id("run-id")).not_to_have_text(before, timeout=30_000)

    # The grid appears after the first epoch and is replaced while the run goes on.
    epoch = page.get_by_test_id("sample-epoch")
    expect(epoch).to_be_visible(timeout=60_000)
    first_epoch = epoch.inner_text()
    first_png = page.get_by_test_id("sample-image").get_attribute("src")
    expect(epoch).not_to_have_text(first_epoch, timeout=60_000)
    assert page.get_by_test_id("sample-image").get_attribute("src") != first_png
    expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=240_000)
    expect(epoch).to_have_text("epoch 6")
    expect(page.get_by_test_id("download-onnx")).to_be_visible()  # the generator's export
    expect(page.get_by_test_id("btn-predict")).to_have_count(0)  # the grid is what there is to try

    losses = page.get_by_test_id("chart-losses")
    expect(losses).to_contain_text("generator")
    expect(losses).to_contain_text("discriminator")
    src = page.get_by_test_id("sample-image").get_attribute("src") or ""
    grid = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    assert grid.size == (8 * 9 - 1, 4 * 9 - 1)
    shot(page, "gan-run")
