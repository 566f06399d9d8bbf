"""int8 ONNX: static (calibrated QDQ) for convolutions, dynamic for linear and recurrent models, and the float
model with its reason when int8 does not pay off."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from exporthelpers import hand_made_run, sequence_run, trained_digits_run
from golden import load
from helpers import chain
from netcanvas import data
from netcanvas.export import export_run, quantize_int8
from netcanvas.export.int8 import _reason_to_keep_float
from netcanvas.export.report import ExportReport
from netcanvas.export.service import calibration_data, validation_data


def op_types(path: Path) -> set[str]:
    return {node.op_type for node in onnx.load(str(path)).graph.node}


def test_static_int8_of_the_trained_lenet_keeps_accuracy_within_one_point(tmp_path: Path) -> None:
    run = trained_digits_run()
    model = run.load_model()
    float_path, _ = export_run(run, "onnx")
    calibration = calibration_data(run, model)
    assert calibration is not None and calibration[0].shape == (256, 1, 8, 8) and calibration[0].dtype == np.float32
    again = calibration_data(run, model)
    assert again is not None and np.array_equal(again[0], calibration[0])  # seeded: the same samples each time
    val = validation_data(run, model)
    assert val is not None

    report = quantize_int8(model, float_path, tmp_path / "m.int8.onnx", val, calibration, min_speedup=0)
    assert report.int8_method == "static" and report.kept_float is None
    assert report.int8_method_reason is not None and "256 training samples" in report.int8_method_reason
    ops = op_types(tmp_path / "m.int8.onnx")
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    weights = onnx.load(str(tmp_path / "m.int8.onnx")).graph.initializer
    assert any(w.data_type == onnx.TensorProto.INT8 and len(w.dims) == 4 for w in weights)  # conv weights in int8
    assert report.size_ratio is not None and report.size_ratio < 0.8
    assert report.float_accuracy is not None and report.float_accuracy > 0.9
    assert report.accuracy_change is not None and report.accuracy_change >= -0.01
    assert report.validation_samples == 288 and report.checked == ["batch 1", "batch 7", "288 validation samples"]
    assert report.int8_speedup is not None and report.int8_speedup > 0
    # and on the whole dataset, measured here independently of the report
    ds = data.load("digits")
    x, y = ds.arrays["x"], ds.arrays["y"]
    int8_acc = (ort.InferenceSession(str(tmp_path / "m.int8.onnx")).run(None, {"x": x})[0].argmax(1) == y).mean()
    float_acc = (ort.InferenceSession(str(float_path)).run(None, {"x": x})[0].argmax(1) == y).mean()
    assert float_acc > 0.9 and int8_acc >= float_acc - 0.01


def test_an_mlp_gets_dynamic_int8(tmp_path: Path) -> None:
    run = hand_made_run("int8mlp", load("mlp"))
    model = run.load_model()
    float_path, _ = export_run(run, "onnx")
    report = quantize_int8(model, float_path, tmp_path / "m.onnx", min_speedup=0)
    assert report.int8_method == "dynamic" and report.kept_float is None
    assert report.int8_method_reason == "no convolution: dynamic quantization of the linear layers"
    assert "DynamicQuantizeLinear" in op_types(tmp_path / "m.onnx")


def test_a_recurrent_model_gets_dynamic_int8(tmp_path: Path) -> None:
    run = sequence_run()
    model = run.load_model()
    float_path, _ = export_run(run, "onnx")
    fake_calibration = [np.zeros((4, 9), np.int64)]  # even with samples at hand: recurrent means dynamic
    report = quantize_int8(model, float_path, tmp_path / "m.onnx", None, fake_calibration, min_speedup=0)
    assert report.int8_method == "dynamic" and report.int8_method_reason == "recurrent layers: dynamic quantization"
    assert report.checked == ["batch 1, length 9", "batch 7, length 9", "batch 7, length 17"]


CONV = chain([1, 8, 8], ("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("ReLU", {}), ("Flatten", {}),
             ("Linear", {"out_features": 3}), name="tiny conv")


def test_a_conv_model_without_training_samples_falls_back_to_dynamic(tmp_path: Path) -> None:
    run = hand_made_run("int8conv", CONV)
    float_path, _ = export_run(run, "onnx")
    report = quantize_int8(run.load_model(), float_path, tmp_path / "m.onnx", min_speedup=0)
    assert report.int8_method == "dynamic"
    assert report.int8_method_reason == "convolutions, but no training samples to calibrate on: dynamic quantization"


def test_static_int8_falls_back_to_the_raw_graph_when_pre_processing_fails(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from onnxruntime.quantization import shape_inference

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("symbolic shape inference failed")

    monkeypatch.setattr(shape_inference, "quant_pre_process", broken)
    run = hand_made_run("int8conv2", CONV)
    float_path, _ = export_run(run, "onnx")
    samples = [np.random.default_rng(0).standard_normal((64, 1, 8, 8)).astype(np.float32)]
    report = quantize_int8(run.load_model(), float_path, tmp_path / "m.onnx", None, samples, min_speedup=0)
    assert report.int8_method == "static" and report.kept_float is None
    assert {"QuantizeLinear", "DequantizeLinear"} <= op_types(tmp_path / "m.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no candidate or pre-processed file left


def test_static_int8_of_a_cifar_sized_cnn_pays_off_and_is_delivered(tmp_path: Path) -> None:
    """Where convolutions do real work (64 channels on 32x32 images), calibrated int8 is well over 1.3x the float
    speed (2.6x measured on a loaded 2-core machine) and the default thresholds deliver it."""
    graph = chain([3, 32, 32], ("Conv2d", {"out_channels": 64, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
                  ("Conv2d", {"out_channels": 64, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
                  ("MaxPool2d", {"kernel_size": 2}), ("Conv2d", {"out_channels": 128, "kernel_size": 3, "padding": 1}),
                  ("ReLU", {}), ("GlobalAvgPool2d", {}), ("Linear", {"out_features": 10}), name="cifar cnn")
    run = hand_made_run("int8cifar", graph)
    float_path, _ = export_run(run, "onnx")
    samples = [np.random.default_rng(0).standard_normal((128, 3, 32, 32)).astype(np.float32)]
    report = quantize_int8(run.load_model(), float_path, tmp_path / "m.onnx", None, samples)
    assert report.int8_method == "static" and report.int8_speedup is not None and report.int8_speedup >= 1.3
    assert report.kept_float is None and report.size_ratio is not None and report.size_ratio < 0.35
    assert "QuantizeLinear" in op_types(tmp_path / "m.onnx")


def test_int8_that_is_not_fast_enough_delivers_the_float_model_and_says_why(tmp_path: Path) -> None:
    run = hand_made_run("int8slow", load("mlp"))
    float_path, _ = export_run(run, "onnx")
    report = quantize_int8(run.load_model(), float_path, tmp_path / "m.onnx", min_speedup=1000)
    assert report.kept_float is not None and report.int8_speedup is not None
    assert report.kept_float == (f"kept float: dynamic int8 ran at {report.int8_speedup:.2f}x the float speed at "
                                 "batch 64 in ONNX Runtime (needs 1000x)")
    kept = onnx.load(str(tmp_path / "m.onnx"))
    assert {p.key: p.value for p in kept.metadata_props}["netcanvas.int8"] == report.kept_float
    assert op_types(tmp_path / "m.onnx") == op_types(float_path)  # the float graph, no quantized op
    assert report.size_ratio is not None and report.size_ratio >= 1.0 and sorted(tmp_path.iterdir()) == [
        tmp_path / "m.onnx"]


def test_int8_that_loses_accuracy_is_refused_before_speed_is_considered() -> None:
    report = ExportReport(format="onnx-int8", size_bytes=1, int8_method="static", float_accuracy=0.96,
                          int8_accuracy=0.937, accuracy_change=0.937 - 0.96, int8_speedup=2.0)
    assert _reason_to_keep_float(report, 1.3, 0.01) == ("kept float: static int8 lost 2.3 points of validation "
                                                        "accuracy (0.9600 -> 0.9370; at most 1 allowed)")
    report.accuracy_change, report.int8_accuracy = -0.01, 0.95
    assert _reason_to_keep_float(report, 1.3, 0.01) is None  # exactly 1 point is allowed
    report.int8_speedup = 1.29
    assert _reason_to_keep_float(report, 1.3, 0.01) == ("kept float: static int8 ran at 1.29x the float speed at "
                                                        "batch 64 in ONNX Runtime (needs 1.3x)")
