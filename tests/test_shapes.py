"""Shape inference: every node's output shape and parameter count, and shape errors as sentences on their node."""

from __future__ import annotations

import copy
import random
import threading
import time
from typing import Any

import pytest
from pydantic import ValidationError
from torch import nn

from golden import GOLDEN, REFERENCES, load, reference_shapes
from helpers import chain, errors, graph
from netcanvas import shapes
from netcanvas.catalog import REGISTRY
from netcanvas.compiler import compile_graph
from netcanvas.graph import Problem
from netcanvas.shapes import validate_graph

# ---- the golden graphs against hand-written PyTorch -----------------------------------------------------------------

def test_golden_graphs_use_every_layer() -> None:
    used = {n["type"] for name in GOLDEN for n in load(name)["nodes"]}
    assert not set(REGISTRY) - used, f"no golden graph uses {sorted(set(REGISTRY) - used)}"
    assert used <= set(REGISTRY)


def test_every_golden_graph_has_a_reference_and_a_canvas_layout() -> None:
    assert set(REFERENCES) == set(GOLDEN)
    for name in GOLDEN:
        graph = load(name)
        assert graph["format"] == "netcanvas.graph/1" and graph["name"]
        positions = {n["id"]: n["position"] for n in graph["nodes"]}
        assert len({(p["x"], p["y"]) for p in positions.values()}) == len(positions), f"{name}: nodes overlap"
        for e in graph["edges"]:  # left to right: every edge points rightwards
            assert positions[e["source"]]["x"] < positions[e["target"]]["x"], (name, e)
    ids = {n["id"] for name in GOLDEN for n in load(name)["nodes"]}
    assert {"in", "forward", "my layer", "1st"} <= ids  # ids that need sanitizing in generated code


@pytest.mark.parametrize("name", GOLDEN)
def test_every_node_shape_and_param_count_matches_hand_written_pytorch(name: str) -> None:
    graph = load(name)
    report = validate_graph(graph)
    assert report.valid, report.errors
    assert report.warnings == []
    compiled = compile_graph(graph)
    expected = reference_shapes(name, graph, compiled)
    node_ids = {n["id"] for n in graph["nodes"]}
    assert node_ids <= set(expected), f"the reference does not compute {node_ids - set(expected)}"
    for node_id, info in report.nodes.items():
        assert info.output_shape == expected[node_id], node_id
    for node_id, info in report.nodes.items():
        for port, shape in info.output_shapes.items():
            if port != "out" and f"{node_id}.{port}" in expected:
                assert shape == expected[f"{node_id}.{port}"], (node_id, port)  # MultiheadAttention weights

    reference = REFERENCES[name]()
    assert report.total_params == sum(p.numel() for p in reference.parameters())
    for node_id, attr in compiled.module_names.items():
        module = getattr(reference, attr, None)
        own = sum(p.numel() for p in module.parameters()) if isinstance(module, nn.Module) else 0
        assert report.nodes[node_id].params == own, node_id


# ---- shape errors ---------------------------------------------------------------------------------------------------

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


# ---- re-validation reuses what did not change ---------------------------------------------------------------------

def _edit(rng: random.Random, g: dict[str, Any]) -> None:
    """One edit the canvas makes: a moved node, a param set (to a good or bad value), a param added or removed."""
    node = rng.choice(g["nodes"])
    params = node.setdefault("params", {})
    numbers = [k for k, v in params.items() if isinstance(v, int) and not isinstance(v, bool)]
    kind = rng.randrange(5)
    if kind == 0:
        node["position"] = {"x": rng.random() * 500, "y": 10.0}
    elif kind == 1:
        params["bogus"] = 1
    elif kind == 2:
        params.pop("bogus", None)
    elif node["type"] == "Input":
        params["shape"] = [rng.choice([1, 3, 8, 16, None, 0]) for _ in params.get("shape", [4])]
    elif numbers:
        params[rng.choice(numbers)] = rng.choice([1, 2, 3, 5, 16, 64, 0, -1, True])


@pytest.mark.parametrize("name", GOLDEN)
def test_revalidation_after_edits_answers_what_a_cold_validation_does(name: str) -> None:
    rng = random.Random(name)
    g = copy.deepcopy(load(name))
    for _ in range(25):
        _edit(rng, g)  # in place, as a Python caller may: nothing of the previous graph may be kept by reference
        again = validate_graph(g).model_dump()
        shapes.clear_caches()
        assert again == validate_graph(g).model_dump()


def test_an_edit_recomputes_only_the_edited_node_and_what_its_new_output_reaches() -> None:
    g = chain([16], ("Linear", {"out_features": 8}), ("ReLU", {}), ("Linear", {"out_features": 4}))
    shapes.clear_caches()
    validate_graph(g)
    computed: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        real = shapes._infer_uncached
        patch.setattr(shapes, "_infer_uncached", lambda layer, inputs: computed.append(layer.type_name)
                      or real(layer, inputs))
        g["nodes"][3]["params"]["out_features"] = 5  # the last Linear: nothing downstream but the Output
        report = validate_graph(g)
        g["nodes"][1]["params"]["out_features"] = 9  # the first: the ReLU and the last Linear see a new width
        report2 = validate_graph(g)
    assert computed == ["Linear", "Linear", "ReLU", "Linear"]
    assert report.nodes[g["nodes"][3]["id"]].output_shape == [5]
    assert report2.nodes[g["nodes"][2]["id"]].output_shape == [9]
    assert report2.total_params == 16 * 9 + 9 + 9 * 5 + 5


def test_reports_do_not_share_what_a_caller_can_change() -> None:
    g = chain([4], ("Linear", {"out_features": 3}))
    first = validate_graph(g)
    first.errors.append(Problem(message="added by the caller"))
    first.nodes.clear()
    second = validate_graph(g)
    assert second.nodes and not second.errors
    with pytest.raises(ValidationError):
        second.nodes[g["nodes"][1]["id"]].params = 0  # entries are shared between reports: frozen


def test_modules_built_for_shapes_skip_initialization_only_in_their_own_thread() -> None:
    built: list[nn.Linear] = []
    with shapes.skipped_init():
        worker = threading.Thread(target=lambda: built.append(nn.Linear(64, 64)))
        worker.start()
        worker.join()
        skipped = nn.Linear(64, 64)
    assert not skipped.weight.any()  # zeroed, not initialized
    assert built[0].weight.abs().sum() > 0  # another thread, at the same time: initialized as usual
    assert nn.Linear(64, 64).weight.abs().sum() > 0
