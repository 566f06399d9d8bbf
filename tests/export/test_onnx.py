"""ONNX export: every graph runs in ONNX Runtime at sizes the exporter never saw and gives PyTorch's answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from exporthelpers import trained_digits_run
from golden import GOLDEN, inputs_for, load
from helpers import chain, mlp
from netcanvas.compiler import CompiledGraph, compile_graph
from netcanvas.export import ExportError, export_onnx, export_run
from netcanvas.export.onnx import usable_lengths


def graph(name: str, nodes: list[dict[str, Any]], edges: list[tuple[str, ...]]) -> dict[str, Any]:
    """Edges are (source, target) or (source, target, target port)."""
    return {"format": "netcanvas.graph/1", "name": name, "nodes": nodes,
            "edges": [{"source": e[0], "target": e[1], "target_port": e[2] if len(e) > 2 else "in"} for e in edges]}


def node(node_id: str, kind: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "params": params}


# Small graphs of our own, next to the golden ones: each kind of layer the exporter must keep dynamic.
OWN: dict[str, dict[str, Any]] = {
    "mlp_softmax": mlp(4, 3, final="Softmax"),
    "cnn_batchnorm_skip": graph("cnn", [
        node("img", "Input", shape=[3, 12, 12]), node("c1", "Conv2d", out_channels=8, kernel_size=3, padding=1),
        node("bn", "BatchNorm2d"), node("r", "ReLU"), node("c2", "Conv2d", out_channels=8, kernel_size=3,
                                                            padding="same"),
        node("skip", "Add"), node("gap", "GlobalAvgPool2d"), node("fc", "Linear", out_features=5),
        node("out", "Output")],
        [("img", "c1"), ("c1", "bn"), ("bn", "r"), ("r", "c2"), ("c2", "skip"), ("r", "skip"), ("skip", "gap"),
         ("gap", "fc"), ("fc", "out")]),
    "recurrent_stack": chain([None, 6], ("RNN", {"nonlinearity": "relu", "num_layers": 2, "return_sequences": True}),
                             ("GRU", {"hidden_size": 12, "bidirectional": True, "return_sequences": True}),
                             ("LSTM", {"hidden_size": 10, "num_layers": 2, "bidirectional": True}),
                             ("Linear", {"out_features": 3})),
    "sequence_to_sequence": chain([None, 8], ("LSTM", {"hidden_size": 16, "return_sequences": True}),
                                  ("PositionalEncoding", {"max_len": 128}),
                                  ("TransformerEncoderLayer", {"nhead": 4, "dim_feedforward": 32}),
                                  ("GRU", {"hidden_size": 8, "return_sequences": True})),
    "weight_norm": chain([3, 12, 12], ("Conv2d", {"out_channels": 4, "kernel_size": 3, "weight_norm": True}),
                         ("ReLU", {}), ("Flatten", {}), ("Linear", {"out_features": 5, "weight_norm": True})),
    "two_sequences_two_heads": graph("two", [
        node("a", "Input", shape=[None, 4]), node("b", "Input", shape=[None, 5]),
        node("ga", "GRU", hidden_size=8), node("lb", "LSTM", hidden_size=8, bidirectional=True),
        node("cat", "Concat", dim=1), node("cls", "Linear", out_features=3), node("soft", "Softmax"),
        node("reg", "Linear", out_features=1), node("y_cls", "Output"), node("y_reg", "Output")],
        [("a", "ga"), ("b", "lb"), ("ga", "cat"), ("lb", "cat"), ("cat", "cls"), ("cls", "soft"),
         ("soft", "y_cls"), ("cat", "reg"), ("reg", "y_reg")]),
    "encoder_decoder_any_lengths": graph("translate", [
        node("src", "Input", shape=[None, 16]), node("tgt", "Input", shape=[None, 16]),
        node("enc", "TransformerEncoderLayer", nhead=4, dim_feedforward=32),
        node("dec", "TransformerDecoderLayer", nhead=4, dim_feedforward=32), node("fc", "Linear", out_features=5),
        node("y", "Output")],
        [("src", "enc"), ("enc", "dec", "memory"), ("tgt", "dec", "tgt"), ("dec", "fc"), ("fc", "y")]),
    "tokens": chain([None], ("Embedding", {"num_embeddings": 30, "embedding_dim": 8}),
                    ("RNN", {"hidden_size": 8}), ("Linear", {"out_features": 2}), dtype="int64"),
    "image_any_size": chain([1, None, None], ("Conv2d", {"out_channels": 4, "kernel_size": 11}),
                            ("MaxPool2d", {"kernel_size": 2}), ("GlobalAvgPool2d", {}),
                            ("Linear", {"out_features": 3})),
}
GRAPHS = {**{name: load(name) for name in GOLDEN}, **OWN}


def torch_outputs(compiled: CompiledGraph, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        out = compiled.module.eval()(*inputs)
    return out if isinstance(out, tuple) else (out,)


def run_onnx(path: Path, compiled: CompiledGraph, inputs: list[torch.Tensor]) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {n: t.numpy() for n, t in zip(compiled.input_names, inputs, strict=True)})


@pytest.mark.parametrize("name", list(GRAPHS))
def test_every_graph_exports_to_onnx_that_matches_pytorch_at_unseen_sizes(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    compiled = compile_graph(GRAPHS[name])
    path = tmp_path / "model.onnx"
    report = export_onnx(compiled, path, {"netcanvas.graph": GRAPHS[name]})
    dynamic = any(None in spec.shape for spec in compiled.inputs.values())

    # What the exporter checked: batch 1 and 7, and two lengths of the dynamic axes.
    assert report.checked[0].startswith("batch 1") and report.checked[1].startswith("batch 7")
    if dynamic:
        lengths = {label.split("length ")[1] for label in report.checked if "length " in label}
        assert len(lengths) == 2, report.checked
    if sum(s is None for spec in compiled.inputs.values() for s in spec.shape) > 1:
        assert report.checked[-1].endswith("alternating")  # independent axes told apart
    assert report.max_rel_diff is not None and report.max_abs_diff is not None and report.max_abs_diff < 1e-4
    assert report.opset is not None and report.opset >= 18

    # Names are the Input ids and Output names; the batch axis and the null axes are dynamic, through to the outputs.
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == compiled.input_names
    assert [o.name for o in model.graph.output] == compiled.output_names
    axes = report.dynamic_axes or {}
    for value in [*compiled.input_names, *compiled.output_names]:
        spec = compiled.inputs.get(value) or compiled.outputs[value]
        assert axes[value][0] == "batch"
        for declared, size in zip(axes[value][1:], spec.shape, strict=True):
            assert declared == str(size) if size is not None else not declared.isdigit(), (value, axes[value])
    assert json.loads({p.key: p.value for p in model.metadata_props}["netcanvas.graph"])["name"] == GRAPHS[name]["name"]

    # Our own runs, at a batch size and lengths the exporter never used.
    for batch, length in [(5, 13), (2, 30)] if dynamic else [(5, 1)]:
        inputs = inputs_for(compiled, batch=batch, length=length, seed=3)
        for got, want in zip(run_onnx(path, compiled, inputs), torch_outputs(compiled, inputs), strict=True):
            np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-5)


def test_recurrent_output_keeps_the_length_axis_at_one_step_and_long_sequences(tmp_path: Path) -> None:
    """ONNX's own RNN/GRU/LSTM operators take any length: even one step, and far more than the trace's 37."""
    compiled = compile_graph(OWN["sequence_to_sequence"])
    export_onnx(compiled, tmp_path / "m.onnx")
    for length in (1, 100):
        inputs = inputs_for(compiled, batch=2, length=length, seed=length)
        (got,) = run_onnx(tmp_path / "m.onnx", compiled, inputs)
        assert got.shape == (2, length, 8)
        np.testing.assert_allclose(got, torch_outputs(compiled, inputs)[0].numpy(), rtol=1e-4, atol=1e-5)


def test_dynamic_sizes_are_chosen_among_those_the_model_accepts(tmp_path: Path) -> None:
    # an 11x11 convolution, then a 2x2 pool: 9x9 images are too small, the next sizes are used instead
    compiled = compile_graph(OWN["image_any_size"])
    assert usable_lengths(compiled) == [37, 17, 23]
    report = export_onnx(compiled, tmp_path / "m.onnx")
    assert report.checked == ["batch 1, length 17", "batch 7, length 17", "batch 7, length 23",
                              "batch 7, lengths 17 and 23 alternating"]  # a 17x23 image too


class DataDependent(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 if x.sum() > 0 else x


class LengthAsConstant(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 if x.shape[1] == 37 else x + x


def test_a_layer_that_cannot_be_exported_is_an_error_naming_its_node(tmp_path: Path) -> None:
    compiled = compile_graph(chain([4], ("Linear", {"out_features": 4}), ("ReLU", {}), ("Linear", {"out_features": 2})))
    compiled.module.n1 = DataDependent()  # branches on the values: no ONNX graph can say that
    (tmp_path / "m.onnx").write_bytes(b"an older export")
    with pytest.raises(ExportError) as err:
        export_onnx(compiled, tmp_path / "m.onnx")
    assert err.value.node == "n1" and "'n1' could not be exported to ONNX" in str(err.value)
    assert not (tmp_path / "m.onnx").exists()  # an error, not a file


def test_a_dynamic_axis_the_exporter_would_fix_is_an_error_naming_the_input(tmp_path: Path) -> None:
    compiled = compile_graph(chain([None, 8], ("LSTM", {"return_sequences": True}), ("ReLU", {}), ("Mean", {})))
    compiled.module.n1 = LengthAsConstant()  # right in PyTorch at every length, but traced as a constant
    with pytest.raises(ExportError, match=r"length of input 'x' \(axis 1, dynamic\) as the constant 37"):
        export_onnx(compiled, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_trained_run_is_checked_on_validation_samples_and_describes_itself() -> None:
    run = trained_digits_run()
    path, report = export_run(run, "onnx")
    assert "64 validation samples" in report.checked
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["netcanvas.graph"]) == run.graph()
    assert json.loads(props["netcanvas.classes"])["y"] == [str(i) for i in range(10)]
    assert json.loads(props["netcanvas.preprocessing"]) == run.preprocessing().model_dump(mode="json")
    assert json.loads(props["netcanvas.config"])["epochs"] == 8
    assert json.loads(props["netcanvas.metrics"]) == {**run.info().metrics, **run.info().test_metrics}
    assert props["torch.version"] == torch.__version__ and props["netcanvas.version"]
    # no exporter debugging metadata on the nodes (it triples the file size)
    assert not any(n.metadata_props for n in onnx.load(str(path)).graph.node)
