"""POST /api/graphs/validate and GET /api/catalog over HTTP.

Any JSON object gets a 200 with ``valid`` and node-named errors (fuzzed below: junk anywhere in
real graphs, wrong types in every field); only a body that is not a JSON object gets a 422.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from golden import GOLDEN, load
from netcanvas.api.app import create_app
from netcanvas.settings import Settings
from netcanvas.shapes import validate_graph

URL = "/api/graphs/validate"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("data")))) as c:
        yield c


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_graphs_validate_with_every_shape_and_param_count(client: TestClient, name: str) -> None:
    graph = load(name)
    response = client.post(URL, json=graph)
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True and body["errors"] == []
    assert set(body["nodes"]) == {n["id"] for n in graph["nodes"]}
    assert body["total_params"] == sum(n["params"] for n in body["nodes"].values()) > 0
    for node in body["nodes"].values():
        assert node["output_shape"] is not None and node["error"] is None
    assert all(e["shape"] is not None for e in body["edges"])
    # The engine's report, as JSON, with the API's pre-flight (tests/api/test_preflight.py) added.
    assert body == json.loads(validate_graph(graph).model_dump_json()) | {"estimates": body["estimates"],
                                                                          "hints": body["hints"]}


def test_dynamic_axes_are_null_in_the_answer(client: TestClient) -> None:
    body = client.post(URL, json=load("attention")).json()
    assert body["nodes"]["x"]["output_shape"] == [None, 16]
    assert body["nodes"]["cross"]["output_shapes"] == {"out": [None, 16], "weights": [None, None]}


def test_curl_style_form_content_type_is_accepted(client: TestClient) -> None:
    raw = (Path(__file__).parents[1] / "fixtures" / "graphs" / "lenet5.json").read_text()
    r = client.post(URL, content=raw, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and r.json()["nodes"]["c1"]["output_shape"] == [6, 28, 28]


@pytest.mark.parametrize("body", ["[1, 2]", "\"graph\"", "3", "null", "true", "{not json", "", "\xff\xfe"])
def test_bodies_that_are_not_json_objects_get_422(client: TestClient, body: str) -> None:
    r = client.post(URL, content=body.encode("latin-1"), headers={"content-type": "application/json"})
    assert r.status_code == 422 and isinstance(r.json()["detail"], str)


def bad(name: str, edit: Any) -> dict[str, Any]:
    graph = load(name)
    edit(graph)
    return graph


def node(graph: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in graph["nodes"] if n["id"] == node_id)


BAD_GRAPHS = {
    "unknown type": (bad("mlp", lambda g: node(g, "act1").update(type="Gelu")), "act1", "did you mean 'GELU'"),
    "bad param": (bad("mlp", lambda g: node(g, "fc1")["params"].update(out_features=-3)), "fc1", "out_features"),
    "unknown edge target": (bad("mlp", lambda g: g["edges"].append({"source": "fc2", "target": "nowhere"})), "fc2",
                            "unknown target node 'nowhere'"),
    "cycle": (bad("resnet_block", lambda g: g["edges"].append({"source": "skip", "target": "conv_a"})), "conv_a",
              "2 incoming edges"),
    "shape": (bad("resnet_block", lambda g: node(g, "conv_b")["params"].update(out_channels=8)), "skip",
              "Add 'skip': input shapes [8, 16, 16] and [16, 16, 16] differ"),
    "dtype": (bad("transformer_classifier", lambda g: node(g, "1st").update(type="Identity", params={})), "pos",
              "PositionalEncoding 'pos': expects float32 input, got int64"),
}


@pytest.mark.parametrize("case", sorted(BAD_GRAPHS))
def test_bad_graphs_get_200_with_errors_on_their_nodes(client: TestClient, case: str) -> None:
    graph, node_id, text = BAD_GRAPHS[case]
    r = client.post(URL, json=graph)
    assert r.status_code == 200
    body = r.json()
    assert body["valid"] is False
    hit = next(e for e in body["errors"] if e["node"] == node_id and text in e["message"])
    assert text in body["nodes"][node_id]["error"] or body["nodes"][node_id]["error"] == hit["message"]


JUNK: list[Any] = [None, 0, -1, 2.5, 1e308, "", "x", "Linear", "in", True, [], {}, [None], {"a": 1}, [1, [2]],
                   "\u0000", "é" * 300, 10**30]


def junk(rng: random.Random, depth: int = 0) -> Any:
    if depth < 3 and rng.random() < 0.3:
        keys = ["id", "type", "params", "shape", "source", "target", "source_port", "target_port", "nodes", "edges"]
        if rng.random() < 0.5:
            return [junk(rng, depth + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(keys): junk(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return copy.deepcopy(rng.choice(JUNK))  # never shared: a later replacement must not create a cycle


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location inside a JSON value (keys and list indexes)."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*prefix, i))
    return out


def replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    value[path[0]] = replace(value[path[0]], path[1:], new)
    return value


def assert_well_formed(r: Any, body: Any) -> None:
    assert r.status_code == 200, body
    report = r.json()
    assert isinstance(report["valid"], bool) and isinstance(report["nodes"], dict)
    assert report["valid"] == (report["errors"] == []), body
    for e in report["errors"] + report["warnings"]:
        message = e["message"]
        assert isinstance(message, str) and message and "\n" not in message, body
        for text in ("Traceback", "internal error", "While executing"):
            assert text not in message, (body, message)
    named = {n for e in report["errors"] for n in (e.get("nodes") or [e["node"]]) if n is not None}
    for node_id, info in report["nodes"].items():  # the canvas marks exactly the nodes that errors name
        assert (info["error"] is not None) == (node_id in named), (body, node_id)


def test_junk_anywhere_in_a_real_graph_gets_a_200(client: TestClient) -> None:
    """Wrong types everywhere: each request replaces one place (a key's value, a list item) of a golden graph."""
    rng = random.Random(0)
    graphs = [load(name) for name in GOLDEN]
    for _ in range(300):
        body = copy.deepcopy(rng.choice(graphs))
        for _ in range(rng.randint(1, 3)):
            body = replace(body, rng.choice(paths(body)[1:]), junk(rng))
        assert_well_formed(client.post(URL, json=body), body)


def test_junk_objects_get_a_200(client: TestClient) -> None:
    rng = random.Random(1)
    for _ in range(150):
        keys = ["nodes", "edges", "name", "format", "ui", "x"]
        body = {rng.choice(keys): junk(rng) for _ in range(rng.randint(0, 5))}
        assert_well_formed(client.post(URL, json=body), body)


def test_wrong_types_in_every_field_name_the_node(client: TestClient) -> None:
    """Each field of each node of the MLP, set to each junk value: a 200 whose errors name that node."""
    graph = load("mlp")
    for i, n in enumerate(graph["nodes"]):
        for field in ("type", "params", "position"):
            for value in (None, 3, "?", [1], {"zz": 1}):
                if field == "position" and value in (None, {"zz": 1}):
                    continue  # no position is fine, unknown keys in a position are ignored
                body = copy.deepcopy(graph)
                body["nodes"][i][field] = value
                r = client.post(URL, json=body)
                assert_well_formed(r, body)
                report = r.json()
                assert report["valid"] is False, body
                assert any(e["node"] == n["id"] for e in report["errors"]), (field, value, report["errors"])


def test_catalog_lists_layers_training_options_and_datasets(client: TestClient) -> None:
    catalog = client.get("/api/catalog").json()
    assert {"layers", "optimizers", "losses", "metrics", "datasets", "schedules"} <= set(catalog)
    assert {o["type"] for o in catalog["optimizers"]} >= {"sgd", "momentum", "adam", "adamw", "rmsprop", "adagrad",
                                                          "adadelta"}
    assert {m["type"] for m in catalog["metrics"]} >= {"accuracy", "precision", "recall", "f1", "auc_roc", "mse",
                                                       "mae"}
    assert any(d["name"] == "digits" for d in catalog["datasets"])
