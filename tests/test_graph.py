"""Every class of bad graph gets an error that names the node (and edge, and field), in a short sentence."""

from __future__ import annotations

import time
from typing import Any

import pytest

from helpers import chain
from netcanvas.graph import Problem
from netcanvas.shapes import validate_graph

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


# ---- types and params -----------------------------------------------------------------------------------------------

def test_unknown_type_names_the_node_and_suggests() -> None:
    (e,) = errors(chain([4], ("Lnear", {})))
    assert e.node == "n0" and e.field == "type"
    assert e.message == "node 'n0': unknown layer type 'Lnear' (did you mean 'Linear'?)"
    (e,) = errors(chain([4], ("Zzzzzz", {})))
    assert e.node == "n0" and "did you mean" not in e.message


@pytest.mark.parametrize("params,field,text", [
    ({"out_features": 0}, "out_features", "greater than or equal to 1"),
    ({"out_features": "abc"}, "out_features", "valid integer"),
    ({"out_features": 3.5}, "out_features", "fractional part"),
    ({"bias": "maybe"}, "bias", "valid boolean"),
    ({"units": 3}, "units", "Extra inputs are not permitted"),
])
def test_bad_params_name_the_node_and_the_field(params: dict[str, Any], field: str, text: str) -> None:
    (e,) = errors(chain([4], ("Linear", params)))
    assert e.node == "n0" and e.field == field
    assert e.message.startswith(f"Linear 'n0': {field}: ") and text in e.message


def test_bad_input_shape_names_the_input() -> None:
    (e,) = errors(chain([0, 4], ("Linear", {})))
    assert e.node == "x" and e.field == "shape" and "positive size or null" in e.message


def test_params_that_are_not_an_object_name_only_that_node() -> None:
    g = chain([4], ("Linear", {}), ("ReLU", {}))
    g["nodes"][1]["params"] = "abc"
    report = validate_graph(g)
    (e,) = report.errors  # no false "unknown node" errors on its edges, none downstream
    assert e.node == "n0" and e.field == "params"
    assert report.nodes["n0"].error == e.message and report.nodes["n0"].output_shape is None
    assert report.nodes["x"].output_shape == [4]


def test_omitted_params_take_their_defaults() -> None:
    g = chain([4], ("Linear", {}))
    del g["nodes"][1]["params"]
    report = validate_graph(g)
    assert report.valid and report.nodes["n0"].output_shape == [64]


# ---- edges and ports ----------------------------------------------------------------------------------------------

def test_edge_from_an_unknown_node_names_the_target_and_the_edge() -> None:
    g = chain([4], ("Add", {}))
    g["edges"].append({"source": "ghost", "target": "n0"})
    (e,) = errors(g)
    assert e.node == "n0" and e.edge is not None and e.edge.source == "ghost"
    assert e.message == "edge ghost -> n0: unknown source node 'ghost'"


def test_edge_to_an_unknown_node_names_the_source() -> None:
    g = chain([4], ("Linear", {}))
    g["edges"].append({"source": "n0", "target": "ghost"})
    (e,) = errors(g)
    assert e.node == "n0" and e.edge is not None and e.edge.target == "ghost" and "unknown target node" in e.message


def test_edge_to_an_unknown_port() -> None:
    g = chain([4], ("Linear", {}))
    g["edges"][0]["target_port"] = "query"
    e = next(x for x in errors(g) if x.edge is not None)
    assert e.node == "n0" and e.message == "edge x -> n0.query: Linear 'n0' has no input port 'query' (ports: in)"
    g = chain([4], ("Linear", {}))
    g["edges"][1]["source_port"] = "weights"
    e = next(x for x in errors(g) if x.edge is not None)
    assert e.node == "n0" and "has no output port 'weights' (ports: out)" in e.message


def test_a_node_cannot_feed_itself() -> None:
    g = chain([4], ("Add", {}))
    g["edges"].append({"source": "n0", "target": "n0"})
    assert any(x.node == "n0" and "cannot feed itself" in x.message for x in errors(g))


