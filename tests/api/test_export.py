"""Downloads, export reports and predictions over HTTP, on run directories laid out like the server's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import load_file
from starlette.testclient import TestClient

import exporthelpers as runs
from exporthelpers import DIGITS_RUN, MULTI_IO_RUN, SEQUENCE_RUN, UNTRAINED_RUN
from helpers import chain
from netcanvas import data
from netcanvas.api.app import create_app
from netcanvas.settings import Settings


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    runs.trained_digits_run(), runs.multi_io_run(), runs.sequence_run(), runs.run_without_weights()
    with TestClient(create_app(Settings(data_dir=runs.data_dir()))) as c:
        yield c


@pytest.mark.parametrize("fmt,suffix,media_type", [
    ("onnx", ".onnx", "application/octet-stream"), ("onnx-int8", ".int8.onnx", "application/octet-stream"),
    ("pytorch", ".py", "text/x-python"), ("torchscript", ".pt", "application/octet-stream"),
    ("weights", ".safetensors", "application/octet-stream"), ("bundle", ".zip", "application/zip")])
def test_every_format_downloads_with_a_sensible_name_and_type(client: TestClient, fmt: str, suffix: str,
                                                              media_type: str) -> None:
    r = client.get(f"/api/runs/{DIGITS_RUN}/export", params={"format": fmt})
    assert r.status_code == 200 and len(r.content) > 100
    assert f'filename="LeNet_digits-{DIGITS_RUN}{suffix}"' in r.headers["content-disposition"]
    assert r.headers["content-type"].split(";")[0] == media_type


@pytest.mark.parametrize("min_speedup", [0.0, 1000.0])
def test_int8_download_says_in_a_header_when_it_is_the_float_model(client: TestClient, min_speedup: float,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from netcanvas.export import int8

    monkeypatch.setattr(int8, "MIN_SPEEDUP", min_speedup)
    run_id = f"int8min{int(min_speedup)}"
    runs.hand_made_run(run_id, chain([4], ("Linear", {"out_features": 16}), ("ReLU", {}),
                                     ("Linear", {"out_features": 3})))
    r = client.get(f"/api/runs/{run_id}/export", params={"format": "onnx-int8"})
    report = client.get(f"/api/runs/{run_id}/export/report", params={"format": "onnx-int8"}).json()
    assert r.status_code == 200 and report["int8_method"] == "dynamic"
    ops = {node.op_type for node in onnx.load_from_string(r.content).graph.node}
    if min_speedup == 0:
        assert "x-netcanvas-int8" not in r.headers and "kept_float" not in report and "DynamicQuantizeLinear" in ops
    else:
        assert r.headers["x-netcanvas-int8"] == report["kept_float"]
        assert report["kept_float"].startswith("kept float: dynamic int8 ran at ") and "(needs 1000x)" in report[
            "kept_float"]
        assert "DynamicQuantizeLinear" not in ops and ops & {"MatMul", "Gemm"}


def test_downloaded_onnx_runs_in_onnxruntime(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(client.get(f"/api/runs/{DIGITS_RUN}/export").content)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    ds = data.load("digits")
    logits = session.run(None, {"x": ds.arrays["x"][:300]})[0]
    assert (logits.argmax(1) == ds.arrays["y"][:300]).mean() > 0.9


def test_reports_say_how_each_export_was_checked(client: TestClient) -> None:
    onnx = client.get(f"/api/runs/{DIGITS_RUN}/export/report", params={"format": "onnx"}).json()
    assert onnx["checked"] == ["batch 1", "batch 7", "64 validation samples"]
    assert onnx["opset"] >= 18 and onnx["max_abs_diff"] < 1e-4 and onnx["size_bytes"] > 1000
    assert onnx["dynamic_axes"]["x"] == ["batch", "1", "8", "8"] and "size_ratio" not in onnx  # nulls left out
    int8 = client.get(f"/api/runs/{DIGITS_RUN}/export/report", params={"format": "onnx-int8"}).json()
    assert int8["int8_method"] == "static" and int8["accuracy_change"] >= -0.01 and int8["float_size_bytes"] > 0
    # int8 is delivered when it pays off (how fast it runs depends on the machine), else the float model and why
    assert int8["size_ratio"] < 0.8 if "kept_float" not in int8 else int8["kept_float"].startswith("kept float: ")
    seq = client.get(f"/api/runs/{SEQUENCE_RUN}/export/report").json()
    assert seq["dynamic_axes"] == {"tokens": ["batch", "tokens_axis1"], "label": ["batch", "4"]}
    assert client.get(f"/api/runs/{DIGITS_RUN}/export/report", params={"format": "tflite"}).status_code == 422


def test_predict_one_sample_and_a_batch_with_class_probabilities(client: TestClient) -> None:
    ds = data.load("digits")
    x = ds.arrays["x"]
    one = client.post(f"/api/runs/{DIGITS_RUN}/predict", json={"inputs": {"x": x[0].tolist()}})
    assert one.status_code == 200, one.text
    body = one.json()
    assert len(body["outputs"]["y"]) == 10  # one sample in, one sample out (no batch axis)
    ranked = body["classes"]["y"]
    assert ranked[0]["label"] == str(ds.arrays["y"][0]) and len(ranked) == 10
    assert abs(sum(c["probability"] for c in ranked) - 1) < 1e-5
    assert [c["probability"] for c in ranked] == sorted((c["probability"] for c in ranked), reverse=True)
    batch = client.post(f"/api/runs/{DIGITS_RUN}/predict", json={"inputs": {"x": x[:20].tolist()}}).json()
    assert len(batch["outputs"]["y"]) == 20 and len(batch["classes"]["y"]) == 20
    labels = [int(row[0]["label"]) for row in batch["classes"]["y"]]
    assert np.mean(np.array(labels) == ds.arrays["y"][:20]) >= 0.85


def test_predict_applies_the_stored_standardization_and_names_outputs(client: TestClient) -> None:
    run = runs.multi_io_run()
    rng = np.random.default_rng(0)
    x_a, x_b = rng.normal(size=(3, 8)).astype(np.float32) * 5 + 3, rng.normal(size=(3, 4)).astype(np.float32)
    r = client.post(f"/api/runs/{MULTI_IO_RUN}/predict", json={"inputs": {"x_a": x_a.tolist(), "x_b": x_b.tolist()}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["outputs"]) == {"y_class", "y_value"} and set(body["classes"]) == {"y_class"}
    compiled = run.load_model()
    with torch.no_grad():
        want_class, want_value = compiled.module(torch.from_numpy((x_a - np.arange(8, dtype=np.float32)) / 2),
                                                 torch.from_numpy(x_b))
    np.testing.assert_allclose(body["outputs"]["y_class"], want_class.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(body["outputs"]["y_value"], want_value.numpy(), rtol=1e-4, atol=1e-5)
    probs = torch.softmax(want_class, 1).numpy()  # logits out: softmax applied once
    top = body["classes"]["y_class"][0][0]
    assert top["label"] == ["red", "green", "blue"][probs[0].argmax()]
    assert abs(top["probability"] - probs[0].max()) < 1e-5


def test_predict_does_not_softmax_a_softmax_and_takes_any_length(client: TestClient) -> None:
    tokens = [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]]
    for sample in tokens:
        r = client.post(f"/api/runs/{SEQUENCE_RUN}/predict", json={"inputs": {"tokens": sample}})
        assert r.status_code == 200, r.text
        out, ranked = r.json()["outputs"]["label"], r.json()["classes"]["label"]
        assert sorted((c["probability"] for c in ranked), reverse=True) == pytest.approx(sorted(out, reverse=True))


@pytest.mark.parametrize("run_id,inputs,text", [
    (DIGITS_RUN, {"x": [[1, 2]]}, "input 'x' expects shape [1, 8, 8] (float32) for one sample, or [n, ...] for a "
                                  "batch of them; got shape [1, 2]"),
    (DIGITS_RUN, {"img": [[[0.0] * 8] * 8]}, "inputs must be named 'x'; unknown: img; missing: x"),
    (DIGITS_RUN, {"x": "not numbers"}, "input 'x' must be a nested list of numbers"),
    (DIGITS_RUN, {"x": [[[1, 2], [3]]]}, "input 'x' must be a nested list of numbers"),  # ragged
    (SEQUENCE_RUN, {"tokens": [1.5, 2]}, "input 'tokens' expects whole numbers"),
    (SEQUENCE_RUN, {"tokens": [1, 99]}, "the model cannot run on these inputs"),  # past the Embedding's 20 rows
    (MULTI_IO_RUN, {"x_a": [[0.0] * 8] * 2, "x_b": [[0.0] * 4] * 3}, "inputs have different batch sizes: [2, 3]"),
    (MULTI_IO_RUN, {"x_a": [0.0] * 8}, "missing: x_b"),
])
def test_bad_inputs_get_a_422_that_names_the_input_and_what_was_expected(client: TestClient, run_id: str,
                                                                         inputs: dict[str, Any], text: str) -> None:
    r = client.post(f"/api/runs/{run_id}/predict", json={"inputs": inputs})
    assert r.status_code == 422 and text in r.json()["detail"], r.text


def test_unknown_runs_and_runs_without_weights_are_404(client: TestClient) -> None:
    for path in ("/api/runs/nope/export", "/api/runs/nope/export/report", f"/api/runs/{UNTRAINED_RUN}/export",
                 "/api/runs/..%2f..%2fetc/export"):
        assert client.get(path).status_code == 404, path
    assert client.post("/api/runs/nope/predict", json={"inputs": {}}).status_code == 404
    r = client.post(f"/api/runs/{UNTRAINED_RUN}/predict", json={"inputs": {"x": [1, 2, 3, 4]}})
    assert r.status_code == 404 and "no weights" in r.json()["detail"]


def test_a_hostile_graph_name_gives_a_plain_file_name_and_no_extra_header(client: TestClient) -> None:
    graph = {**chain([4], ("Linear", {"out_features": 2})), "name": '../../a"b\r\nSet-Cookie: x=1;/模型'}
    runs.hand_made_run("hostilename", graph)
    r = client.get("/api/runs/hostilename/export", params={"format": "weights"})
    assert r.status_code == 200 and "set-cookie" not in r.headers
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"a_b_Set-Cookie_x_1-hostilename.safetensors\"; "
        "filename*=UTF-8''a_b_Set-Cookie_x_1_%E6%A8%A1%E5%9E%8B-hostilename.safetensors")


def test_an_export_of_diverged_weights_is_a_422_naming_the_node(client: TestClient) -> None:
    run = runs.hand_made_run("divergedapi", chain([4], ("Linear", {"out_features": 2})))
    weights = run.weights_path()
    assert weights is not None
    tensors = load_file(str(weights))
    tensors["n0.weight"][0, 0] = float("nan")
    run.write_weights(tensors)
    r = client.get("/api/runs/divergedapi/export", params={"format": "onnx"})
    assert r.status_code == 422 and r.json()["detail"]["node"] == "n0"
    assert "the weights of Linear 'n0' are not finite" in r.json()["detail"]["message"]
