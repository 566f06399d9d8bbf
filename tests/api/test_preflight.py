"""The pre-flight of POST /api/graphs/validate: memory estimates for a batch size and optimizer, warnings for an
Output that does not fit the dataset and a model past the limits, hints for a Linear on a tensor of several axes.
The estimates and warnings are the rules POST /api/runs refuses a run by (one owner for each)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import assert_sentence, chain
from netcanvas.api.app import create_app
from netcanvas.api.limits import training_bytes
from netcanvas.settings import Settings
from netcanvas.shapes import validate_graph

URL = "/api/graphs/validate"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), max_training_memory_mb=200)
    with TestClient(create_app(settings)) as c:
        yield c


def digits_mlp(head: int) -> dict[str, Any]:
    return chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": 32}), ("ReLU", {}),
                 ("Linear", {"out_features": head}), output_id="label")


def test_a_plain_graph_gets_estimates_at_the_default_batch_size(client: TestClient) -> None:
    graph = digits_mlp(10)
    body = client.post(URL, json=graph).json()
    est = body["estimates"]
    assert est["batch_size"] == 32 and est["optimizer"] == "adam"
    assert est["parameter_bytes"] == 4 * body["total_params"] == 4 * (64 * 32 + 32 + 32 * 10 + 10)
    assert est["training_bytes"] == training_bytes(validate_graph(graph), "adam", 32)
    assert est["training_limit_bytes"] == 200_000_000
    assert body["warnings"] == [] and body["hints"] == []


def test_the_estimate_follows_the_batch_size_and_optimizer(client: TestClient) -> None:
    graph = digits_mlp(10)
    small = client.post(URL, json={"graph": graph, "config": {"batch_size": 8, "optimizer": {"type": "sgd"}}}).json()
    big = client.post(URL, json={"graph": graph, "config": {"batch_size": 512}}).json()
    assert small["estimates"]["batch_size"] == 8 and small["estimates"]["optimizer"] == "sgd"
    assert small["estimates"]["training_bytes"] == training_bytes(validate_graph(graph), "sgd", 8)
    assert big["estimates"]["training_bytes"] > small["estimates"]["training_bytes"]
    assert small["valid"] and small["nodes"].keys() == big["nodes"].keys()


def test_a_million_class_head_on_digits_is_a_warning_on_its_output(client: TestClient) -> None:
    body = client.post(URL, json={"graph": digits_mlp(1_000_000), "dataset": {"name": "digits"},
                                  "config": {"batch_size": 32}}).json()
    assert body["valid"] is True  # a warning: it does not block anything here
    on_output = [w for w in body["warnings"] if w["node"] == "label"]
    assert len(on_output) == 1
    assert "1,000,000 class scores" in on_output[0]["message"] and "10 classes" in on_output[0]["message"]
    assert_sentence(on_output[0]["message"])
    # The same rule refuses the run (a head small enough to pass the memory limit first).
    refused = client.post("/api/runs", json={"graph": digits_mlp(100), "dataset": {"name": "digits"}})
    assert refused.status_code == 422 and refused.json()["detail"][0]["node"] == "label"
    assert "100 class scores" in refused.json()["detail"][0]["msg"]


def test_a_model_past_the_memory_limit_is_a_warning_on_its_heaviest_node(client: TestClient) -> None:
    body = client.post(URL, json={"graph": digits_mlp(1_000_000), "config": {"batch_size": 32}}).json()
    (warning,) = [w for w in body["warnings"] if "NETCANVAS_MAX_TRAINING_MEMORY_MB" in w["message"]]
    assert warning["node"] == "n3"  # Linear(1,000,000): 33 M parameters
    assert "Linear 'n3' takes the most" in warning["message"]
    assert body["estimates"]["training_bytes"] > body["estimates"]["training_limit_bytes"]
    # A smaller batch does not make 33 M parameters fit; a smaller head does.
    assert not [w for w in client.post(URL, json={"graph": digits_mlp(10)}).json()["warnings"]]


def test_the_dataset_fits_and_nothing_is_said(client: TestClient) -> None:
    body = client.post(URL, json={"graph": digits_mlp(10), "dataset": {"name": "digits"}}).json()
    assert body["warnings"] == [] and body["valid"]


def test_a_graph_that_does_not_bind_says_why_about_the_graph(client: TestClient) -> None:
    graph = chain([4], ("Linear", {"out_features": 3}), output_id="label")
    body = client.post(URL, json={"graph": graph, "dataset": {"name": "digits"}}).json()
    (warning,) = body["warnings"]
    assert warning["node"] is None and warning["field"] == "dataset"
    assert "Input 'x' expects [4]" in warning["message"] and "[1, 8, 8]" in warning["message"]


def test_training_settings_that_cannot_be_read_are_warnings_naming_the_field(client: TestClient) -> None:
    body = client.post(URL, json={"graph": digits_mlp(10), "dataset": {"name": "no-such-set"},
                                  "config": {"batch_size": 0}}).json()
    assert body["valid"] is True
    fields = {w["field"] for w in body["warnings"]}
    assert "config.batch_size" in fields and "dataset" in fields
    assert any("no-such-set" in w["message"] for w in body["warnings"])
    assert body["estimates"]["batch_size"] == 32  # the defaults stand in


def test_a_linear_after_a_conv_without_flatten_is_a_hint(client: TestClient) -> None:
    graph = chain([1, 8, 8], ("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("ReLU", {}),
                  ("Linear", {"out_features": 10}))
    body = client.post(URL, json=graph).json()
    assert body["valid"] and body["warnings"] == []
    (hint,) = body["hints"]
    assert hint["node"] == "n2" and hint["edge"]["source"] == "n1"
    assert "4×6×6" in hint["message"] and "Flatten" in hint["message"]
    assert_sentence(hint["message"])


@pytest.mark.parametrize("shape, layers", [
    ([None, 16], [("Linear", {"out_features": 8})]),  # a sequence: a Linear per step
    ([12, 16], [("LSTM", {"hidden_size": 8, "return_sequences": True}), ("Linear", {"out_features": 2})]),
    ([1, 8, 8], [("Flatten", {}), ("Linear", {"out_features": 2})]),
])
def test_a_linear_per_step_of_a_sequence_or_after_flatten_is_no_hint(client: TestClient, shape: list[int | None],
                                                                     layers: list[tuple[str, dict[str, Any]]]) -> None:
    assert client.post(URL, json=chain(shape, *layers)).json()["hints"] == []


def test_a_body_that_is_neither_still_gets_a_200(client: TestClient) -> None:
    body = client.post(URL, json={"graph": "not a graph"}).json()
    assert body["valid"] is False and body["errors"]
    assert client.post(URL, json=[1, 2]).status_code == 422


def test_the_pre_flight_reads_the_graph_once(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Binding the dataset takes the parsed graph from the validation's report: a 5,000-node graph is neither
    parsed nor re-encoded a second time."""
    from netcanvas import shapes

    calls = {"parse": 0, "encode": 0}
    parse, texts = shapes.parse_graph, shapes._texts

    def counted_parse(raw: Any) -> Any:
        calls["parse"] += 1
        return parse(raw)

    def counted_texts(raw: Any) -> Any:
        calls["encode"] += 1
        return texts(raw)

    monkeypatch.setattr(shapes, "parse_graph", counted_parse)
    monkeypatch.setattr(shapes, "_texts", counted_texts)
    graph = digits_mlp(7)
    graph["name"] = "read once"  # not a graph validated before
    body = client.post(URL, json={"graph": graph, "dataset": {"name": "digits"}}).json()
    assert "7 class scores" in body["warnings"][0]["message"]  # the dataset was bound
    assert calls == {"parse": 1, "encode": 1}
