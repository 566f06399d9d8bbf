"""Every registered layer, automatically: defaults, schema docs, build, forward and backward."""

from typing import Any

import pytest
import torch

from netcanvas.catalog import REGISTRY, catalog_layers
from netcanvas.compiler import GraphInvalid, compile_graph

LAYERS = sorted(t for t in REGISTRY if t not in ("Input", "Output"))
# Candidate inputs (shape without batch, dtype), tried in order until the layer accepts one.
CANDIDATES: list[tuple[list[int], str]] = [([8], "float32"), ([4, 6, 6], "float32"), ([5, 12], "float32"),
                                           ([7], "int64")]


def single_layer_graph(layer: str, shape: list[int], dtype: str) -> dict[str, Any]:
    spec = REGISTRY[layer]
    edges = [{"source": "x", "target": "L", "target_port": spec.inputs[0].name}]
    if spec.inputs[0].variadic:
        edges.append({"source": "x", "target": "L", "target_port": spec.inputs[0].name})
    for port in spec.inputs[1:]:
        if not port.optional:
            edges.append({"source": "x", "target": "L", "target_port": port.name})
    edges.append({"source": "L", "target": "y", "source_port": spec.outputs[0].name})
    return {"nodes": [{"id": "x", "type": "Input", "params": {"shape": shape, "dtype": dtype}},
                      {"id": "L", "type": layer}, {"id": "y", "type": "Output"}], "edges": edges}


@pytest.mark.parametrize("layer", sorted(REGISTRY))
def test_defaults_validate_and_every_field_is_documented(layer: str) -> None:
    spec = REGISTRY[layer]
    spec.params.model_validate({})
    assert spec.doc and spec.category
    for field, schema in spec.params.model_json_schema().get("properties", {}).items():
        assert schema.get("description"), f"{layer}.{field} has no description"


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_builds_runs_forward_and_backward(layer: str) -> None:
    problems = []
    for shape, dtype in CANDIDATES:
        try:
            compiled = compile_graph(single_layer_graph(layer, shape, dtype))
        except GraphInvalid as e:
            problems.append(str(e))
            continue
        module = compiled.module.train()
        x = torch.randint(0, 5, (2, *shape)) if dtype == "int64" else torch.randn(2, *shape, requires_grad=True)
        out = module(x)
        assert tuple(out.shape[1:]) == compiled.outputs["y"].shape
        out.float().sum().backward()
        for name, p in module.named_parameters():
            assert p.grad is not None, f"{layer}: no gradient reached {name}"
        if dtype == "float32":
            assert x.grad is not None
        return
    pytest.fail(f"{layer} accepted none of the candidate inputs: {problems}")


def test_catalog_entries_are_complete() -> None:
    entries = catalog_layers()
    assert {e["type"] for e in entries} == set(REGISTRY)
    for e in entries:
        assert set(e) >= {"type", "category", "doc", "params_schema", "inputs", "outputs"}
        assert all({"name", "variadic", "optional"} <= set(p) for p in e["inputs"] + e["outputs"])
    merge = next(e for e in entries if e["type"] == "Add")
    assert merge["inputs"][0]["variadic"]
    mha = next(e for e in entries if e["type"] == "MultiheadAttention")
    assert [p["name"] for p in mha["inputs"]] == ["query", "key", "value"]
    assert [p["name"] for p in mha["outputs"]] == ["out", "weights"]
