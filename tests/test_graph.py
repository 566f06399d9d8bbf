"""Every class of bad graph gets an error that names the node (and edge, and field)."""

from typing import Any

import pytest

from helpers import chain
from netcanvas.shapes import validate_graph


def errors(graph: dict[str, Any]) -> list[Any]:
    report = validate_graph(graph)
    assert not report.valid
    return report.errors


def test_unknown_type_names_the_node_and_suggests() -> None:
    g = chain([4], ("Lnear", {}))
    (e,) = errors(g)
    assert e.node == "n0" and "unknown layer type 'Lnear'" in e.message and "Linear" in e.message


def test_bad_params_name_the_field() -> None:
    (e,) = errors(chain([4], ("Linear", {"out_features": 0})))
    assert e.node == "n0" and e.field == "out_features"
    (e,) = errors(chain([4], ("Linear", {"units": 3})))
    assert e.node == "n0" and e.field == "units"


def test_edge_to_unknown_node_or_port() -> None:
    g = chain([4], ("Linear", {}))
    g["edges"].append({"source": "ghost", "target": "n0"})
    (e,) = errors(g)
    assert e.node == "n0" and "ghost" in e.message and e.edge is not None
    g = chain([4], ("Linear", {}))
    g["edges"][0]["target_port"] = "query"
    es = errors(g)
    assert any(x.node == "n0" and "no input port 'query'" in x.message for x in es)


def test_unconnected_input_port() -> None:
    g = chain([4], ("Linear", {}))
    g["nodes"].append({"id": "lonely", "type": "ReLU"})
    g["edges"].append({"source": "lonely", "target": "y"})
    es = errors(g)
    assert any(x.node == "lonely" and "'in' is not connected" in x.message for x in es)


def test_too_many_edges_into_a_single_port() -> None:
    g = chain([4], ("Linear", {}))
    g["nodes"].append({"id": "other", "type": "Input", "params": {"shape": [4]}})
    g["edges"].append({"source": "other", "target": "n0"})
    (e,) = errors(g)
    assert e.node == "n0" and "2 incoming edges" in e.message


def test_cycle_names_its_nodes() -> None:
    g = chain([4], ("Linear", {"out_features": 4}), ("Add", {}), ("ReLU", {}))
    g["edges"].append({"source": "n2", "target": "n1"})
    es = errors(g)
    cycle = next(x for x in es if x.message.startswith("cycle"))
    assert set(cycle.nodes or []) == {"n1", "n2"} and "n1" in cycle.message and "n2" in cycle.message


def test_no_input_no_output() -> None:
    es = errors({"nodes": [{"id": "a", "type": "ReLU"}], "edges": []})
    messages = [x.message for x in es]
    assert "the graph has no Input node" in messages and "the graph has no Output node" in messages


def test_duplicate_ids() -> None:
    g = chain([4], ("Linear", {}))
    g["nodes"].append({"id": "n0", "type": "ReLU"})
    assert any(x.node == "n0" and "duplicate node id" in x.message for x in errors(g))


def test_unreachable_nodes_are_warnings() -> None:
    g = chain([4], ("Linear", {}))
    g["nodes"].append({"id": "dangling", "type": "ReLU"})
    g["edges"].append({"source": "n0", "target": "dangling"})
    report = validate_graph(g)
    assert report.valid
    assert [w.node for w in report.warnings] == ["dangling"]


@pytest.mark.parametrize("graph,node,text", [
    (chain([10], ("Linear", {}), dtype="int64"), "n0", "expects float32 input, got int64"),
    (chain([3, 4, 4], ("Conv2d", {"kernel_size": 5})), "n0", "does not fit the input's spatial size [4, 4]"),
    (chain([5, 6], ("MultiheadAttention", {"num_heads": 4})), "n0", "no input port 'in'"),
    (chain([6, 4, 4], ("GroupNorm", {"num_groups": 4})), "n0", "num_groups 4 must divide the 6 input channels"),
    (chain([4, None], ("Conv1d", {}), ("Flatten", {}), ("Linear", {})), "n2", "that axis is dynamic"),
    (chain([6], ("Conv2d", {})), "n0", "expects input of shape [channels, height, width], got [6]"),
])
def test_shape_errors_are_short_sentences_on_the_right_node(graph: dict[str, Any], node: str, text: str) -> None:
    es = errors(graph)
    hit = next(x for x in es if x.node == node)
    assert text in hit.message
    assert "While executing" not in hit.message and "Traceback" not in hit.message


def test_add_with_different_shapes() -> None:
    g = {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [64, 8, 8]}},
                   {"id": "c", "type": "Conv2d", "params": {"out_channels": 32, "padding": 1}},
                   {"id": "skip", "type": "Add"}, {"id": "y", "type": "Output"}],
         "edges": [{"source": "x", "target": "c"}, {"source": "x", "target": "skip"},
                   {"source": "c", "target": "skip"}, {"source": "skip", "target": "y"}]}
    (e,) = errors(g)
    assert e.message == "Add 'skip': input shapes [64, 8, 8] and [32, 8, 8] differ"


def test_mha_heads_must_divide_features() -> None:
    g = {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [5, 6]}},
                   {"id": "att", "type": "MultiheadAttention", "params": {"num_heads": 4}},
                   {"id": "y", "type": "Output"}],
         "edges": [{"source": "x", "target": "att", "target_port": "query"}, {"source": "att", "target": "y"}]}
    (e,) = errors(g)
    assert e.node == "att" and "divisible by the number of heads 4" in e.message


def test_shapes_of_valid_upstream_nodes_are_still_reported() -> None:
    g = chain([4], ("Linear", {"out_features": 8}), ("Conv2d", {}))
    report = validate_graph(g)
    assert report.nodes["n0"].output_shape == [8] and report.nodes["n1"].output_shape is None


def test_rnn_shape_inference_does_not_grow_with_sequence_length() -> None:
    import time

    def seconds(length: int) -> float:
        g = chain([length, 8], ("LSTM", {"hidden_size": 32, "num_layers": 2, "return_sequences": True}))
        g["nodes"][1]["params"]["hidden_size"] = 32 + length % 7  # a fresh cache entry each time
        start = time.perf_counter()
        assert validate_graph(g).valid
        return time.perf_counter() - start

    seconds(10)
    assert seconds(20_000) < 20 * seconds(12) + 0.05
