"""What a user does in the browser: build, validate, edit, save and open, train, stop, download, predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

SHOTS = Path(__file__).resolve().parents[2] / "test-results"
PREDICT_MS = 60_000
"""The first prediction of a run makes its ONNX export (seconds on a busy 2-core machine)."""


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def open_app(page: Page, server: str) -> None:
    page.goto(server)
    page.evaluate("localStorage.clear()")
    page.goto(server)
    expect(page.get_by_test_id("palette-Linear")).to_be_visible(timeout=20_000)


def drop(page: Page, layer: str, x: int, y: int) -> None:
    page.get_by_test_id(f"palette-{layer}").drag_to(page.get_by_test_id("canvas"), target_position={"x": x, "y": y})


def centre(locator: Locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def connect(page: Page, source: str, target: str, source_port: str = "out", target_port: str = "in") -> None:
    page.wait_for_timeout(700)  # let re-validation settle: an error message resizes a node and moves its handles
    sx, sy = centre(page.get_by_test_id(f"handle-{source}-out-{source_port}"))
    tx, ty = centre(page.get_by_test_id(f"handle-{target}-in-{target_port}"))
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move((sx + tx) / 2, (sy + ty) / 2, steps=8)
    page.mouse.move(tx, ty, steps=8)
    page.mouse.up()


def select(page: Page, node: str) -> None:
    """Click a node until the inspector shows it: a graph just opened is still moved into view (an animation that
    starts once React Flow has measured every node, late on a loaded machine), and a click during it can miss."""
    for attempt in range(3):
        target = page.get_by_test_id(f"node-{node}")
        try:
            target.click(timeout=5000)
        except PlaywrightTimeoutError:  # another node drawn over its centre: the click goes to the node itself
            target.dispatch_event("click")
        try:
            expect(page.get_by_test_id("inspector-id")).to_have_value(node, timeout=5000)
            return
        except AssertionError:
            if attempt == 2:
                raise


def set_field(page: Page, name: str, value: str) -> None:
    field = page.get_by_test_id(f"param-{name}")
    field.fill(value)
    field.press("Enter")


def test_build_an_mlp_see_shapes_fix_an_error_undo_redo(page: Page, server: str) -> None:
    open_app(page, server)
    drop(page, "Input", 150, 300)
    drop(page, "Linear", 450, 300)
    drop(page, "Output", 750, 300)
    connect(page, "input", "linear")
    connect(page, "linear", "output")
    expect(page.get_by_test_id("shape-linear")).to_have_text("64", timeout=5000)
    expect(page.get_by_test_id("total-params")).to_have_text("320 params")
    select(page, "input")
    set_field(page, "shape", "10")
    expect(page.get_by_test_id("shape-input")).to_have_text("10")
    expect(page.get_by_test_id("total-params")).to_have_text("704 params")
    shot(page, "build-mlp")

    # a shape error: a Conv2d cannot take [10]
    drop(page, "Conv2d", 450, 520)
    connect(page, "input", "conv2d")
    expect(page.get_by_test_id("error-conv2d")).to_contain_text("expects input of shape [channels, height, width]")
    expect(page.get_by_test_id("node-conv2d")).to_have_class(__import__("re").compile("invalid"))
    shot(page, "shape-error")
    select(page, "conv2d")
    expect(page.get_by_test_id("inspector-error")).to_contain_text("Conv2d 'conv2d'")
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("node-conv2d")).to_have_count(0)
    expect(page.get_by_test_id("summary")).to_contain_text("valid")

    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("node-conv2d")).to_have_count(1)
    page.keyboard.press("Control+Shift+z")
    expect(page.get_by_test_id("node-conv2d")).to_have_count(0)


def test_save_to_a_file_and_open_it_again(page: Page, server: str, tmp_path: Path) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-lenet-digits").click()
    expect(page.get_by_test_id("shape-fc2")).to_have_text("10", timeout=5000)
    with page.expect_download(timeout=120_000) as info:  # the export runs its checks first: slow on a loaded machine
        page.get_by_test_id("btn-save").click()
    saved = tmp_path / "graph.json"
    info.value.save_as(saved)
    graph = json.loads(saved.read_text())
    assert graph["format"] == "netcanvas.graph/1" and len(graph["nodes"]) == 13
    page.get_by_test_id("btn-new").click()
    expect(page.get_by_test_id("node-conv1")).to_have_count(0)
    page.get_by_test_id("file-input").set_input_files(str(saved))
    expect(page.get_by_test_id("shape-conv1")).to_have_text("8×8×8", timeout=5000)


def test_train_from_a_template_watch_it_download_onnx_and_predict(page: Page, server: str, tmp_path: Path) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-mlp-iris").click()
    expect(page.get_by_test_id("shape-fc2")).to_have_text("3", timeout=5000)
    page.get_by_test_id("tab-train").click()
    expect(page.get_by_test_id("dataset-select")).to_have_value("iris")
    page.get_by_test_id("btn-train").click()
    expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=60_000)
    points = int(page.get_by_test_id("chart-loss").get_attribute("data-points") or 0)
    assert points >= 40  # train and validation loss for every epoch
    expect(page.get_by_test_id("test-metrics")).to_contain_text("accuracy")
    shot(page, "trained")

    with page.expect_download(timeout=120_000) as info:  # the export runs its checks first: slow on a loaded machine
        page.get_by_test_id("download-onnx").click()
    model = tmp_path / "model.onnx"
    info.value.save_as(model)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    probs = session.run(None, {"x": np.zeros((2, 4), dtype=np.float32)})[0]
    assert probs.shape == (2, 3) and np.allclose(probs.sum(1), 1, atol=1e-5)

    for i, value in enumerate(["6.3", "3.3", "6.0", "2.5"]):  # a virginica
        page.get_by_test_id(f"predict-x-{i}").fill(value)
    page.get_by_test_id("btn-predict").click()
    expect(page.get_by_test_id("prediction")).to_contain_text("virginica", timeout=PREDICT_MS)
    shot(page, "predict")


def test_stop_a_long_run(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-lenet-digits").click()
    page.get_by_test_id("tab-train").click()
    page.get_by_test_id("cfg-epochs").fill("500")
    page.get_by_test_id("early-stopping").check()
    page.get_by_test_id("es-monitor").select_option("val_accuracy")  # auto mode: the catalog's direction
    expect(page.get_by_test_id("es-mode").locator("option").first).to_have_text("auto (max)")
    page.get_by_test_id("es-monitor").select_option("val_loss")
    expect(page.get_by_test_id("es-mode").locator("option").first).to_have_text("auto (min)")
    page.get_by_test_id("early-stopping").uncheck()
    page.get_by_test_id("btn-train").click()
    expect(page.get_by_test_id("run-status")).to_have_text("running", timeout=30_000)
    page.get_by_test_id("btn-stop").click()
    expect(page.get_by_test_id("run-status")).to_have_text("stopped", timeout=30_000)
    page.get_by_test_id("tab-runs").click()
    expect(page.get_by_test_id("runs-panel")).to_contain_text("stopped")


def train(page: Page, template: str, epochs: int) -> str:
    """Load a template, set its epochs and train it to completion; the run's id."""
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id(f"template-{template}").click()
    page.get_by_test_id("tab-train").click()
    if not page.get_by_test_id("cfg-epochs").is_visible():
        page.get_by_test_id("train-settings").locator("summary").click()
    page.get_by_test_id("cfg-epochs").fill(str(epochs))
    before = page.get_by_test_id("run-id").inner_text() if page.get_by_test_id("run-id").count() else ""
    page.get_by_test_id("btn-train").click()
    # The panel switches to the new run at once (queued): from then on, "completed" is the new run's.
    expect(page.get_by_test_id("run-id")).not_to_have_text(before, timeout=30_000)
    expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=90_000)
    return page.get_by_test_id("run-id").inner_text()


