"""Every class of bad graph gets an error that names the node (and edge, and field), in a short sentence."""

from __future__ import annotations

from typing import Any

import pytest

from helpers import chain, errors, graph, mlp
from netcanvas.graph import parse_graph, size_problem
from netcanvas.shapes import validate_graph

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


def test_a_params_error_reads_without_pydantics_internals() -> None:
    (e,) = errors(chain([0, 4], ("Linear", {})))
    assert e.message == "Input 'x': shape: every axis must be a positive size or null"  # not "Value error, every ..."
    g = chain([1, 8, 8], ("Conv2d", {"out_channels": 4, "kernel_size": [3, "x"]}))
    messages = [p.message for p in errors(g) if p.node == "n0"]
    # not "kernel_size.tuple[constrained-int, constrained-int].1" nor "kernel_size.constrained-int"
    assert messages == [
        "Conv2d 'n0': kernel_size: Input should be a valid integer",
        "Conv2d 'n0': kernel_size.1: Input should be a valid integer, unable to parse string as an integer"]
    g = chain([1, 8, 8], ("Conv2d", {"out_channels": 4, "kernel_size": "x"}))
    # each member of the union refusing the text alike is said once per different reason
    assert [p.message for p in errors(g) if p.node == "n0"] == [
        "Conv2d 'n0': kernel_size: Input should be a valid integer, unable to parse string as an integer",
        "Conv2d 'n0': kernel_size: Input should be a valid array"]


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



def test_an_outputs_name_is_its_name_param_else_its_id() -> None:
    from netcanvas.graph import Node

    assert Node(id="out", type="Output", params={"name": "label"}).output_name == "label"
    assert Node(id="out", type="Output", params={"name": ""}).output_name == "out"
    assert Node(id="out", type="Output").output_name == "out"


@pytest.mark.parametrize("x", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_position_is_an_error_naming_the_node(x: float) -> None:
    g = mlp(4, 3)
    g["nodes"][1]["position"] = {"x": x, "y": 0}
    [problem] = parse_graph(g).errors
    assert problem.node == "n0" and "position" in problem.message and "finite" in problem.message


def test_the_node_and_edge_limits_are_checked_before_anything_else() -> None:
    g = mlp(4, 3)  # 5 nodes, 4 edges
    assert size_problem(g, max_nodes=5, max_edges=4) is None
    assert size_problem(g, max_nodes=4, max_edges=4) == ("the graph has 5 nodes, more than the limit of 4 "
                                                          "(NETCANVAS_MAX_NODES)")
    assert "4 edges" in str(size_problem(g, max_nodes=5, max_edges=3))
    assert size_problem({"nodes": "not a list"}, max_nodes=1, max_edges=1) is None  # parse_graph reports it
