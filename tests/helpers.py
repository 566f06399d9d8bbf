"""Small graph builders, and the check that errors read as sentences, shared by the tests."""

from __future__ import annotations

from typing import Any

from netcanvas.graph import Problem
from netcanvas.shapes import validate_graph


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


INTERNALS = ("While executing", "Traceback", "File \"", "aten", "torch.", "RuntimeError", "Error(", "<", "0x")


def assert_sentence(message: str) -> None:
    """A short human sentence: one line, no torch internals, no fx traces, no Python reprs of objects."""
    assert message and "\n" not in message and len(message) <= 200, message
    for text in INTERNALS:
        assert text not in message, message


def errors(graph: dict[str, Any]) -> list[Problem]:
    report = validate_graph(graph)
    assert not report.valid
    for problem in report.errors + report.warnings:
        assert_sentence(problem.message)
    return report.errors


def graph(nodes: list[tuple[str, str, dict[str, Any]]], edges: list[tuple[str, str]]) -> dict[str, Any]:
    """Nodes as (id, type, params) and edges as (source[.port], target[.port])."""
    def end(text: str) -> tuple[str, str | None]:
        node, _, port = text.partition(".")
        return node, port or None

    out_edges = []
    for source, target in edges:
        (s, sp), (t, tp) = end(source), end(target)
        e: dict[str, Any] = {"source": s, "target": t}
        if sp:
            e["source_port"] = sp
        if tp:
            e["target_port"] = tp
        out_edges.append(e)
    return {"format": "netcanvas.graph/1", "name": "test",
            "nodes": [{"id": i, "type": t, "params": p} for i, t, p in nodes], "edges": out_edges}


def trunk_cnn(classes: int) -> dict[str, Any]:
    """A small CNN on 1×8×8 digits for transfer learning: a conv (c1) + BatchNorm (bn1) trunk and a head (fc)."""
    return graph([("x", "Input", {"shape": [1, 8, 8]}),
                  ("c1", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
                  ("bn1", "BatchNorm2d", {}), ("r1", "ReLU", {}), ("flat", "Flatten", {}),
                  ("fc", "Linear", {"out_features": classes}), ("y", "Output", {})],
                 [("x", "c1"), ("c1", "bn1"), ("bn1", "r1"), ("r1", "flat"), ("flat", "fc"), ("fc", "y")])
