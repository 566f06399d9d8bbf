"""Weights as safetensors keyed by node id: round trips, ids with dots, and weights that do not fit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from helpers import chain
from netcanvas.compiler import compile_graph
from netcanvas.weights import load_node_state_dict, load_weights, node_state_dict, save_weights, to_module_keys

# "block" is a prefix of "block.1": each weight must still go to its own node.
DOTTED = chain([4], ("Linear", {"out_features": 5}), ("ReLU", {}), ("Linear", {"out_features": 3}))
DOTTED["nodes"][1]["id"], DOTTED["nodes"][3]["id"] = "block", "block.1"
DOTTED["edges"] = [{"source": "x", "target": "block"}, {"source": "block", "target": "n1"},
                   {"source": "n1", "target": "block.1"}, {"source": "block.1", "target": "y"}]


def test_weights_are_keyed_by_node_id_and_round_trip_into_another_build(tmp_path: Path) -> None:
    torch.manual_seed(0)
    trained = compile_graph(DOTTED)
    file = tmp_path / "w.safetensors"
    save_weights(trained, file)
    assert sorted(load_file(str(file))) == ["block.1.bias", "block.1.weight", "block.bias", "block.weight"]
    assert load_file(str(file))["block.1.weight"].shape == (3, 5)

    torch.manual_seed(1)
    other = compile_graph(DOTTED)
    x = torch.randn(6, 4)
    assert not torch.equal(other.module(x), trained.module(x))
    load_weights(other, file)
    assert torch.equal(other.module(x), trained.module(x))


def test_a_given_state_is_converted_instead_of_the_modules_own() -> None:
    torch.manual_seed(0)
    compiled = compile_graph(DOTTED)
    kept = {k: torch.zeros_like(v) for k, v in compiled.module.state_dict().items()}
    converted = node_state_dict(compiled, kept)
    assert set(converted) == set(node_state_dict(compiled))
    assert all(not v.any() for v in converted.values())
    assert any(v.any() for v in node_state_dict(compiled).values())  # the module itself is untouched
    assert to_module_keys(compiled, converted).keys() == compiled.module.state_dict().keys()


def test_weights_that_do_not_fit_the_graph_are_refused_with_their_names() -> None:
    torch.manual_seed(0)
    compiled = compile_graph(DOTTED)
    tensors = node_state_dict(compiled)
    with pytest.raises(KeyError, match="'ghost.weight' belongs to no node"):
        load_node_state_dict(compiled, {**tensors, "ghost.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="do not fit the graph: missing"):
        load_node_state_dict(compiled, {k: v for k, v in tensors.items() if k != "block.bias"})
