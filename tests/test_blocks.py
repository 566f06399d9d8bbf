"""Repeat blocks and sub-graphs (netcanvas.graph/2): inlining, readable names, shared weights, node errors,
the /1 -> /2 migration on every fixture, and the same expansion behind the API, the CLI and the Python API."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from golden import GOLDEN, inputs_for, load
from helpers import assert_sentence
from netcanvas import Model
from netcanvas.blocks import MAX_EXPANDED_NODES, MAX_NESTING, expand_blocks, upgrade
from netcanvas.cli import app as cli
from netcanvas.compiler import GraphInvalid, compile_graph
from netcanvas.graph import Graph, parse_graph
from netcanvas.shapes import validate_graph
from netcanvas.weights import node_state_dict


def node(node_id: str, kind: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "params": params}


def edge(source: str, target: str, source_port: str = "out", target_port: str = "in") -> dict[str, Any]:
    return {"source": source, "target": target, "source_port": source_port, "target_port": target_port}


RES_BLOCK = {  # a residual unit: in -> conv1 -> relu -> add(+in) -> out
    "nodes": [node("in", "Input"), node("conv1", "Conv2d", out_channels=4, kernel_size=3, padding=1),
              node("relu", "ReLU"), node("add", "Add"), node("out", "Output")],
    "edges": [edge("in", "conv1"), edge("conv1", "relu"), edge("relu", "add"), edge("in", "add"), edge("add", "out")],
}


def with_blocks(repeat: int = 3, shared: bool = False, blocks: dict[str, Any] | None = None,
                block: str = "res") -> dict[str, Any]:
    return {"format": "netcanvas.graph/2", "name": "blocks", "blocks": blocks or {"res": copy.deepcopy(RES_BLOCK)},
            "nodes": [node("x", "Input", shape=[4, 6, 6]), node("block1", "Block", block=block, repeat=repeat,
                                                                  shared=shared),
                      node("gap", "GlobalAvgPool2d"), node("y", "Output")],
            "edges": [edge("x", "block1"), edge("block1", "gap"), edge("gap", "y")]}


def flat_by_hand(repeat: int) -> dict[str, Any]:
    """What with_blocks(repeat) means, written out as a /1 graph."""
    nodes = [node("x", "Input", shape=[4, 6, 6])]
    edges = []
    prev = "x"
    for i in range(repeat):
        p = f"block1.{i}."
        nodes += [node(p + "conv1", "Conv2d", out_channels=4, kernel_size=3, padding=1), node(p + "relu", "ReLU"),
                  node(p + "add", "Add")]
        edges += [edge(prev, p + "conv1"), edge(p + "conv1", p + "relu"), edge(p + "relu", p + "add"),
                  edge(prev, p + "add")]
        prev = p + "add"
    nodes += [node("gap", "GlobalAvgPool2d"), node("y", "Output")]
    edges += [edge(prev, "gap"), edge("gap", "y")]
    return {"format": "netcanvas.graph/1", "name": "blocks", "nodes": nodes, "edges": edges}


def messages(graph: dict[str, Any]) -> list[tuple[str | None, str]]:
    report = validate_graph(graph)
    assert not report.valid
    for problem in report.errors:
        assert_sentence(problem.message)
    return [(p.node, p.message) for p in report.errors]


@pytest.mark.parametrize("name", GOLDEN)
def test_every_v1_fixture_loads_unchanged_through_the_migration(name: str) -> None:
    raw = load(name)
    assert raw["format"] == "netcanvas.graph/1"
    upgraded = upgrade(raw)
    assert upgraded == {**raw, "format": "netcanvas.graph/2"} and raw["format"] == "netcanvas.graph/1"
    graph = Graph.model_validate(raw)
    assert expand_blocks(graph).graph is graph  # no blocks: the very same graph, nothing copied
    assert validate_graph(upgraded) == validate_graph(raw)
    torch.manual_seed(0)
    before = compile_graph(raw)
    torch.manual_seed(0)
    after = compile_graph(Graph.model_validate(upgraded))
    assert after.module.code == before.module.code
    for (ka, va), (kb, vb) in zip(node_state_dict(before).items(), node_state_dict(after).items(), strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_a_repeat_block_is_the_graph_written_out_by_hand() -> None:
    report = validate_graph(with_blocks(3))
    assert report.valid and report.warnings == [], report.errors
    expected = validate_graph(flat_by_hand(3))
    assert report == expected  # every inner node under its expanded id, with its shape; every edge
    assert report.nodes["block1.2.conv1"].output_shape == [4, 6, 6]
    torch.manual_seed(0)
    compiled = compile_graph(with_blocks(3))
    torch.manual_seed(0)
    by_hand = compile_graph(flat_by_hand(3))
    assert compiled.module.code == by_hand.module.code and "self.block1_1_conv1(" in compiled.module.code
    weights = node_state_dict(compiled)
    assert list(weights) == [f"block1.{i}.conv1.{w}" for i in range(3) for w in ("weight", "bias")]
    x = inputs_for(compiled)
    torch.testing.assert_close(compiled(*x), by_hand(*x))


def test_shared_copies_use_the_first_copys_weights_and_count_them_once() -> None:
    own = validate_graph(with_blocks(3))
    shared = validate_graph(with_blocks(3, shared=True))
    assert shared.valid and shared.total_params * 3 == own.total_params == 3 * (4 * 4 * 9 + 4)
    torch.manual_seed(0)
    compiled = compile_graph(with_blocks(3, shared=True))
    assert list(node_state_dict(compiled)) == ["block1.0.conv1.weight", "block1.0.conv1.bias"]
    conv: Any = compiled.module.get_submodule("block1_0_conv1")
    x = torch.randn(2, 4, 6, 6)
    h = x
    for _ in range(3):
        h = torch.relu(conv(h)) + h
    torch.testing.assert_close(compiled(x), h.mean(dim=(2, 3)))
    compiled(x).sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0


def test_shared_copies_whose_input_shapes_differ_are_a_node_error() -> None:
    widen = {"nodes": [node("in", "Input"), node("fc", "Linear", out_features=8), node("out", "Output")],
             "edges": [edge("in", "fc"), edge("fc", "out")]}
    graph = with_blocks(2, shared=True, blocks={"widen": widen}, block="widen")
    graph["nodes"][0]["params"]["shape"] = [4]
    graph["nodes"][2] = node("gap", "Identity")
    found = messages(graph)
    assert found == [("block1.1.fc", "Linear 'block1.1.fc': shares its weights with 'block1.0.fc' (a shared repeat) "
                                     "but gets input [8] where that one gets [4]; make the block keep its shapes, "
                                     "or set shared to false")]
    with pytest.raises(GraphInvalid):
        compile_graph(graph)
    graph["nodes"][1]["params"]["shared"] = False
    assert validate_graph(graph).valid


def test_blocks_inside_blocks_and_named_ports() -> None:
    stage = {"nodes": [node("in", "Input"), node("unit", "Block", block="res", repeat=2),
                       node("down", "Conv2d", out_channels=4, kernel_size=3, padding=1), node("out", "Output")],
             "edges": [edge("in", "unit"), edge("unit", "down"), edge("down", "out")]}
    two = {"nodes": [node("a", "Input"), node("b", "Input"), node("sum", "Add"), node("prod", "Multiply"),
                     node("s", "Output"), node("p", "Output")],
           "edges": [edge("a", "sum"), edge("b", "sum"), edge("a", "prod"), edge("b", "prod"), edge("sum", "s"),
                     edge("prod", "p")]}
    graph = with_blocks(2, blocks={"res": copy.deepcopy(RES_BLOCK), "stage": stage, "two": two}, block="stage")
    graph["nodes"] += [node("pair", "Block", block="two"), node("z", "Output")]
    graph["edges"] += [edge("gap", "pair", target_port="a"), edge("gap", "pair", target_port="b"),
                       edge("pair", "z", source_port="p")]
    report = validate_graph(graph)
    assert report.valid, report.errors
    assert "block1.1.unit.1.conv1" in report.nodes and "block1.1.down" in report.nodes
    assert report.nodes["pair.0.prod"].output_shape == [4]
    # a port nobody reads leaves its inner nodes out, with a warning naming them
    assert [w.node for w in report.warnings] == ["pair.0.sum"]


def test_an_error_inside_a_block_names_the_instance_and_the_inner_node() -> None:
    graph = with_blocks(2)
    graph["blocks"]["res"]["nodes"][1]["params"]["kernel_size"] = 9
    found = messages(graph)
    assert ("block1.0.conv1", "Conv2d 'block1.0.conv1': kernel [9, 9] does not fit the input's spatial size "
                              "[6, 6] with padding [1, 1]") in found
    graph = with_blocks(2)
    graph["blocks"]["res"]["nodes"][2]["type"] = "Relu"
    found = messages(graph)
    assert ("block1.0.relu", "node 'block1.0.relu': unknown layer type 'Relu' (did you mean 'ReLU'?)") in found


@pytest.mark.parametrize(("change", "expected"), [
    ({"repeat": 0}, ("repeat", "Block 'block1': repeat: Input should be greater than or equal to 1")),
    ({"repeat": 10_000}, ("repeat", "Block 'block1': repeat: Input should be less than or equal to 1000")),
    ({"repeat": "3x"}, ("repeat", "Block 'block1': repeat: Input should be a valid integer, unable to parse string "
                                  "as an integer")),
    ({"block": "nope"}, ("block", "Block 'block1': unknown block 'nope' (blocks: 'res')")),
    ({"copies": 2}, ("copies", "Block 'block1': copies: Extra inputs are not permitted")),
])
def test_bad_block_params_are_errors_on_the_block_node(change: dict[str, Any], expected: tuple[str, str]) -> None:
    graph = with_blocks()
    graph["nodes"][1]["params"].update(change)
    report = validate_graph(graph)
    assert [(p.node, p.field, p.message) for p in report.errors] == [("block1", *expected)]
    assert_sentence(expected[1])
    assert "block1" not in report.nodes or report.nodes["block1"].output_shape is None


def test_a_block_that_contains_itself_is_an_error() -> None:
    looping = copy.deepcopy(RES_BLOCK)
    looping["nodes"][2] = node("relu", "Block", block="res")
    assert messages(with_blocks(1, blocks={"res": looping})) == [
        ("block1.0.relu", "Block 'block1.0.relu': block 'res' contains itself (res -> res)")]
    a = {"nodes": [node("in", "Input"), node("inner", "Block", block="b"), node("out", "Output")],
         "edges": [edge("in", "inner"), edge("inner", "out")]}
    b = copy.deepcopy(a)
    b["nodes"][1]["params"]["block"] = "a"
    assert messages(with_blocks(1, blocks={"a": a, "b": b}, block="a")) == [
        ("block1.0.inner.0.inner", "Block 'block1.0.inner.0.inner': block 'a' contains itself (a -> b -> a)")]


def test_blocks_nested_too_deep_are_an_error() -> None:
    blocks = {f"b{i}": {"nodes": [node("in", "Input"), node("inner", "Block", block=f"b{i + 1}"),
                                  node("out", "Output")],
                        "edges": [edge("in", "inner"), edge("inner", "out")]} for i in range(200)}
    blocks["b200"] = copy.deepcopy(RES_BLOCK)
    found = messages(with_blocks(1, blocks=blocks, block="b0"))
    deepest = "block1.0" + ".inner.0" * (MAX_NESTING - 1) + ".inner"
    assert found == [(deepest, f"block 'b0' nests blocks more than {MAX_NESTING} deep (b0 -> b1 -> ... -> b32)")]


def test_blocks_that_multiply_past_the_limit_are_one_error() -> None:
    blocks = {"res": copy.deepcopy(RES_BLOCK),
              "big": {"nodes": [node("in", "Input"), node("r", "Block", block="res", repeat=1000),
                                node("out", "Output")], "edges": [edge("in", "r"), edge("r", "out")]}}
    found = messages(with_blocks(1000, blocks=blocks, block="big"))
    assert found == [("block1", f"Block 'block1': the graph would have more than {MAX_EXPANDED_NODES:,} nodes once "
                                "its blocks are repeated")]


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda g: g["edges"].__setitem__(0, edge("x", "block1", target_port="left")),
     ("block1", "Block 'block1': block 'res' has no input port 'left' (ports: in)")),
    (lambda g: g["edges"].pop(0), ("block1", "Block 'block1': input port 'in' is not connected")),
    (lambda g: g["edges"].append(edge("gap", "block1")),
     ("block1", "Block 'block1': input port 'in' has 2 incoming edges; it takes one")),
    (lambda g: g["blocks"]["res"]["edges"].pop(), ("block1", "Block 'block1': block 'res': its Output 'out' needs "
                                                             "exactly one incoming edge, not 0")),
    (lambda g: g["blocks"]["res"]["nodes"].pop(), ("block1", "Block 'block1': block 'res' needs an Input and an "
                                                             "Output node (they are its ports)")),
    (lambda g: g["blocks"]["res"]["nodes"].append(node("out2", "Output")),
     ("block1", "Block 'block1': block 'res': its Output 'out2' needs exactly one incoming edge, not 0")),
])
def test_bad_ports_are_errors_on_the_block_node(edit: Any, expected: tuple[str, str]) -> None:
    graph = with_blocks()
    edit(graph)
    assert expected in messages(graph)


def test_repeat_needs_outputs_that_fit_the_inputs() -> None:
    graph = with_blocks(1)
    graph["blocks"]["res"]["nodes"].append(node("skip", "Output"))
    graph["blocks"]["res"]["edges"].append(edge("relu", "skip"))
    assert validate_graph(graph).valid
    graph["nodes"][1]["params"]["repeat"] = 2
    assert messages(graph) == [("block1", "Block 'block1': repeat 2 feeds each copy's outputs into the next copy's "
                                          "inputs, so block 'res' needs one Input and one Output, or Outputs named "
                                          "like its Inputs (inputs: in; outputs: out, skip)")]


def test_blocks_need_format_2_and_an_unknown_version_is_named() -> None:
    graph = with_blocks()
    graph["format"] = "netcanvas.graph/1"
    assert messages(graph) == [(None, 'blocks and Block nodes need "format": "netcanvas.graph/2"')]
    graph["format"] = "netcanvas.graph/7"
    report = validate_graph(graph)
    assert report.errors[0].field == "format" and "unknown graph format 'netcanvas.graph/7'" in report.errors[0].message
    with pytest.raises(ValidationError, match=r"unknown graph format 'netcanvas.graph/7'"):
        Graph.model_validate(graph)
    with pytest.raises(ValueError, match=r"unknown graph format 'netcanvas.graph/7'"):
        upgrade(graph)


def test_hostile_blocks_sections_are_errors_not_crashes() -> None:
    hostile: list[Any] = [[1, 2], {"res": {"nodes": "many"}}, {"": {}}, {"res": {"nodes": [{"id": 3}]}}]
    for blocks in hostile:
        graph = with_blocks()
        graph["blocks"] = blocks
        report = validate_graph(graph)
        assert not report.valid and report.errors[0].field == "blocks", report.errors
        assert report.errors[0].message.startswith("blocks: "), report.errors


def test_api_cli_and_python_api_expand_the_same_way(tmp_path: Path) -> None:
    from netcanvas.api.app import create_app
    from netcanvas.settings import Settings

    graph = with_blocks(2)
    path = tmp_path / "g.json"
    path.write_text(json.dumps(graph))
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        body = client.post("/api/graphs/validate", json=graph).json()
        assert body["valid"] and body["nodes"]["block1.1.conv1"]["output_shape"] == [4, 6, 6]
        saved = client.post("/api/graphs", json={"graph": graph})
        assert saved.status_code in (200, 201), saved.text
        again = client.get(f"/api/graphs/{saved.json()['id']}").json()["graph"]
        assert again["format"] == "netcanvas.graph/2" and again["blocks"]["res"]["nodes"][1]["id"] == "conv1"
        future = client.post("/api/graphs", json={"graph": {**graph, "format": "netcanvas.graph/3"}})
        assert future.status_code == 422 and "unknown graph format 'netcanvas.graph/3'" in future.text
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0 and "block1.1.conv1" in result.output, result.output
    model = Model.from_json(path)
    assert model.validate().nodes["block1.0.add"].output_shape == [4, 6, 6]
    assert parse_graph(graph).graph.nodes[1].id == "block1.0.conv1"


def resnet_from_blocks() -> dict[str, Any]:
    unit = {"nodes": [node("in", "Input"),
                      node("conv_a", "Conv2d", out_channels=16, kernel_size=3, padding=1, bias=False),
                      node("bn_a", "BatchNorm2d"), node("relu_a", "ReLU"),
                      node("conv_b", "Conv2d", out_channels=16, kernel_size=3, padding=1, bias=False),
                      node("bn_b", "BatchNorm2d"), node("skip", "Add"), node("relu", "ReLU"), node("out", "Output")],
            "edges": [edge("in", "conv_a"), edge("conv_a", "bn_a"), edge("bn_a", "relu_a"), edge("relu_a", "conv_b"),
                      edge("conv_b", "bn_b"), edge("bn_b", "skip"), edge("in", "skip"), edge("skip", "relu"),
                      edge("relu", "out")]}
    return {"format": "netcanvas.graph/2", "name": "ResNet from blocks", "blocks": {"unit": unit},
            "nodes": [node("x", "Input", shape=[1, 8, 8]), node("stem", "Conv2d", out_channels=16, kernel_size=3,
                                                                 padding=1),
                      node("stage1", "Block", block="unit", repeat=2), node("pool", "MaxPool2d", kernel_size=2),
                      node("stage2", "Block", block="unit", repeat=2, shared=True), node("gap", "GlobalAvgPool2d"),
                      node("fc", "Linear", out_features=10), node("y", "Output")],
            "edges": [edge("x", "stem"), edge("stem", "stage1"), edge("stage1", "pool"), edge("pool", "stage2"),
                      edge("stage2", "gap"), edge("gap", "fc"), edge("fc", "y")]}


def test_a_resnet_built_from_blocks_trains_and_exports(tmp_path: Path) -> None:
    from netcanvas import data
    from netcanvas.export import export_onnx
    from netcanvas.training import TrainConfig, train

    torch.manual_seed(0)
    compiled = compile_graph(resnet_from_blocks())
    assert "stage2.1.conv_a" in compiled.shapes and "stage2.1.conv_a" not in compiled.module_names
    prepared = data.prepare(data.load("digits"), compiled, seed=0, validation_split=0.2)
    config = TrainConfig.model_validate({"epochs": 2, "optimizer": {"type": "adam", "lr": 0.005}, "seed": 0})
    result = train(compiled, prepared, config, lambda e: None)
    assert result.status == "completed", result.error
    assert result.history[-1]["metrics"]["loss"] < result.history[0]["metrics"]["loss"]
    report = export_onnx(compiled, tmp_path / "m.onnx")
    assert report.max_abs_diff is not None and report.max_abs_diff < 1e-4
