"""Capsule layers: shapes, node errors for bad params and inputs, routing, and every export format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch

from golden import inputs_for
from helpers import chain, errors
from netcanvas.catalog import modules
from netcanvas.compiler import compile_graph
from netcanvas.export import export_onnx, export_pytorch_code, export_torchscript
from netcanvas.shapes import validate_graph


def capsnet(image: list[int | None], iterations: int = 3) -> dict[str, Any]:
    return chain(image, ("Conv2d", {"out_channels": 16, "kernel_size": 3}), ("ReLU", {}),
                 ("PrimaryCapsules", {"capsules": 4, "capsule_dim": 6, "kernel_size": 3, "stride": 2}),
                 ("RoutingCapsules", {"capsules": 10, "capsule_dim": 8, "routing_iterations": iterations}),
                 ("CapsuleLength", {}), name="capsnet")


def test_shapes_through_a_capsule_network() -> None:
    report = validate_graph(capsnet([1, 12, 12]))
    assert report.valid, report.errors
    shapes = {node_id: info.output_shape for node_id, info in report.nodes.items()}
    # 12x12 -> conv 3 -> 10x10 -> primary conv 3 stride 2 -> 4x4 positions x 4 capsule types = 64 capsules of 6
    assert shapes["n2"] == [64, 6] and shapes["n3"] == [10, 8] and shapes["n4"] == [10]
    assert report.nodes["n3"].params == 64 * 10 * 8 * 6


def test_capsules_are_squashed_and_lengths_are_scores_below_one() -> None:
    torch.manual_seed(0)
    compiled = compile_graph(capsnet([1, 12, 12]))
    x = torch.randn(5, 1, 12, 12) * 10
    lengths = compiled.module(x)
    assert lengths.shape == (5, 10) and bool(((lengths > 0) & (lengths < 1)).all())
    primary = modules.PrimaryCapsules(1, 2, 3, kernel_size=3, stride=1)
    u = primary(x)
    assert u.shape == (5, 2 * 10 * 10, 3) and bool((u.norm(dim=-1) < 1).all())


def test_routing_iterations_change_the_answer_and_one_iteration_is_a_plain_average() -> None:
    torch.manual_seed(0)
    layer = modules.RoutingCapsules(in_capsules=6, in_dim=4, capsules=3, capsule_dim=5, iterations=1)
    u = torch.randn(2, 6, 4)
    u_hat = (layer.weight @ u[:, :, None, :, None]).squeeze(-1)
    s = u_hat.mean(dim=1) * 6 / 3  # uniform coupling 1/3 over the three output capsules
    expected = s * (s.norm(dim=-1, keepdim=True) ** 2) / ((1 + s.norm(dim=-1, keepdim=True) ** 2) * s.norm(
        dim=-1, keepdim=True))
    torch.testing.assert_close(layer(u), expected, rtol=1e-4, atol=1e-6)
    layer.iterations = 3
    assert not torch.allclose(layer(u), expected, atol=1e-4)


@pytest.mark.parametrize(("layers", "message"), [
    ([("PrimaryCapsules", {"kernel_size": 20})], "kernel [20, 20] does not fit"),
    ([("Flatten", {}), ("PrimaryCapsules", {})], "expects input of shape [channels, height, width], got [64]"),
    ([("Flatten", {}), ("RoutingCapsules", {})], "expects input of shape [capsules, capsule_dim], got [64]"),
    ([("Flatten", {}), ("CapsuleLength", {})], "expects input of shape [capsules, capsule_dim], got [64]"),
    ([("PrimaryCapsules", {"capsules": 1024, "capsule_dim": 256, "kernel_size": 1, "stride": 1}),
      ("RoutingCapsules", {"capsules": 1024, "capsule_dim": 256})], "use fewer or smaller capsules"),
])
def test_bad_inputs_are_node_errors(layers: list[tuple[str, dict[str, Any]]], message: str) -> None:
    problems = errors(chain([1, 8, 8], *layers))
    assert any(message in p.message and p.node == f"n{len(layers) - 1}" for p in problems), problems


@pytest.mark.parametrize(("params", "field"), [({"routing_iterations": 0}, "routing_iterations"),
                                               ({"routing_iterations": 11}, "routing_iterations"),
                                               ({"capsules": 0}, "capsules"), ({"capsule_dim": "8x"}, "capsule_dim")])
def test_bad_params_name_the_node_and_field(params: dict[str, Any], field: str) -> None:
    problems = errors(chain([3, 4], ("RoutingCapsules", params)))
    assert [(p.node, p.field) for p in problems] == [("n0", field)]


def test_dynamic_image_sizes_leave_a_count_routing_cannot_take() -> None:
    problems = errors(capsnet([1, None, None]))
    assert [p.node for p in problems] == ["n3"] and "fixed number of input capsules" in problems[0].message


@pytest.mark.parametrize("iterations", [1, 3])
def test_capsule_network_exports_to_onnx_and_runtime_agrees(iterations: int, tmp_path: Path) -> None:
    torch.manual_seed(0)
    compiled = compile_graph(capsnet([1, 12, 12], iterations))
    report = export_onnx(compiled, tmp_path / "m.onnx")
    assert report.max_abs_diff is not None and report.max_abs_diff < 1e-4
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    inputs = inputs_for(compiled, batch=5, seed=4)
    (got,) = session.run(None, {"x": inputs[0].numpy()})
    with torch.no_grad():
        want = compiled.module.eval()(*inputs)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-5)


def test_capsule_network_exports_as_pytorch_code_and_torchscript(tmp_path: Path) -> None:
    torch.manual_seed(0)
    compiled = compile_graph(capsnet([1, 12, 12]))
    assert export_pytorch_code(compiled, tmp_path / "model.py").max_abs_diff == 0.0
    source = (tmp_path / "model.py").read_text()
    assert "class RoutingCapsules(nn.Module)" in source and "class PrimaryCapsules(nn.Module)" in source
    export_torchscript(compiled, tmp_path / "model.pt")
    scripted = torch.jit.load(str(tmp_path / "model.pt"))
    x = torch.randn(3, 1, 12, 12)
    torch.testing.assert_close(scripted(x), compiled.module.eval()(x))
