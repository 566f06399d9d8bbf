"""The evaluation, samples and explain endpoints on runs trained the way the server trains them.

The expected numbers are computed here independently: the run's model loaded from its directory, the test
split rebuilt with the run's seed, and scikit-learn's own functions on those predictions.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from starlette.testclient import TestClient

from helpers import assert_sentence, mlp
from netcanvas import data
from netcanvas.api.app import create_app
from netcanvas.artifacts import RunDir
from netcanvas.compiler import CompiledGraph
from netcanvas.runs.execute import execute
from netcanvas.settings import Settings
from netcanvas.training import TrainConfig

TEMPLATES = Path(__file__).parents[2] / "backend" / "netcanvas" / "templates"
DIGITS, IRIS, MULTI, TEXT, EMPTY = "digits", "iris", "multi", "text", "empty"


def template(name: str) -> dict[str, Any]:
    return dict(json.loads((TEMPLATES / f"{name}.json").read_text()))


@cache
def data_dir(root: Path) -> Path:
    runs = {
        DIGITS: (template("lenet-digits")["graph"], "digits", {"epochs": 3, "batch_size": 32}),
        IRIS: (mlp(4, 3, hidden=16), "iris", {"epochs": 30, "batch_size": 16}),
        MULTI: (template("multi-io")["graph"], "multi_io", dict(template("multi-io")["config"], epochs=2)),
        TEXT: (template("transformer-text")["graph"], "text", {"epochs": 1, "batch_size": 32}),
    }
    for run_id, (graph, dataset, config) in runs.items():
        outcome = execute(graph, {"name": dataset}, {**config, "seed": 0}, root / "runs" / run_id,
                          lambda event: None, run_id=run_id, threads=2)
        assert outcome.status == "completed", outcome.error
    empty = RunDir(root / "runs" / EMPTY)  # queued: graph and config written, no weights yet
    empty.write_graph(mlp(4, 3))
    empty.write_config({"seed": 0})
    return root


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = data_dir(tmp_path_factory.mktemp("insight"))
    with TestClient(create_app(Settings(data_dir=root))) as c:
        c.app.state.root = root  # type: ignore[attr-defined]
        yield c
    shutil.rmtree(root, ignore_errors=True)


def model_and_test_split(client: TestClient, run_id: str) -> tuple[CompiledGraph, data.PreparedData, RunDir]:
    """The run's model and its test split, rebuilt here from the run directory."""
    run = RunDir(client.app.state.root / "runs" / run_id)  # type: ignore[attr-defined]
    compiled = run.load_model()
    config = TrainConfig.model_validate(run.config())
    dataset = data.load(str(run.info().dataset["name"]))  # type: ignore[index]
    prepared = data.prepare(dataset, compiled, seed=config.seed, validation_split=config.validation_split)
    return compiled, prepared, run



def problem(r: Any) -> dict[str, Any]:
    """The one 422 item of an answer, its message read as a sentence."""
    assert r.status_code == 422, r.text
    item = r.json()["detail"][0]
    assert_sentence(item["msg"])
    return dict(item)


# ---- evaluation --------------------------------------------------------------------------------------------------


def test_confusion_matrix_and_auc_equal_scikit_learns_on_the_same_predictions(client: TestClient) -> None:
    compiled, prepared, run = model_and_test_split(client, DIGITS)
    assert prepared.test is not None
    with torch.no_grad():
        probs = torch.softmax(compiled(prepared.test["x"]), dim=1).double().numpy()
    y = prepared.test["y"].numpy()
    r = client.get(f"/api/runs/{DIGITS}/evaluation")
    assert r.status_code == 200, r.text
    report = r.json()["outputs"]["y"]
    assert report["task"] == "classification" and report["classes"] == [str(i) for i in range(10)]
    assert report["confusion_matrix"]["counts"] == skm.confusion_matrix(y, probs.argmax(1), labels=range(10)).tolist()
    assert report["accuracy"] == pytest.approx(run.info().test_metrics["test_accuracy"], abs=1e-9)
    normalized = np.array(report["confusion_matrix"]["normalized"])
    assert np.allclose(normalized.sum(axis=1), 1, atol=1e-5)
    for c in range(10):
        assert report["roc"][str(c)]["auc"] == pytest.approx(skm.roc_auc_score(y == c, probs[:, c]), abs=1e-9)
        assert report["pr"][str(c)]["average_precision"] == pytest.approx(
            skm.average_precision_score(y == c, probs[:, c]), abs=1e-9)
    precision, recall, f1, support = skm.precision_recall_fscore_support(y, probs.argmax(1), labels=range(10),
                                                                         zero_division=0)
    assert [row["f1"] for row in report["per_class"]] == pytest.approx(f1.tolist())
    assert [row["support"] for row in report["per_class"]] == support.tolist()
    curve = report["roc"]["3"]
    assert curve["fpr"][0] == 0 and curve["tpr"][-1] == 1 and curve["fpr"] == sorted(curve["fpr"])