def test_server_graphs_survive_new_and_reload(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-resnet-digits").click()
    expect(page.get_by_test_id("shape-fc")).to_have_text("10", timeout=5000)
    page.get_by_test_id("btn-saved").click()
    page.get_by_test_id("save-name").fill("my resnet")
    page.get_by_test_id("btn-save-server").click()
    expect(page.get_by_test_id("saved-graphs")).to_contain_text("my resnet")
    page.get_by_test_id("btn-rename").first.click()
    page.get_by_test_id("rename-input").fill("my resnet v2")
    page.get_by_test_id("rename-input").press("Enter")
    expect(page.get_by_test_id("saved-graphs")).to_contain_text("my resnet v2")
    expect(page.get_by_test_id("graph-name")).to_have_value("my resnet v2")  # the canvas holds that graph
    page.get_by_role("button", name="Close").click()

    page.get_by_test_id("btn-new").click()
    expect(page.get_by_test_id("empty-hint")).to_be_visible()
    page.get_by_test_id("btn-saved").click()
    page.get_by_role("button", name="my resnet v2").click()
    expect(page.get_by_test_id("shape-fc")).to_have_text("10", timeout=5000)

    # unsaved work survives a reload
    select(page, "fc")
    set_field(page, "out_features", "7")
    expect(page.get_by_test_id("shape-fc")).to_have_text("7")
    page.wait_for_timeout(600)  # the graph is mirrored to localStorage, debounced
    page.reload()
    expect(page.get_by_test_id("shape-fc")).to_have_text("7", timeout=10_000)
    expect(page.get_by_test_id("graph-name")).to_have_value("my resnet v2")


def test_copy_paste_auto_layout_and_undo(page: Page, server: str) -> None:
    open_app(page, server)
    drop(page, "Input", 150, 200)
    drop(page, "Linear", 450, 200)
    connect(page, "input", "linear")
    expect(page.get_by_test_id("shape-linear")).to_have_text("64", timeout=5000)
    page.get_by_test_id("node-input").click()
    page.get_by_test_id("node-linear").click(modifiers=["Shift"])
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(page.get_by_test_id("node-linear_2")).to_be_visible()
    expect(page.get_by_test_id("node-input_2")).to_be_visible()
    expect(page.get_by_test_id("shape-linear_2")).to_have_text("64", timeout=5000)  # the edge was pasted too
    before = page.get_by_test_id("node-linear_2").bounding_box()
    page.get_by_test_id("btn-layout").click()
    page.wait_for_timeout(500)
    assert page.get_by_test_id("node-linear_2").bounding_box() != before
    page.keyboard.press("Control+z")  # the layout
    page.keyboard.press("Control+z")  # the paste
    expect(page.get_by_test_id("node-linear_2")).to_have_count(0)
    expect(page.get_by_test_id("node-linear")).to_have_count(1)


def test_multi_output_training_and_predict(page: Page, server: str) -> None:
    open_app(page, server)
    train(page, "multi-io", 3)
    metrics = page.get_by_test_id("test-metrics")
    expect(metrics).to_contain_text("y class accuracy")
    expect(metrics).to_contain_text("y value mae")
    page.get_by_test_id("btn-sample").click()
    page.get_by_test_id("btn-predict").click()
    expect(page.get_by_test_id("prediction-y_class")).to_contain_text("%", timeout=PREDICT_MS)
    expect(page.get_by_test_id("prediction-y_value")).to_be_visible()


def test_draw_a_digit_and_compare_runs(page: Page, server: str) -> None:
    open_app(page, server)
    first = train(page, "lenet-digits", 3)
    for r, c in [(1, 3), (2, 3), (3, 3), (4, 3), (5, 3), (6, 3)]:  # a "1"
        page.get_by_test_id(f"cell-{r}-{c}").click()
    page.get_by_test_id("btn-predict").click()
    expect(page.get_by_test_id("prediction")).to_contain_text("%", timeout=PREDICT_MS)
    assert page.locator(".prob-row").count() == 5  # the five likeliest of ten classes
    shot(page, "predict-digits")

    second = train(page, "lenet-digits", 2)
    page.get_by_test_id("tab-runs").click()
    page.get_by_test_id(f"compare-{first}").check()
    page.get_by_test_id(f"compare-{second}").check()
    expect(page.get_by_test_id("compare")).to_contain_text("Compare 2 runs")
    # one point per epoch of each run
    expect(page.get_by_test_id("chart-compare")).to_have_attribute("data-points", str(3 + 2))
    shot(page, "compare")


def test_reload_during_training_resumes_the_run(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-lenet-digits").click()
    page.get_by_test_id("tab-train").click()
    page.get_by_test_id("cfg-epochs").fill("500")
    page.get_by_test_id("early-stopping").uncheck()
    page.get_by_test_id("btn-train").click()
    expect(page.get_by_test_id("run-status")).to_have_text("running", timeout=30_000)
    run_id = page.get_by_test_id("run-id").inner_text()
    expect(page.get_by_test_id("progress-text")).to_contain_text("epoch", timeout=30_000)
    page.reload()  # the websocket drops; the app watches the run again: history replayed, then live
    page.get_by_test_id("tab-train").click()
    expect(page.get_by_test_id("run-id")).to_have_text(run_id, timeout=10_000)
    expect(page.get_by_test_id("run-status")).to_have_text("running")
    page.wait_for_timeout(1500)
    page.get_by_test_id("btn-stop").click()
    expect(page.get_by_test_id("run-status")).to_have_text("stopped", timeout=30_000)
    done = page.request.get(f"{server}/api/runs/{run_id}").json()["epochs_done"]
    assert done > 1
    # train and validation accuracy for every epoch the server ran: no gap, no duplicate
    expect(page.get_by_test_id("chart-accuracy")).to_have_attribute("data-points", str(2 * done))