def test_unconnected_input_port() -> None:
    g = chain([4], ("Linear", {}))
    g["nodes"].append({"id": "lonely", "type": "ReLU"})
    g["edges"].append({"source": "lonely", "target": "y"})
    es = errors(g)
    assert any(x.node == "lonely" and x.message == "ReLU 'lonely': input port 'in' is not connected" for x in es)


def test_a_required_second_port_left_unconnected() -> None:
    g = graph([("x", "Input", {"shape": [5, 8]}), ("dec", "TransformerDecoderLayer", {"nhead": 2}),
               ("y", "Output", {})], [("x", "dec.tgt"), ("dec", "y")])
    (e,) = errors(g)
    assert e.node == "dec" and "input port 'memory' is not connected" in e.message


def test_optional_ports_may_stay_unconnected() -> None:
    g = graph([("x", "Input", {"shape": [5, 8]}), ("att", "MultiheadAttention", {"num_heads": 2}),
               ("y", "Output", {})], [("x", "att.query"), ("att", "y")])
    assert validate_graph(g).valid


def test_too_many_edges_into_a_single_port() -> None:
    g = chain([4], ("Linear", {}))
    g["nodes"].append({"id": "other", "type": "Input", "params": {"shape": [4]}})
    g["edges"].append({"source": "other", "target": "n0"})
    (e,) = errors(g)
    assert e.node == "n0"
    assert e.message == "Linear 'n0': input port 'in' has 2 incoming edges (from 'x', 'other'); it takes one"


def test_variadic_ports_take_many_edges() -> None:
    g = graph([("x", "Input", {"shape": [4]}), ("sum", "Add", {}), ("y", "Output", {})],
              [("x", "sum"), ("x", "sum"), ("x", "sum"), ("sum", "y")])
    assert validate_graph(g).valid


# ---- graph structure ----------------------------------------------------------------------------------------------

def test_cycle_names_its_nodes() -> None:
    g = chain([4], ("Linear", {"out_features": 4}), ("Add", {}), ("ReLU", {}))
    g["edges"].append({"source": "n2", "target": "n1"})
    es = errors(g)
    cycle = next(x for x in es if x.message.startswith("cycle"))
    assert set(cycle.nodes or []) == {"n1", "n2"} and cycle.node in {"n1", "n2"}
    assert cycle.message in ("cycle: n1 -> n2 -> n1", "cycle: n2 -> n1 -> n2")


def test_a_longer_cycle_names_every_node_on_it_and_only_those() -> None:
    g = graph([("x", "Input", {"shape": [4]}), ("a", "Add", {}), ("b", "Linear", {"out_features": 4}),
               ("c", "Tanh", {}), ("tail", "ReLU", {}), ("y", "Output", {})],
              [("x", "a"), ("a", "b"), ("b", "c"), ("c", "a"), ("c", "tail"), ("tail", "y")])
    cycle = next(x for x in errors(g) if x.message.startswith("cycle"))
    assert sorted(cycle.nodes or []) == ["a", "b", "c"]
    assert cycle.message.count("->") == 3


def test_a_cycle_is_named_when_a_node_behind_it_comes_first_in_the_file() -> None:
    g = graph([("y", "Output", {}), ("x", "Input", {"shape": [4]}), ("a", "ReLU", {}), ("b", "Add", {})],
              [("x", "b"), ("b", "a"), ("a", "b"), ("a", "y")])
    cycle = next(x for x in errors(g) if x.message.startswith("cycle"))
    assert sorted(cycle.nodes or []) == ["a", "b"]


def test_no_input_no_output() -> None:
    es = errors({"nodes": [{"id": "a", "type": "ReLU"}], "edges": []})
    messages = [x.message for x in es]
    assert "the graph has no Input node" in messages and "the graph has no Output node" in messages
    assert errors({"nodes": [], "edges": []})


