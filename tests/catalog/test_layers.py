"""Every registered layer, automatically: a new layer is covered without editing this file.

For each layer type: its default params validate, every param is documented, it builds from
a small input of a rank and dtype it accepts, runs forward and backward on a batch of two
(gradients reach every trainable parameter), and `GET /api/catalog` describes it completely.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from netcanvas.api.app import create_app
from netcanvas.catalog import CATEGORIES, REGISTRY
from netcanvas.compiler import CompiledGraph, GraphInvalid, compile_graph
from netcanvas.settings import Settings

LAYERS = sorted(REGISTRY)
CANDIDATES: list[tuple[list[int], str]] = [
    ([8], "float32"),  # features
    ([5, 12], "float32"),  # [time, features] or [channels, length]
    ([4, 6, 6], "float32"),  # [channels, height, width]
    ([2, 4, 6, 6], "float32"),  # [channels, depth, height, width]
    ([7], "int64"),  # token ids
    ([5, 7], "int64"),
]
"""Inputs (shape without the batch axis, dtype) tried in order until the layer accepts one."""


def single_layer_graph(layer: str, shape: list[int], dtype: str) -> dict[str, Any]:
    """Input -> the layer -> one Output per output port. Every required input port (and a variadic
    port twice) is fed from the Input; Input and Output themselves make the graph Input -> Output."""
    x = {"id": "x", "type": "Input", "params": {"shape": shape, "dtype": dtype}}
    spec = REGISTRY[layer]
    if spec.category == "io":
        return {"nodes": [x, {"id": "y", "type": "Output"}], "edges": [{"source": "x", "target": "y"}]}
    nodes = [x, {"id": "L", "type": layer}]
    edges = []
    for port in spec.inputs:
        if not port.optional:
            edges += [{"source": "x", "target": "L", "target_port": port.name}] * (2 if port.variadic else 1)
    for port in spec.outputs:
        nodes.append({"id": f"out_{port.name}", "type": "Output"})
        edges.append({"source": "L", "source_port": port.name, "target": f"out_{port.name}"})
    return {"nodes": nodes, "edges": edges}


def build(layer: str) -> tuple[CompiledGraph, list[int], str]:
    """The layer compiled from the first candidate input it accepts; fails the test if there is none."""
    problems = []
    for shape, dtype in CANDIDATES:
        try:
            return compile_graph(single_layer_graph(layer, shape, dtype)), shape, dtype
        except GraphInvalid as e:
            problems.append(f"{shape} {dtype}: " + "; ".join(p.message for p in e.errors))
    pytest.fail(f"{layer} accepts none of the candidate inputs:\n" + "\n".join(problems))


@pytest.mark.parametrize("layer", LAYERS)
def test_defaults_validate_and_every_field_is_documented(layer: str) -> None:
    spec = REGISTRY[layer]
    spec.params.model_validate({})
    assert spec.doc.strip() and spec.category in CATEGORIES
    assert spec.outputs or spec.type_name == "Output"
    for field, schema in spec.params.model_json_schema().get("properties", {}).items():
        assert schema.get("description"), f"{layer}.{field} has no description"
        assert "default" in schema, f"{layer}.{field} has no default"


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_builds_runs_forward_and_backward(layer: str) -> None:
    torch.manual_seed(0)
    compiled, shape, dtype = build(layer)
    module = compiled.module.train()
    x = torch.randint(0, 5, (2, *shape)) if dtype == "int64" else torch.randn(2, *shape, requires_grad=True)
    out = module(x)
    outs = out if isinstance(out, tuple) else (out,)
    assert len(outs) == len(compiled.output_names) == max(len(REGISTRY[layer].outputs), 1)
    for name, o in zip(compiled.output_names, outs, strict=True):
        assert tuple(o.shape) == (2, *compiled.outputs[name].shape), name
        assert torch.isfinite(o.float()).all(), name
    loss = sum((o.float() * torch.randn(o.shape)).sum() for o in outs if o.is_floating_point())
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        assert not any(p.requires_grad for p in module.parameters()) and dtype == "int64"
        return
    loss.backward()
    for name, p in module.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{layer}: no gradient reached {name}"
    if dtype == "float32" and REGISTRY[layer].category != "io":
        assert x.grad is not None and x.grad.abs().sum() > 0, f"{layer}: no gradient reached its input"


def test_a_layer_that_fits_no_candidate_fails_instead_of_passing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(globals(), "CANDIDATES", [([3], "int64")])
    with pytest.raises(pytest.fail.Exception, match="Linear accepts none of the candidate inputs"):
        build("Linear")


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("data")))) as client:
        response = client.get("/api/catalog")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_catalog_api_lists_every_layer_once(catalog: dict[str, Any]) -> None:
    types = [e["type"] for e in catalog["layers"]]
    assert sorted(types) == LAYERS
    categories = [e["category"] for e in catalog["layers"]]
    assert categories == sorted(categories, key=CATEGORIES.index)  # grouped in palette order


@pytest.mark.parametrize("layer", LAYERS)
def test_catalog_api_entry_is_complete(catalog: dict[str, Any], layer: str) -> None:
    entry = next(e for e in catalog["layers"] if e["type"] == layer)
    spec = REGISTRY[layer]
    assert set(entry) >= {"type", "category", "doc", "params_schema", "inputs", "outputs"}
    assert entry["category"] == spec.category and entry["doc"] == spec.doc and entry["doc"]
    schema = entry["params_schema"]
    assert schema["type"] == "object" and schema["title"] == layer
    assert set(schema.get("properties", {})) == set(spec.params.model_fields)
    for field, prop in schema.get("properties", {}).items():
        assert prop.get("description"), f"{layer}.{field}"
    for key, ports in (("inputs", spec.inputs), ("outputs", spec.outputs)):
        assert [p["name"] for p in entry[key]] == [p.name for p in ports]
        for p in entry[key]:
            assert set(p) == {"name", "variadic", "optional", "doc"}
            assert isinstance(p["variadic"], bool) and isinstance(p["optional"], bool)


def test_catalog_ports_follow_the_spec(catalog: dict[str, Any]) -> None:
    entries = {e["type"]: e for e in catalog["layers"]}
    for merge in ("Add", "Multiply", "Average", "Concat"):
        assert entries[merge]["inputs"][0]["variadic"]
    mha = entries["MultiheadAttention"]
    assert [(p["name"], p["optional"]) for p in mha["inputs"]] == [("query", False), ("key", True), ("value", True)]
    assert [p["name"] for p in mha["outputs"]] == ["out", "weights"]
    assert [p["name"] for p in entries["TransformerDecoderLayer"]["inputs"]] == ["tgt", "memory"]
    assert entries["Input"]["inputs"] == [] and entries["Output"]["outputs"] == []
