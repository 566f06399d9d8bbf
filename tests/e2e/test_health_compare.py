"""Layer health on the canvas while a run trains, and the comparison of runs that differ in a param."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from test_app import open_app, shot

TEMPLATES = Path(__file__).resolve().parents[2] / "backend" / "netcanvas" / "templates"


def test_health_colours_appear_on_the_nodes_during_training(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-lenet-digits").click()
    expect(page.get_by_test_id("health-conv1")).to_have_count(0)  # nothing before a run reports
    page.get_by_test_id("tab-train").click()
    if not page.get_by_test_id("cfg-epochs").is_visible():
        page.get_by_test_id("train-settings").locator("summary").click()
    page.get_by_test_id("cfg-epochs").fill("500")
    page.get_by_test_id("btn-train").click()
    expect(page.get_by_test_id("run-status")).to_have_text("running", timeout=30_000)
    run_id = page.get_by_test_id("run-id").inner_text()
    strip = page.get_by_test_id("health-conv1")
    expect(strip).to_be_visible(timeout=90_000)  # the first step is probed; a loaded machine may take long to it
    assert strip.get_attribute("data-flag") in ("ok", "dead", "vanishing", "exploding")
    expect(page.get_by_test_id("health-relu1")).to_contain_text("dead")  # a ReLU says its dead units
    expect(page.get_by_test_id("health-legend")).to_contain_text("Layer health")
    # a second probed step (100 steps later) draws the sparkline
    expect(strip.locator("polyline")).to_have_count(1, timeout=60_000)
    shot(page, "health-canvas")
    page.get_by_test_id("btn-stop").click()
    expect(page.get_by_test_id("run-status")).to_have_text("stopped", timeout=30_000)
    stored = page.request.get(f"{server}/api/runs/{run_id}/events").json()
    assert any(e["type"] == "health" for e in stored)


def start(page: Page, server: str, graph: dict[str, Any], config: dict[str, Any]) -> str:
    r = page.request.post(f"{server}/api/runs", data=json.dumps({"graph": graph, "dataset": {"name": "iris"},
                                                                 "config": config}),
                          headers={"Content-Type": "application/json"})
    assert r.status == 201, r.text()
    return str(r.json()["id"])


def finished(page: Page, server: str, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        run = page.request.get(f"{server}/api/runs/{run_id}").json()
        if run["status"] in ("completed", "failed", "stopped"):
            return dict(run)
        assert time.monotonic() < deadline, run["status"]
        time.sleep(0.5)


def test_compare_shows_what_changed_and_an_exploding_layer_is_amber(page: Page, server: str) -> None:
    template = json.loads((TEMPLATES / "mlp-iris.json").read_text())
    graph = dict(template["graph"], name="iris compare e2e")
    wider = json.loads(json.dumps(graph))
    next(n for n in wider["nodes"] if n["id"] == "fc1")["params"]["out_features"] = 64
    config = dict(template["config"], epochs=3)
    first = start(page, server, graph, config)
    second = start(page, server, wider, dict(config, optimizer={"type": "sgd", "lr": 8.0}))
    for run_id in (first, second):
        finished(page, server, run_id)
    open_app(page, server)
    page.get_by_test_id("tab-runs").click()
    expect(page.get_by_test_id(f"run-{first}")).to_contain_text("iris compare e2e #1", timeout=10_000)
    expect(page.get_by_test_id(f"run-{second}")).to_contain_text("iris compare e2e #2")
    expect(page.get_by_test_id(f"epochs-{first}")).to_have_text("epoch 3/3")
    page.get_by_test_id(f"compare-{first}").check()
    page.get_by_test_id(f"compare-{second}").check()
    graph_diff = page.get_by_test_id("compare-graph")
    expect(graph_diff).to_contain_text("fc1.out_features", timeout=10_000)
    expect(graph_diff.locator("tr", has_text="fc1.out_features")).to_contain_text("64")
    expect(page.get_by_test_id("compare-config")).to_contain_text("optimizer.lr")
    expect(page.get_by_test_id("compare-table")).to_contain_text("test_accuracy")
    expect(page.get_by_test_id("compare-table")).to_contain_text("best val_loss")
    page.get_by_test_id("compare-metric").select_option("val_accuracy")
    expect(page.get_by_test_id("compare-table")).to_contain_text("best val_accuracy")
    shot(page, "compare-diff")
    # the run with a learning rate far too high: its first probed step flags a layer in amber
    page.get_by_test_id(f"open-{second}").click()
    expect(page.get_by_test_id("run-id")).to_have_text(second, timeout=10_000)
    expect(page.locator("[data-testid^='health-'][data-flag='exploding']").first).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("health-problems")).to_contain_text("exploding")