def test_duplicate_ids() -> None:
    g = chain([4], ("Linear", {}))
    g["nodes"].append({"id": "n0", "type": "ReLU"})
    assert any(x.node == "n0" and x.message == "duplicate node id 'n0' (used by 2 nodes)" for x in errors(g))


def test_unreachable_nodes_are_warnings() -> None:
    g = chain([4], ("Linear", {}))
    g["nodes"].append({"id": "dangling", "type": "ReLU"})
    g["edges"].append({"source": "n0", "target": "dangling"})
    report = validate_graph(g)
    assert report.valid and report.errors == []
    (w,) = report.warnings
    assert w.node == "dangling"
    assert w.message == "ReLU 'dangling' does not lead to any Output; it is left out of the model"
    assert report.nodes["dangling"].output_shape == [64]  # still shown on the canvas


def test_an_unused_input_is_a_warning() -> None:
    g = chain([4], ("Linear", {}))
    g["nodes"].append({"id": "spare", "type": "Input", "params": {"shape": [3]}})
    report = validate_graph(g)
    assert report.valid and [w.node for w in report.warnings] == ["spare"]


def test_two_outputs_with_the_same_name() -> None:
    g = chain([4], ("Linear", {}))
    g["nodes"].append({"id": "z", "type": "Output", "params": {"name": "y"}})
    g["edges"].append({"source": "n0", "target": "z"})
    (e,) = errors(g)
    assert e.node == "z" and e.field == "name" and "also used by 'y'" in e.message


# ---- shapes -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("g,node,text", [
    (chain([10], ("Linear", {}), dtype="int64"), "n0", "expects float32 input, got int64 (token ids need an Embedding"),
    (chain([None], ("Linear", {})), "n0", "needs a fixed number of input features (axis 1 of the input), but that "
                                          "axis is dynamic"),
    (chain([4, None], ("Conv1d", {}), ("Flatten", {}), ("Linear", {})), "n2", "that axis is dynamic"),
    (chain([3, 4, 4], ("Conv2d", {"kernel_size": 5})), "n0", "kernel [5, 5] does not fit the input's spatial size "
                                                              "[4, 4]"),
    (chain([3, 4, 4], ("MaxPool2d", {"kernel_size": 8})), "n0", "does not fit the input's spatial size [4, 4]"),
    (chain([6], ("Conv2d", {})), "n0", "expects input of shape [channels, height, width], got [6]"),
    (chain([6, 4, 4], ("GroupNorm", {"num_groups": 4})), "n0", "num_groups 4 must divide the 6 input channels"),
    (chain([5, 6], ("TransformerEncoderLayer", {"nhead": 4})), "n0", "the feature size 6 must be divisible by the "
                                                                     "number of heads 4"),
    (chain([4, 4], ("Embedding", {})), "n0", "expects int64 input, got float32"),
    (chain([1, 4, 4], ("Reshape", {"shape": [3, 3]})), "n0", "cannot reshape [1, 4, 4] (16 values) to [3, 3]"),
    (chain([9, 4], ("PositionalEncoding", {"max_len": 8})), "n0", "the sequence length 9 exceeds max_len 8"),
    (chain([4], ("Flatten", {"start_dim": 2})), "n0", "start_dim 2 is out of range for an input of rank 2"),
    (chain([4], ("Permute", {"dims": [2, 1]})), "n0", "is not a permutation of the axes 1..1 of [4]"),
    (chain([3, 4, 4], ("Conv2d", {"out_channels": 8, "groups": 2})), "n0", "groups=2 must divide both"),
    (chain([8], ("Concat", {})), "n0", "needs at least two inputs, got 1"),
])
def test_shape_errors_are_short_sentences_on_the_right_node(g: dict[str, Any], node: str, text: str) -> None:
    (e,) = errors(g)  # one error: nothing downstream of the failing node is reported again
    assert e.node == node and text in e.message
    node_type = next(n["type"] for n in g["nodes"] if n["id"] == node)
    assert e.message.startswith(f"{node_type} '{node}': ")


