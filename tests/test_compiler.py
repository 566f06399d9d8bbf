"""The compiled module: the same numbers, weights and gradients as hand-written PyTorch, readable names."""

from __future__ import annotations

import pytest
import torch

from golden import GOLDEN, LENGTHS, REFERENCES, inputs_for, load
from netcanvas.compiler import as_tuple, compile_graph


@pytest.mark.parametrize("name", GOLDEN)
def test_compiled_module_equals_hand_written_pytorch_with_the_same_weights(name: str) -> None:
    torch.manual_seed(0)
    compiled = compile_graph(load(name))
    reference = REFERENCES[name]()
    # state_dict keys are the (sanitized) node ids; the reference uses the same names.
    reference.load_state_dict(compiled.module.state_dict(), strict=True)
    compiled.module.eval()
    reference.eval()
    lengths = LENGTHS if any(None in s.shape for s in compiled.inputs.values()) else LENGTHS[:1]
    for length in lengths:
        x = inputs_for(compiled, batch=4, length=length, seed=length)
        with torch.no_grad():
            got, want = compiled.module(*x), reference(*x)
        assert len(as_tuple(got)) == len(as_tuple(want)) == len(compiled.output_names)
        for g, w in zip(as_tuple(got), as_tuple(want), strict=True):
            torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["mlp", "resnet_block", "lstm_dynamic", "attention"])
def test_training_mode_gradients_match_hand_written_pytorch(name: str) -> None:
    """Same weights, same loss: the same gradient for every parameter (BatchNorm uses batch statistics)."""
    torch.manual_seed(0)
    compiled = compile_graph(load(name))
    reference = REFERENCES[name]()
    reference.load_state_dict(compiled.module.state_dict(), strict=True)
    x = inputs_for(compiled, batch=4, length=9)
    for model in (compiled.module, reference):
        # Dropout draws the same mask for both when the generator starts from the same state.
        torch.manual_seed(1)
        out = model.train()(*x)
        as_tuple(out)[0].square().sum().backward()
    grads = {k: p.grad for k, p in reference.named_parameters()}
    for k, p in compiled.module.named_parameters():
        assert p.grad is not None, k
        torch.testing.assert_close(p.grad, grads[k], rtol=1e-4, atol=1e-5)


def test_state_dict_keys_and_code_read_like_pytorch() -> None:
    compiled = compile_graph(load("attention"))
    assert "my_layer.weight" in compiled.module.state_dict()
    assert compiled.module_names["my layer"] == "my_layer"
    assert compiled.node_of_module("my_layer") == "my layer"
    assert "self.self_attn(x)" in compiled.module.code


def test_node_ids_that_are_keywords_attributes_or_start_with_a_digit_compile() -> None:
    compiled = compile_graph(load("resnet_block"))  # ids "in" and "forward"
    assert compiled.module_names["in"] == "in_" and compiled.module_names["forward"] == "forward_"
    assert compiled.input_names == ["in"]
    assert compiled.module(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    compiled = compile_graph(load("transformer_classifier"))  # id "1st"
    assert compiled.module_names["1st"].isidentifier()
    assert compiled.node_of_module(compiled.module_names["1st"]) == "1st"


def test_outputs_are_named_and_ordered_as_in_the_graph() -> None:
    compiled = compile_graph(load("multi_io"))
    assert compiled.input_names == ["x_a", "x_b"]
    assert compiled.output_names == ["y_class", "y_value"]  # "value_head" is named by params.name
    assert compile_graph(load("attention")).output_names == ["y", "attention_map"]
    assert compile_graph(load("autoencoder")).output_names == ["x"]
