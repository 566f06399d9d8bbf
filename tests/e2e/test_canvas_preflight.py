"""Pre-flight before Train (issue 11, item 3): the estimated memory for the chosen batch size in the Train panel,
amber warnings on the node and in the issues panel for an Output that does not fit the dataset, a hint for a Linear
after a convolution without Flatten; warnings never block Train. A run's Delete is undoable (item 5); the canvas and
the Train panel follow the graph when a run is opened twice or a template replaces it (item 2)."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from test_app import PREDICT_MS, open_app, shot
from test_canvas import open_file, settle_view


def digits_graph(head: int) -> dict[str, Any]:
    nodes = [{"id": "img", "type": "Input", "params": {"shape": [1, 8, 8]}, "position": {"x": 0, "y": 0}},
             {"id": "flat", "type": "Flatten", "position": {"x": 240, "y": 0}},
             {"id": "head", "type": "Linear", "params": {"out_features": head}, "position": {"x": 480, "y": 0}},
             {"id": "label", "type": "Output", "position": {"x": 720, "y": 0}}]
    edges = [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:], strict=False)]
    return {"format": "netcanvas.graph/1", "name": f"digits head {head}", "nodes": nodes, "edges": edges}


def choose_dataset(page: Page, name: str) -> None:
    page.get_by_test_id("tab-train").click()
    page.get_by_test_id("dataset-select").select_option(name)


def test_a_million_class_head_on_digits_is_amber_on_its_node_and_in_the_issues(page: Page, server: str,
                                                                              tmp_path: Path) -> None:
    open_app(page, server)
    choose_dataset(page, "digits")
    open_file(page, digits_graph(1_000_000), tmp_path, "huge.json")
    warning = page.get_by_test_id("warning-label")
    expect(warning).to_contain_text("1,000,000 class scores", timeout=15_000)
    expect(warning).to_contain_text("10 classes")
    expect(page.get_by_test_id("node-label")).to_have_class(re.compile(r"\bwarned\b"))
    expect(page.get_by_test_id("summary")).to_contain_text("valid · 1 warning")
    # The Train panel: the estimates for batch 32, the warning, and Train still enabled (a warning does not block).
    expect(page.get_by_test_id("preflight-params")).to_contain_text("65,000,000 · 260 MB")
    expect(page.get_by_test_id("preflight-memory")).to_contain_text("at batch 32 with adam")
    expect(page.get_by_test_id("preflight-warning")).to_contain_text("1,000,000 class scores")
    expect(page.get_by_test_id("btn-train")).to_be_enabled()
    settle_view(page)
    shot(page, "preflight-warning")
    page.get_by_test_id("preflight-show-issues").click()
    issues = page.get_by_test_id("issues")
    expect(issues).to_contain_text("1,000,000 class scores")
    expect(issues).to_contain_text("Warnings do not block Train")

    # A bigger batch makes a bigger estimate: the numbers follow the settings.
    before = page.get_by_test_id("preflight-memory").inner_text()
    page.get_by_test_id("cfg-batch-size").fill("256")
    expect(page.get_by_test_id("preflight-memory")).to_contain_text("at batch 256", timeout=10_000)
    assert page.get_by_test_id("preflight-memory").inner_text() != before

    # Fixing the head to 10 outputs ends the warning.
    open_file(page, digits_graph(10), tmp_path, "fixed.json")
    expect(page.get_by_test_id("preflight-params")).to_contain_text("650 ·", timeout=15_000)
    expect(page.get_by_test_id("warning-label")).to_have_count(0)
    expect(page.get_by_test_id("summary")).to_have_text(re.compile(r"valid\s*650 params"))


def test_a_linear_after_a_conv_without_flatten_gets_a_hint(page: Page, server: str, tmp_path: Path) -> None:
    open_app(page, server)
    choose_dataset(page, "digits")
    graph = {"format": "netcanvas.graph/1", "name": "forgot flatten", "nodes": [
        {"id": "img", "type": "Input", "params": {"shape": [1, 8, 8]}, "position": {"x": 0, "y": 0}},
        {"id": "conv", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3},
         "position": {"x": 240, "y": 0}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 10}, "position": {"x": 480, "y": 0}},
        {"id": "y", "type": "Output", "position": {"x": 720, "y": 0}}],
        "edges": [{"source": "img", "target": "conv"}, {"source": "conv", "target": "fc"},
                  {"source": "fc", "target": "y"}]}
    open_file(page, graph, tmp_path, "conv.json")
    hint = page.get_by_test_id("hint-fc")
    expect(hint).to_contain_text("4×6×6", timeout=15_000)
    expect(hint).to_contain_text("Flatten")
    expect(page.get_by_test_id("summary")).to_contain_text("1 hint")
    page.get_by_test_id("summary-button").click()
    expect(page.get_by_test_id("issues-count")).to_contain_text("1 hint")
    expect(page.get_by_test_id("issues").locator(".issue.hint")).to_contain_text("put a Flatten before it")
    settle_view(page)
    shot(page, "preflight-hint")


def api(server: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(f"{server}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        return json.loads(text) if text else None


def status_of(server: str, run_id: str) -> int:
    try:
        urllib.request.urlopen(f"{server}/api/runs/{run_id}", timeout=30)
        return 200
    except urllib.error.HTTPError as e:
        return e.code


SEE_CHECKING = """() => { window.__sawChecking = false;
    const summary = document.querySelector('[data-testid=summary]');
    new MutationObserver(() => { if (summary.textContent.includes('checking')) window.__sawChecking = true; })
        .observe(summary, {subtree: true, characterData: true, childList: true}); }"""
"""Records whether the header says 'checking…' from now on (the graph is being validated anew)."""


def test_deleting_a_run_can_be_undone_and_keeps_its_files(page: Page, server: str) -> None:
    run = api(server, "POST", "/api/runs", {"graph": digits_graph(10), "dataset": {"name": "digits"},
                                           "config": {"epochs": 1}, "name": "keep me"})
    deadline = time.monotonic() + 120
    while api(server, "GET", f"/api/runs/{run['id']}")["status"] not in ("completed", "failed", "stopped"):
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.5)
    artifacts = api(server, "GET", f"/api/runs/{run['id']}")["artifacts"]
    assert artifacts

    open_app(page, server)
    page.get_by_test_id("tab-runs").click()
    row = page.get_by_test_id(f"run-{run['id']}")
    expect(row).to_be_visible(timeout=15_000)

    # Item 2: opening a run always validates its graph, also when the same run is opened twice in a row.
    for _ in range(2):
        page.evaluate(SEE_CHECKING)
        page.get_by_test_id(f"open-{run['id']}").click()
        page.wait_for_function("window.__sawChecking", timeout=15_000)  # the graph was loaded again
        expect(page.get_by_test_id("summary")).to_contain_text("650 params", timeout=15_000)
        expect(page.get_by_test_id("summary")).to_contain_text("valid")
        page.get_by_test_id("tab-runs").click()
    # Another template replaces the graph: the Train panel no longer shows the run of the graph replaced.
    page.get_by_test_id("tab-train").click()
    expect(page.get_by_test_id("run-status")).to_have_text("completed")
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-mlp-iris").click()
    expect(page.get_by_test_id("run-status")).to_have_count(0, timeout=10_000)
    page.get_by_test_id("undo-toast-undo").click()  # Undo brings the graph back, and its run
    expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=10_000)
    # Item 8: Try it's answer is scrolled into view (it used to appear below the fold, under the drawing grid).
    page.get_by_test_id("btn-predict").click()
    expect(page.get_by_test_id("prediction")).to_contain_text("%", timeout=PREDICT_MS)
    expect(page.get_by_test_id("prediction")).to_be_in_viewport()
    page.get_by_test_id("tab-runs").click()
    page.get_by_test_id(f"delete-{run['id']}").click()
    expect(row).to_have_count(0)
    expect(page.get_by_test_id("undo-toast")).to_contain_text("Deleted run 'keep me'")
    shot(page, "run-delete-undo")
    page.get_by_test_id("undo-toast-undo").click()
    expect(row).to_be_visible()
    # Nothing was deleted on the server: the run and its files are all there.
    page.wait_for_timeout(500)
    assert status_of(server, run["id"]) == 200
    assert api(server, "GET", f"/api/runs/{run['id']}")["artifacts"] == artifacts

    # Without Undo (dismissed here rather than waiting for the toast to time out) the run is deleted.
    page.get_by_test_id(f"delete-{run['id']}").click()
    expect(row).to_have_count(0)
    page.get_by_test_id("undo-toast-dismiss").click()
    deadline = time.monotonic() + 20
    while status_of(server, run["id"]) != 404:
        assert time.monotonic() < deadline, "the run was not deleted"
        time.sleep(0.3)
    expect(row).to_have_count(0)
