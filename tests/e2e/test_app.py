"""What a user does in the browser: build, validate, edit, save and open, train, stop, download, predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
from playwright.sync_api import Locator, Page, expect

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


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
    page.get_by_test_id(f"node-{node}").click()


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
    with page.expect_download() as info:
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

    with page.expect_download() as info:
        page.get_by_test_id("download-onnx").click()
    model = tmp_path / "model.onnx"
    info.value.save_as(model)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    probs = session.run(None, {"x": np.zeros((2, 4), dtype=np.float32)})[0]
    assert probs.shape == (2, 3) and np.allclose(probs.sum(1), 1, atol=1e-5)

    for i, value in enumerate(["6.3", "3.3", "6.0", "2.5"]):  # a virginica
        page.get_by_test_id(f"predict-x-{i}").fill(value)
    page.get_by_test_id("btn-predict").click()
    expect(page.get_by_test_id("prediction")).to_contain_text("virginica")
    shot(page, "predict")


def test_stop_a_long_run(page: Page, server: str) -> None:
    open_app(page, server)
    page.get_by_test_id("btn-templates").click()
    page.get_by_test_id("template-lenet-digits").click()
    page.get_by_test_id("tab-train").click()
    page.get_by_test_id("cfg-epochs").fill("500")
    page.get_by_test_id("early-stopping").uncheck()
    page.get_by_test_id("btn-train").click()
    expect(page.get_by_test_id("run-status")).to_have_text("running", timeout=30_000)
    page.get_by_test_id("btn-stop").click()
    expect(page.get_by_test_id("run-status")).to_have_text("stopped", timeout=30_000)
    page.get_by_test_id("tab-runs").click()
    expect(page.get_by_test_id("runs-panel")).to_contain_text("stopped")
