"""Limits on every request, and the inputs that used to end in a 500 or a hang: each is now a clear 4xx."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from helpers import chain
from netcanvas import shapes
from netcanvas.api.app import create_app
from netcanvas.api.limits import training_bytes
from netcanvas.settings import Settings
from netcanvas.shapes import validate_graph
from netcanvas.training import TrainConfig
from runhelpers import DIGITS_MLP, IRIS_MLP, QUICK, app_client, start_run, wait_for, watch

JSON = {"content-type": "application/json"}


def post(client: TestClient, path: str, text: str) -> Any:
    return client.post(path, content=text.encode(), headers=JSON)


def run_body(graph: Any, config: Any = None, dataset: str = "iris") -> str:
    return json.dumps({"graph": graph, "dataset": {"name": dataset}, "config": config or QUICK})


# ---- the body size -------------------------------------------------------------------------------------------------


def asgi_post(headers: list[tuple[bytes, bytes]], chunks: int, chunk: bytes) -> tuple[list[Any], int]:
    """POST a body of ``chunks`` chunks straight to the ASGI app; returns what it sent and how many chunks it read."""
    read = 0
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": read < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/graphs/validate", "raw_path": b"/api/graphs/validate",
             "query_string": b"", "headers": [(b"host", b"testserver"), *headers], "http_version": "1.1",
             "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 5000), "root_path": ""}
    asyncio.run(create_app(Settings(data_dir=Path("unused"), max_body_mb=0.1))(scope, receive, send))
    return sent, read


def test_a_body_announced_larger_than_the_limit_is_refused_without_reading_it() -> None:
    sent, read = asgi_post([(b"content-length", b"15000000")], 15_000, b"x" * 1000)
    assert sent[0]["status"] == 413 and read == 0
    assert "NETCANVAS_MAX_BODY_MB" in json.loads(sent[1]["body"])["detail"]


def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    sent, read = asgi_post([], 15_000, b"x" * 1000)  # 15 MB announced by no header
    assert sent[0]["status"] == 413
    assert read == 101  # 100 kB is the limit: the 101st kilobyte is the last one read
    assert "0.1 MB" in json.loads(sent[1]["body"])["detail"]


def test_the_body_limit_is_a_setting(tmp_path: Path) -> None:
    with app_client(tmp_path, max_body_mb=0.001) as client:
        assert client.post("/api/graphs", json={"graph": {"nodes": []}}).status_code == 201
        r = client.post("/api/graphs", json={"graph": {**IRIS_MLP, "ui": {"note": "x" * 900}}})
        assert r.status_code == 413 and "NETCANVAS_MAX_BODY_MB" in r.json()["detail"]
        assert client.get("/api/health").status_code == 200


# ---- the causes of 500s --------------------------------------------------------------------------------------------

SURROGATE = '{"nodes":[{"id":"\\ud800","type":"Input"}]}'


def deep_params(depth: int) -> dict[str, Any]:
    """The iris MLP with params nested ``depth`` levels deep in its first Linear ('n0')."""
    value: Any = 1
    for _ in range(depth):
        value = {"x": value}
    graph = json.loads(json.dumps(IRIS_MLP))
    graph["nodes"][1]["params"]["x"] = value
    return graph


HOSTILE = {
    "lone surrogate on validate": ("/api/graphs/validate", SURROGATE, "nodes[0].id (node '\\ud800')"),
    "lone surrogate on graphs": ("/api/graphs", f'{{"graph": {SURROGATE}}}', "lone surrogate"),
    "lone surrogate on runs": ("/api/runs", f'{{"graph": {SURROGATE}, "dataset": {{"name": "iris"}}}}',
                               "graph.nodes[0].id"),
    "1,000 levels of nesting": ("/api/graphs/validate", '{"a":' * 1000 + "1" + "}" * 1000, "64 levels deep"),
    "100,000 levels of nesting": ("/api/graphs/validate", "[" * 100_000 + "]" * 100_000, "levels deep"),
    "an integer of 5,000 digits": ("/api/graphs/validate", '{"name": ' + "9" * 5000 + "}", "5000 digits"),
    "params 300 deep on runs": ("/api/runs", run_body(deep_params(300)), "(node 'n0')"),
    "NaN in a run config": ("/api/runs", run_body(IRIS_MLP).replace('"epochs": 3', '"epochs": 3, "grad_clip": NaN'),
                            "config.grad_clip: NaN"),
    "Infinity as a learning rate": ("/api/runs", run_body(IRIS_MLP, {"optimizer": {"type": "adam", "lr": 1}})
                                    .replace('"lr": 1', '"lr": Infinity'), "config.optimizer.lr"),
    "1e999 on validate": ("/api/graphs/validate", '{"nodes": [], "x": 1e999}', "x: 1e999 is out of range"),
    "a NaN position": ("/api/graphs", '{"graph": {"nodes": [{"id": "in", "type": "Input", '
                                      '"position": {"x": NaN, "y": 0}}]}}', "(node 'in')"),
    "an infinite position": ("/api/graphs/validate", '{"nodes": [{"id": "in", "type": "Input", '
                                                     '"position": {"x": 0, "y": -Infinity}}]}', "(node 'in')"),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("limits")))) as c:
        yield c


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_json_gets_a_422_that_names_the_field(client: TestClient, case: str) -> None:
    path, text, named = HOSTILE[case]
    r = post(client, path, text)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert named in (detail if isinstance(detail, str) else json.dumps(detail))


def test_a_body_that_is_not_utf8_gets_a_422(client: TestClient) -> None:
    r = client.post("/api/graphs", content=b'{"graph": {"name": "\xff"}}', headers=JSON)
    assert r.status_code == 422 and "not UTF-8" in r.json()["detail"]


def test_422s_do_not_echo_the_input(client: TestClient) -> None:
    r = client.post("/api/runs", json={"graph": IRIS_MLP, "dataset": {"name": "iris"}, "config": {"epochs": "x" * 900}})
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "config", "epochs"]]
    assert "x" * 900 not in r.text


def test_422s_name_the_field_not_pydantics_union_members(client: TestClient) -> None:
    r = client.post("/api/runs", json={"graph": IRIS_MLP, "dataset": {"name": "iris"}, "config": {"loss": 5}})
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["detail"]} == {("body", "config", "loss")}
    assert "function-after" not in r.text and "LossSpec" not in r.text


# ---- string lengths, node and edge counts --------------------------------------------------------------------------


def test_strings_longer_than_the_limit_are_refused_everywhere(tmp_path: Path) -> None:
    long = "n" * 101
    with app_client(tmp_path, max_string_length=100) as client:
        for path, body in (("/api/graphs/validate", {**IRIS_MLP, "name": long}),
                           ("/api/graphs", {"graph": {**IRIS_MLP, "name": long}}),
                           ("/api/runs", {"graph": IRIS_MLP, "dataset": {"name": "iris"}, "name": long}),
                           ("/api/graphs/validate", {"nodes": [{"id": "x", "type": "Input", "params": {long: 1}}]})):
            r = client.post(path, json=body)
            assert r.status_code == 422 and "NETCANVAS_MAX_STRING_LENGTH" in r.json()["detail"], (path, r.text)
        assert client.get("/api/runs").json() == []


def test_graphs_with_more_nodes_or_edges_than_the_limits_are_refused(tmp_path: Path) -> None:
    with app_client(tmp_path, max_nodes=5, max_edges=4) as client:
        assert client.post("/api/graphs/validate", json=IRIS_MLP).json()["valid"]  # 5 nodes, 4 edges
        wide = {**IRIS_MLP, "nodes": [*IRIS_MLP["nodes"], {"id": "extra", "type": "ReLU"}]}
        more = {**IRIS_MLP, "edges": [*IRIS_MLP["edges"], {"source": "x", "target": "y"}]}
        for path, body in (("/api/graphs/validate", wide), ("/api/graphs", {"graph": wide}),
                           ("/api/runs", {"graph": wide, "dataset": {"name": "iris"}})):
            r = client.post(path, json=body)
            assert r.status_code == 422 and "6 nodes" in str(r.json()) and "NETCANVAS_MAX_NODES" in str(r.json())
        r = client.post("/api/graphs/validate", json=more)
        assert r.status_code == 422 and "NETCANVAS_MAX_EDGES" in r.json()["detail"]


# ---- the size of a run ---------------------------------------------------------------------------------------------


def test_a_4_billion_parameter_graph_is_refused_before_it_is_queued(client: TestClient) -> None:
    huge = chain([65_536], ("Linear", {"out_features": 65_536}))
    r = client.post("/api/runs", json={"graph": huge, "dataset": {"name": "iris"}})
    assert r.status_code == 422
    [problem] = r.json()["detail"]
    assert problem["type"] == "limit" and "4,295,032,832 parameters" in problem["msg"]
    assert "NETCANVAS_MAX_PARAMS" in problem["msg"]
    assert client.get("/api/runs").json() == []


def test_training_memory_is_estimated_and_limited(tmp_path: Path) -> None:
    report = validate_graph(DIGITS_MLP)
    weights = report.total_params
    activations = 64 + 64 + 32 + 32 + 10  # Input, Flatten, Linear, ReLU, Linear per sample (Output is the last)
    assert training_bytes(report, "adam", 100) == 4 * (4 * weights + 2 * 100 * activations)
    assert training_bytes(report, "sgd", 100) == 4 * (3 * weights + 2 * 100 * activations)
    with app_client(tmp_path, max_training_memory_mb=50) as client:
        r = client.post("/api/runs", json={"graph": DIGITS_MLP, "dataset": {"name": "digits"},
                                           "config": {"batch_size": 1_000_000}})
        assert r.status_code == 422
        assert "NETCANVAS_MAX_TRAINING_MEMORY_MB" in r.json()["detail"][0]["msg"]
        assert "a batch of 1000000" in r.json()["detail"][0]["msg"]
        assert client.get("/api/runs").json() == []


def test_an_output_wider_than_the_dataset_classes_is_refused_naming_the_output(client: TestClient) -> None:
    head = chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": 1_000_000}))
    r = client.post("/api/runs", json={"graph": head, "dataset": {"name": "digits"}})
    assert r.status_code == 422
    [problem] = r.json()["detail"]
    assert problem["node"] == "y" and "1,000,000 class scores" in problem["msg"] and "10 classes" in problem["msg"]
    narrow = chain([4], ("Linear", {"out_features": 2}))
    r = client.post("/api/runs", json={"graph": narrow, "dataset": {"name": "iris"}})
    assert r.status_code == 422 and "gives 2 class scores" in r.json()["detail"][0]["msg"]


# ---- no hang, no lock ----------------------------------------------------------------------------------------------


def test_a_websocket_resumed_at_or_past_the_end_of_a_finished_run_closes(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        run_id = start_run(client)
        wait_for(client, run_id, ("completed",))
        last = watch(client, run_id)[-1]["seq"]
        for after in (last, last + 10):
            with client.websocket_connect(f"/api/runs/{run_id}/events?after={after}") as ws:
                message = ws.receive()
            assert message["type"] == "websocket.close" and message["code"] == 1000


def test_a_big_validation_does_not_hold_up_a_small_one_or_health(client: TestClient,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    inside, release = threading.Event(), threading.Event()
    infer = shapes._infer_uncached

    def held(layer: Any, inputs: Any) -> Any:
        if getattr(layer, "out_features", None) == 4321:  # only the big graph's node waits
            inside.set()
            release.wait()
        return infer(layer, inputs)

    monkeypatch.setattr(shapes, "_infer_uncached", held)
    monkeypatch.setattr(shapes, "_cache", OrderedDict())  # the held node is computed, not found in the cache
    big = chain([8], *[("Linear", {"out_features": 4321})] + [("ReLU", {})] * 200)
    answers: list[Any] = []
    worker = threading.Thread(target=lambda: answers.append(client.post("/api/graphs/validate", json=big)))
    worker.start()
    try:
        assert inside.wait(timeout=120), "the big validation never started"
        small = client.post("/api/graphs/validate", json=IRIS_MLP)  # while the big one is held mid-way
        assert small.status_code == 200 and small.json()["valid"]
        assert client.get("/api/health").status_code == 200
        assert not answers  # the big one was still inside shape inference all along
    finally:
        release.set()
        worker.join()
    assert answers[0].status_code == 200 and answers[0].json()["valid"]


# ---- the OpenAPI document ------------------------------------------------------------------------------------------


def test_the_openapi_document_lists_the_error_answers(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"413", "422"} <= set(paths["/api/graphs/validate"]["post"]["responses"])
    assert {"413", "422"} <= set(paths["/api/runs"]["post"]["responses"])
    assert {"404", "413", "422"} <= set(paths["/api/graphs/{graph_id}"]["put"]["responses"])
    for path, method in (("/api/runs/{run_id}", "get"), ("/api/runs/{run_id}", "delete"),
                         ("/api/graphs/{graph_id}", "get"), ("/api/runs/{run_id}/stop", "post")):
        assert "404" in paths[path][method]["responses"], (path, method)


@pytest.mark.parametrize("config", [{"grad_clip": float("nan")}, {"optimizer": {"type": "sgd", "lr": float("inf")}}])
def test_a_config_built_in_python_refuses_nan_and_infinity(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="finite number"):
        TrainConfig.model_validate(config)