def test_add_with_different_shapes() -> None:
    g = graph([("x", "Input", {"shape": [64, 8, 8]}), ("c", "Conv2d", {"out_channels": 32, "padding": 1}),
               ("skip", "Add", {}), ("y", "Output", {})], [("x", "c"), ("x", "skip"), ("c", "skip"), ("skip", "y")])
    (e,) = errors(g)
    assert e.node == "skip" and e.message == "Add 'skip': input shapes [64, 8, 8] and [32, 8, 8] differ"


def test_concat_with_different_shapes_outside_its_axis() -> None:
    g = graph([("x", "Input", {"shape": [4, 8, 8]}), ("p", "MaxPool2d", {}), ("cat", "Concat", {}),
               ("y", "Output", {})], [("x", "cat"), ("x", "p"), ("p", "cat"), ("cat", "y")])
    (e,) = errors(g)
    assert e.node == "cat" and e.message == "Concat 'cat': input shapes [4, 8, 8] and [4, 4, 4] differ outside dim 1"


def test_mha_heads_must_divide_features() -> None:
    g = graph([("x", "Input", {"shape": [5, 6]}), ("att", "MultiheadAttention", {"num_heads": 4}),
               ("y", "Output", {})], [("x", "att.query"), ("att", "y")])
    (e,) = errors(g)
    assert e.node == "att"
    assert e.message == "MultiheadAttention 'att': the feature size 6 must be divisible by the number of heads 4"


def test_decoder_memory_width_must_match() -> None:
    g = graph([("t", "Input", {"shape": [5, 8]}), ("m", "Input", {"shape": [7, 6]}),
               ("dec", "TransformerDecoderLayer", {"nhead": 2}), ("y", "Output", {})],
              [("t", "dec.tgt"), ("m", "dec.memory"), ("dec", "y")])
    (e,) = errors(g)
    assert e.node == "dec" and "memory has 6 features but tgt has 8" in e.message


def test_shapes_of_valid_upstream_nodes_are_still_reported() -> None:
    g = chain([4], ("Linear", {"out_features": 8}), ("Conv2d", {}), ("ReLU", {}))
    report = validate_graph(g)
    assert report.nodes["n0"].output_shape == [8] and report.nodes["n0"].params == 40
    assert report.nodes["n1"].output_shape is None and report.nodes["n1"].error
    assert report.nodes["n2"].output_shape is None and report.nodes["n2"].error is None
    assert [e.node for e in report.errors] == ["n1"]


def test_several_independent_problems_are_all_reported() -> None:
    g = graph([("x", "Input", {"shape": [4]}), ("a", "Lnear", {}), ("b", "Linear", {"out_features": -1}),
               ("c", "Conv2d", {}), ("y", "Output", {}), ("z", "Output", {}), ("w", "Output", {})],
              [("x", "a"), ("x", "b"), ("x", "c"), ("a", "y"), ("b", "z"), ("c", "w")])
    assert {e.node for e in errors(g)} == {"a", "b", "c"}


def test_rnn_shape_inference_does_not_grow_with_sequence_length() -> None:
    def seconds(length: int) -> float:
        g = chain([length, 8], ("LSTM", {"hidden_size": 32, "num_layers": 2, "return_sequences": True}))
        g["nodes"][1]["params"]["hidden_size"] = 32 + length % 7  # a fresh cache entry each time
        start = time.perf_counter()
        assert validate_graph(g).valid
        return time.perf_counter() - start

    seconds(10)
    assert seconds(20_000) < 20 * seconds(12) + 0.05


def test_an_outputs_name_is_its_name_param_else_its_id() -> None:
    from netcanvas.graph import Node

    assert Node(id="out", type="Output", params={"name": "label"}).output_name == "label"
    assert Node(id="out", type="Output", params={"name": ""}).output_name == "out"
    assert Node(id="out", type="Output").output_name == "out"