def test_a_confusion_cell_lists_its_samples_and_the_worst_are_really_wrong(client: TestClient) -> None:
    compiled, prepared, _ = model_and_test_split(client, DIGITS)
    assert prepared.test is not None
    with torch.no_grad():
        pred = compiled(prepared.test["x"]).argmax(1).numpy()
    y = prepared.test["y"].numpy()
    report = client.get(f"/api/runs/{DIGITS}/evaluation", params={"include": "confusion_matrix,worst"}).json()
    out = report["outputs"]["y"]
    assert "roc" not in out and "per_class" not in out
    counts, cells = out["confusion_matrix"]["counts"], out["confusion_matrix"]["samples"]
    for t in range(10):
        for p in range(10):
            assert len(cells[t][p]) == counts[t][p]
            assert all(y[i] == t and pred[i] == p for i in cells[t][p])
    worst = out["worst"][0]
    assert worst["true"] != worst["predicted"] and worst["true_probability"] < 0.5
    assert str(y[worst["index"]]) == worst["true"]


def test_regression_output_gets_errors_a_scatter_and_residuals(client: TestClient) -> None:
    compiled, prepared, _ = model_and_test_split(client, MULTI)
    assert prepared.test is not None
    with torch.no_grad():
        _, value = compiled(prepared.test["x_a"], prepared.test["x_b"])
    true = prepared.test["y_value"].double().numpy().reshape(len(value), -1)
    pred = value.double().numpy().reshape(len(value), -1)
    report = client.get(f"/api/runs/{MULTI}/evaluation", params={"output": "y_value"}).json()["outputs"]
    assert list(report) == ["y_value"]
    reg = report["y_value"]
    assert reg["task"] == "regression" and "confusion_matrix" not in reg
    assert reg["mae"] == pytest.approx(skm.mean_absolute_error(true, pred))
    assert reg["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(true, pred)))
    assert reg["r2"] == pytest.approx(skm.r2_score(true, pred))
    assert sum(reg["residuals"]["counts"]) == len(true) and len(reg["scatter"]["true"]) == len(true)


def test_a_confusion_matrix_of_a_regression_output_is_refused_with_a_reason(client: TestClient) -> None:
    r = client.get(f"/api/runs/{MULTI}/evaluation", params={"output": "y_value", "include": "confusion_matrix"})
    item = problem(r)
    assert item["loc"] == ["query", "include"]
    assert "regression" in item["msg"] and "y_value" in item["msg"] and "confusion_matrix" in item["msg"]
    assert problem(client.get(f"/api/runs/{MULTI}/evaluation", params={"output": "nope"}))["loc"] == [
        "query", "output"]
    assert problem(client.get(f"/api/runs/{MULTI}/evaluation", params={"include": "heatmap"}))["loc"] == [
        "query", "include"]
    assert client.get(f"/api/runs/{EMPTY}/evaluation").status_code == 404
    assert client.get("/api/runs/nosuchrun/evaluation").status_code == 404


def test_samples_are_drawn_with_column_names_raw_values_images_and_tokens(client: TestClient) -> None:
    _, prepared, _ = model_and_test_split(client, IRIS)
    iris = data.load("iris")
    body = client.get(f"/api/runs/{IRIS}/samples", params={"indices": "0,5"}).json()
    row = body["samples"][1]["inputs"]["x"]
    assert row["kind"] == "table" and row["features"][0] == "sepal length (cm)"
    assert prepared.test is not None
    raw = prepared.test["x"][5].numpy() * np.array(prepared.preprocessing.inputs["x"].std) + np.array(
        prepared.preprocessing.inputs["x"].mean)
    assert any(np.allclose(raw, r, atol=1e-4) for r in iris.arrays["x"])
    assert body["samples"][1]["targets"]["y"] in ("setosa", "versicolor", "virginica")
    image = client.get(f"/api/runs/{DIGITS}/samples", params={"indices": "2"}).json()["samples"][0]["inputs"]["x"]
    assert image["kind"] == "image" and np.array(image["values"]).shape == (1, 8, 8)
    text = client.get(f"/api/runs/{TEXT}/samples", params={"indices": "0"}).json()["samples"][0]["inputs"]["x"]
    assert text["kind"] == "text" and len(text["tokens"]) == 24 and text["tokens"][-1] == "<pad>"
    assert problem(client.get(f"/api/runs/{IRIS}/samples", params={"indices": "9999"}))["loc"] == [
        "query", "indices"]
    assert problem(client.get(f"/api/runs/{IRIS}/samples", params={"indices": "a,b"}))["loc"] == ["query", "indices"]


# ---- explanations ------------------------------------------------------------------------------------------------


def explain(client: TestClient, run_id: str, **body: Any) -> dict[str, Any]:
    r = client.post(f"/api/runs/{run_id}/explain", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_saliency_is_the_gradient_of_the_predicted_class_probability(client: TestClient) -> None:
    compiled, prepared, _ = model_and_test_split(client, DIGITS)
    assert prepared.test is not None
    x = prepared.test["x"][4:5].clone().requires_grad_(True)
    probs = torch.softmax(compiled(x), dim=1)[0]
    target = int(probs.argmax())
    probs[target].backward()
    assert x.grad is not None
    body = explain(client, DIGITS, method="saliency", sample=4)
    assert body["target"] == target and body["prediction"][0]["class"] == target
    assert np.allclose(np.array(body["attributions"]["x"]), x.grad[0].numpy(), atol=1e-6)
    assert body["inputs"]["x"]["kind"] == "image"


def test_integrated_gradients_add_up_to_the_change_from_a_blank_image(client: TestClient) -> None:
    compiled, prepared, _ = model_and_test_split(client, DIGITS)
    assert prepared.test is not None
    x = prepared.test["x"][7:8]
    body = explain(client, DIGITS, method="integrated_gradients", sample=7, target=3, steps=64)
    with torch.no_grad():
        change = torch.softmax(compiled(x), 1)[0, 3] - torch.softmax(compiled(torch.zeros_like(x)), 1)[0, 3]
    attributions = np.array(body["attributions"]["x"])
    assert attributions.shape == (1, 8, 8) and body["target"] == 3 and body["target_label"] == "3"
    assert attributions.sum() == pytest.approx(float(change), abs=0.02)
    typed = explain(client, DIGITS, method="integrated_gradients", inputs={"x": x[0].tolist()}, target=3, steps=64)
    assert np.allclose(np.array(typed["attributions"]["x"]), attributions, atol=1e-5)


def test_kernel_shap_on_iris_gives_one_signed_value_per_named_column(client: TestClient) -> None:
    compiled, prepared, _ = model_and_test_split(client, IRIS)
    assert prepared.test is not None
    x = prepared.test["x"][0:1]
    body = explain(client, IRIS, method="shap", sample=0)
    values = body["attributions"]["x"]
    assert len(values) == 4 and body["inputs"]["x"]["features"][3] == "petal width (cm)"
    with torch.no_grad():
        target = body["target"]
        change = torch.softmax(compiled(x), 1)[0, target] - torch.softmax(compiled(torch.zeros_like(x)), 1)[0, target]
    assert sum(values) == pytest.approx(float(change), abs=0.05)  # SHAP values add up to the change from baseline
    assert any(v < 0 for v in values) or any(v > 0 for v in values)


def test_lime_and_shap_explain_every_input_of_a_multi_input_graph(client: TestClient) -> None:
    for method in ("lime", "shap", "saliency", "integrated_gradients"):
        body = explain(client, MULTI, method=method, sample=1, output="y_class", n_samples=100)
        assert len(body["attributions"]["x_a"]) == 8 and len(body["attributions"]["x_b"]) == 4, method
        assert body["prediction"][0]["label"] in ("low", "mid", "high")
    value = explain(client, MULTI, method="saliency", sample=1, output="y_value")
    assert value["target"] == 0 and "target_label" not in value  # a value, not a class


def test_token_attributions_and_attention_maps_on_the_transformer_template(client: TestClient) -> None:
    for method in ("integrated_gradients", "saliency", "shap"):
        body = explain(client, TEXT, method=method, sample=0, n_samples=60)
        assert len(body["attributions"]["x"]) == 24 and body["inputs"]["x"]["kind"] == "text", method
    body = explain(client, TEXT, method="attention", sample=0)
    (attention,) = body["attention"]
    assert attention["node"] == "encoder" and attention["type"] == "TransformerEncoderLayer"
    heads = np.array(attention["heads"])
    assert heads.shape == (4, 24, 24) and np.allclose(heads.sum(axis=2), 1, atol=1e-4)
    assert np.allclose(np.array(body["attributions"]["encoder"]), heads.mean(axis=0), atol=1e-6)


def test_a_background_explanation_reports_progress_then_its_result(client: TestClient) -> None:
    r = client.post(f"/api/runs/{DIGITS}/explain", json={"method": "shap", "sample": 2, "background": True})
    assert r.status_code == 202, r.text
    job = r.json()
    deadline = time.monotonic() + 120
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
        job = client.get(f"/api/runs/{DIGITS}/explain/{job['id']}").json()
    assert job["status"] == "done" and job["progress"] == 1
    assert np.array(job["result"]["attributions"]["x"]).shape == (1, 8, 8)


def test_a_background_explanation_can_be_cancelled(client: TestClient) -> None:
    r = client.post(f"/api/runs/{TEXT}/explain", json={"method": "lime", "sample": 0, "n_samples": 5000,
                                                       "background": True})
    job_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while (job := client.get(f"/api/runs/{TEXT}/explain/{job_id}").json())["progress"] == 0:
        assert time.monotonic() < deadline and job["status"] in ("queued", "running")
        time.sleep(0.05)
    client.delete(f"/api/runs/{TEXT}/explain/{job_id}")
    while (job := client.get(f"/api/runs/{TEXT}/explain/{job_id}").json())["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["status"] == "cancelled" and job["progress"] < 1 and "result" not in job
    assert client.get(f"/api/runs/{DIGITS}/explain/{job_id}").status_code == 404  # another run's job


@pytest.mark.parametrize("body,loc", [
    ({"method": "gradcam", "sample": 0}, ["body", "method"]),
    ({"method": "saliency", "sample": 360}, ["body", "sample"]),
    ({"method": "saliency", "sample": -1}, ["body", "sample"]),
    ({"method": "saliency", "sample": 0, "target": 10}, ["body", "target"]),
    ({"method": "saliency", "inputs": {"x": [[1, 2], [3, 4]]}}, ["body", "inputs", "x"]),
    ({"method": "saliency", "inputs": {"image": [0]}}, ["body", "inputs"]),
    ({"method": "saliency"}, ["body", "sample"]),
    ({"method": "saliency", "sample": 0, "output": "z"}, ["body", "output"]),
    ({"method": "attention", "sample": 0}, ["body", "method"]),
    ({"method": "shap", "sample": 0, "n_samples": 10_000_000}, ["body", "n_samples"]),
])
def test_bad_explain_requests_name_the_field(client: TestClient, body: dict[str, Any], loc: list[str]) -> None:
    r = client.post(f"/api/runs/{DIGITS}/explain", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][:len(loc)] == loc


def test_explain_on_a_run_without_weights_says_so(client: TestClient) -> None:
    r = client.post(f"/api/runs/{EMPTY}/explain", json={"method": "saliency", "sample": 0})
    assert r.status_code == 404 and "no weights" in r.json()["detail"]
