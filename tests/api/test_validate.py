"""POST /api/graphs/validate and GET /api/catalog over HTTP."""

import json
import random
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from golden import GOLDEN, load
from netcanvas.api.app import create_app
from netcanvas.settings import Settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("data")))) as c:
        yield c


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_graphs_validate_with_shapes_and_params(client: TestClient, name: str) -> None:
    body = client.post("/api/graphs/validate", json=load(name)).json()
    assert body["valid"] is True and body["errors"] == []
    assert body["total_params"] > 0
    for node in body["nodes"].values():
        assert node["output_shape"] is not None
    assert all(e["shape"] is not None for e in body["edges"])


def test_curl_style_form_content_type_is_accepted(client: TestClient) -> None:
    raw = (Path(__file__).parents[1] / "fixtures" / "graphs" / "lenet5.json").read_text()
    r = client.post("/api/graphs/validate", content=raw, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and r.json()["nodes"]["c1"]["output_shape"] == [6, 28, 28]


def test_non_objects_get_422(client: TestClient) -> None:
    assert client.post("/api/graphs/validate", content="[1, 2]").status_code == 422
    assert client.post("/api/graphs/validate", content="{not json").status_code == 422


def junk(rng: random.Random, depth: int = 0) -> Any:
    choices = [None, 1, -5, 3.5, "x", "Linear", True, [], {}]
    if depth < 3:
        choices += [[junk(rng, depth + 1) for _ in range(rng.randint(0, 3))],
                    {rng.choice(["id", "type", "params", "shape", "source", "target", "nodes", "edges", "x"]):
                     junk(rng, depth + 1) for _ in range(rng.randint(0, 4))}]
    return rng.choice(choices)


def test_any_json_object_gets_a_200(client: TestClient) -> None:
    rng = random.Random(0)
    base = load("resnet_block")
    for _ in range(150):
        body: dict[str, Any] = json.loads(json.dumps(base))
        target = rng.choice(["nodes", "edges", "node", "params", "top"])
        if target == "top":
            body = {k: junk(rng) for k in rng.sample(["nodes", "edges", "name", "format", "ui"], 3)}
        elif target == "params":
            rng.choice(body["nodes"])["params"] = {rng.choice(["out_channels", "kernel_size", "shape", "p"]): junk(rng)}
        elif target == "node":
            body["nodes"][rng.randrange(len(body["nodes"]))] = junk(rng)
        else:
            body[target].append(junk(rng))
        r = client.post("/api/graphs/validate", json=body)
        assert r.status_code == 200, body
        report = r.json()
        assert isinstance(report["valid"], bool)
        for e in report["errors"]:
            assert "Traceback" not in e["message"] and "internal error" not in e["message"]


def test_catalog_lists_layers_training_options_and_datasets(client: TestClient) -> None:
    catalog = client.get("/api/catalog").json()
    assert {"layers", "optimizers", "losses", "metrics", "datasets", "schedules"} <= set(catalog)
    assert {o["type"] for o in catalog["optimizers"]} == {"sgd", "momentum", "adam", "adamw", "rmsprop", "adagrad",
                                                          "adadelta"}
    assert {m["type"] for m in catalog["metrics"]} == {"accuracy", "precision", "recall", "f1", "auc_roc", "mse", "mae"}
    assert any(d["name"] == "digits" for d in catalog["datasets"])
