"""A server started with NETCANVAS_TOKEN: the app asks for the token once, keeps it, and uses it for every
request, the run's websocket and the downloads."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect


def enter_token(page: Page, token: str) -> None:
    page.get_by_test_id("token-input").fill(token)
    page.get_by_test_id("token-submit").click()


def test_the_app_asks_for_the_token_keeps_it_and_trains_with_it(page: Page, server_with_token: str,
                                                                 server_token: str, tmp_path: Path) -> None:
    page.goto(server_with_token)
    dialog = page.get_by_test_id("token-dialog")
    expect(dialog).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("token-message")).to_contain_text("needs an access token")
    expect(page.get_by_test_id("palette-Linear")).to_have_count(0)

    enter_token(page, "not-the-token-0123456789")
    expect(page.get_by_test_id("token-message")).to_contain_text("refused that token")
    enter_token(page, server_token)
    expect(page.get_by_test_id("palette-Linear")).to_be_visible(timeout=20_000)
    expect(dialog).to_have_count(0)

    page.reload()  # kept: no second question
    expect(page.get_by_test_id("palette-Linear")).to_be_visible(timeout=20_000)
    expect(dialog).to_have_count(0)

    # the run's events come over the websocket, which carries the token too
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-mlp-iris").click()
    expect(page.get_by_test_id("shape-fc2")).to_have_text("3", timeout=5000)
    page.get_by_test_id("tab-train").click()
    page.get_by_test_id("btn-train").click()
    expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=60_000)
    assert int(page.get_by_test_id("chart-loss").get_attribute("data-points") or 0) > 0

    with page.expect_download(timeout=120_000) as info:
        page.get_by_test_id("download-weights").click()
    assert info.value.suggested_filename.endswith(".safetensors")
    saved = tmp_path / "weights.safetensors"
    info.value.save_as(saved)
    assert saved.stat().st_size > 100
    expect(dialog).to_have_count(0)
