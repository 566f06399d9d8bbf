"""Small graph builders shared by the tests."""

from __future__ import annotations

from typing import Any


def chain(input_shape: list[int | None], *layers: tuple[str, dict[str, Any]], dtype: str = "float32",
          input_id: str = "x", output_id: str = "y", name: str = "chain") -> dict[str, Any]:
    """Input -> layers... -> Output, node ids n0, n1, ..."""
    nodes: list[dict[str, Any]] = [{"id": input_id, "type": "Input", "params": {"shape": input_shape, "dtype": dtype}}]
    edges: list[dict[str, Any]] = []
    prev = input_id
    for i, (kind, params) in enumerate(layers):
        node_id = f"n{i}"
        nodes.append({"id": node_id, "type": kind, "params": params})
        edges.append({"source": prev, "target": node_id})
        prev = node_id
    nodes.append({"id": output_id, "type": "Output"})
    edges.append({"source": prev, "target": output_id})
    return {"format": "netcanvas.graph/1", "name": name, "nodes": nodes, "edges": edges}


def mlp(inputs: int, classes: int, hidden: int = 32, final: str | None = None) -> dict[str, Any]:
    layers: list[tuple[str, dict[str, Any]]] = [("Linear", {"out_features": hidden}), ("ReLU", {}),
                                                 ("Linear", {"out_features": classes})]
    if final:
        layers.append((final, {}))
    return chain([inputs], *layers, name="mlp")
