"""Ensembles in the browser: start a bagging ensemble from the Runs tab, see its members and metrics side by side,
download its one ONNX file."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
from playwright.sync_api import Page, expect
from test_app import open_app

SHOTS = Path(__file__).resolve().parents[2] / "test-results"  # docs/*.png are refreshed from here by hand


def test_start_a_bagging_ensemble_see_its_members_and_download_its_onnx(page: Page, server: str,
                                                                        tmp_path: Path) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-mlp-iris").click()
    expect(page.get_by_test_id("shape-fc2")).to_have_text("3", timeout=5000)
    page.get_by_test_id("tab-runs").click()
    ensembles = page.get_by_test_id("ensembles")
    if ensembles.get_attribute("open") is None:
        ensembles.locator("summary").click()

    page.get_by_test_id("ensemble-members").fill("1")  # too few: named under the field as typed, and by the server
    expect(page.get_by_test_id("ensemble-members-error")).to_have_text("must be ≥ 2")
    with page.expect_response(lambda r: r.url.endswith("/api/ensembles") and r.request.method == "POST") as sent:
        page.get_by_test_id("ensemble-start").click()
    assert sent.value.status == 422 and sent.value.json()["detail"][0]["loc"] == ["body", "members"]
    expect(page.get_by_test_id("ensemble-start")).to_be_enabled()  # the answer has been shown
    expect(page.get_by_test_id("ensemble-members-error")).to_have_text("must be ≥ 2")
    expect(page.get_by_test_id("ensemble-problem")).to_have_count(0)  # said once, under the field
    expect(page.get_by_test_id("ensemble-view")).to_have_count(0)

    page.get_by_test_id("ensemble-members").fill("2")
    page.get_by_test_id("ensemble-method").select_option("bagging")
    page.get_by_test_id("ensemble-start").click()
    view = page.get_by_test_id("ensemble-view")  # appears only for the ensemble just started
    expect(view.get_by_test_id("ensemble-status")).to_have_text("completed", timeout=180_000)
    expect(view.get_by_test_id("ensemble-member-1")).to_contain_text("completed")
    expect(view.get_by_test_id("ensemble-metrics")).to_contain_text("accuracy")
    page.get_by_test_id("ensembles").screenshot(path=str(SHOTS / "ensembles.png"))

    with page.expect_download(timeout=120_000) as info:
        view.get_by_test_id("ensemble-onnx").click()
    model = tmp_path / "ensemble.onnx"
    info.value.save_as(model)
    assert "ensemble" in info.value.suggested_filename
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x"]
