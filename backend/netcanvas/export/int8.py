"""int8 ONNX for the edge: onnxruntime's dynamic quantization (int8 weights, activations quantized on the fly).

The quantized file is run in onnxruntime at the same batch sizes and lengths as the float
one, and on the validation split when the run has one, reporting the size ratio and the
accuracy change next to the float model.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ..compiler import CompiledGraph
from .checks import ExportError
from .files import replacing
from .onnx import check_runs, usable_lengths
from .report import ExportReport


class _NoPreprocessingAdvice(logging.Filter):
    """onnxruntime's quantizer advises "pre-processing" on the root logger at every call."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "consider to run pre-processing before quantization" not in str(record.msg)


logging.getLogger().addFilter(_NoPreprocessingAdvice())


def run_batched(session: Any, feeds: dict[str, np.ndarray], batch: int = 512) -> list[np.ndarray]:
    size = len(next(iter(feeds.values())))
    parts = [session.run(None, {k: v[i:i + batch] for k, v in feeds.items()}) for i in range(0, size, batch)]
    return [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]


def accuracy(out: np.ndarray, target: np.ndarray, final: str | None) -> float | None:
    """Share of correct classes, or None when ``out`` is not a classifier's output for ``target``."""
    if out.ndim != 2 or len(out) != len(target):
        return None
    if target.dtype.kind == "f" and target.shape == out.shape and out.shape[1] > 1:  # one-hot targets
        target = target.argmax(1)
    if target.dtype.kind not in "iu" and not (target.dtype.kind == "f" and np.all(np.mod(target, 1) == 0)):
        return None
    truth = target.reshape(len(target), -1)
    if truth.shape[1] != 1:
        return None
    # binary: one probability after Sigmoid, else one logit
    threshold = 0.5 if final == "Sigmoid" else 0.0
    pred = (out[:, 0] > threshold).astype(np.int64) if out.shape[1] == 1 else out.argmax(1)
    return float((pred == truth[:, 0]).mean())


def quantize_int8(compiled: CompiledGraph, float_path: str | Path, path: str | Path,
                  validation: tuple[list[np.ndarray], dict[str, np.ndarray]] | None = None) -> ExportReport:
    """Quantize the checked float file at ``float_path`` into ``path`` and measure what it costs."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.perf_counter()
    path = Path(path)
    with replacing(path) as tmp:
        try:
            quantize_dynamic(str(float_path), str(tmp), weight_type=QuantType.QInt8)
            onnx.checker.check_model(str(tmp), full_check=True)
            options = ort.SessionOptions()
            options.log_severity_level = 4  # a failing run is reported as an ExportError
            providers = ["CPUExecutionProvider"]
            quantized = ort.InferenceSession(str(tmp), options, providers=providers)
            float_model = ort.InferenceSession(str(float_path), options, providers=providers)
        except Exception as e:
            raise ExportError(f"int8 quantization failed: {str(e).splitlines()[0][:300]}") from e
        checked: list[str] = []
        max_diff = 0.0
        for label, tensors in check_runs(compiled, usable_lengths(compiled)):
            feeds = {n: t.numpy() for n, t in zip(compiled.input_names, tensors, strict=True)}
            try:
                got = quantized.run(None, feeds)
            except Exception as e:
                raise ExportError(f"ONNX Runtime cannot run the int8 model at {label}: "
                                  f"{str(e).split('Status Message:')[-1].strip()[:300]}") from e
            for name, q, f in zip(compiled.output_names, got, float_model.run(None, feeds), strict=True):
                if q.shape != f.shape:
                    raise ExportError(f"int8 output '{name}' has shape {list(q.shape)}, the float one {list(f.shape)}")
                max_diff = max(max_diff, float(np.abs(q.astype(np.float64) - f).max(initial=0.0)))
            checked.append(label)
    float_size = Path(float_path).stat().st_size
    report = ExportReport(format="onnx-int8", size_bytes=path.stat().st_size, float_size_bytes=float_size,
                          size_ratio=round(path.stat().st_size / float_size, 4), checked=checked,
                          max_abs_diff_vs_float=max_diff)
    if validation is not None:
        inputs, targets = validation
        feeds = dict(zip(compiled.input_names, inputs, strict=True))
        q_outs, f_outs = run_batched(quantized, feeds), run_batched(float_model, feeds)
        report.checked.append(f"{len(inputs[0])} validation samples")
        for name, q, f in zip(compiled.output_names, q_outs, f_outs, strict=True):
            report.max_abs_diff_vs_float = max(report.max_abs_diff_vs_float or 0.0,
                                               float(np.abs(q.astype(np.float64) - f).max(initial=0.0)))
            target = targets.get(name)
            if target is None or report.float_accuracy is not None:
                continue
            final = compiled.final_activation.get(name)
            float_acc, int8_acc = accuracy(f, target, final), accuracy(q, target, final)
            if float_acc is not None and int8_acc is not None:
                report.float_accuracy, report.int8_accuracy = float_acc, int8_acc
                report.accuracy_change = int8_acc - float_acc
                report.validation_samples = len(target)
    report.seconds = round(time.perf_counter() - started, 3)
    return report
