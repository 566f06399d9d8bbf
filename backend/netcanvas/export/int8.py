"""int8 ONNX for the edge, chosen per model, and kept only where it pays off.

- A model with convolutions (and no recurrent layer) gets **static** quantization: int8 weights per
  channel and int8 activations whose ranges were calibrated on a few hundred of the run's training
  samples (preprocessed as in training, picked with the run's seed), in the QDQ format that ONNX
  Runtime's CPU kernels fuse.
- Linear and recurrent models get **dynamic** quantization: int8 weights, activations quantized on the fly.

The quantized file is run in ONNX Runtime at the same batch sizes and lengths as the float one, then
on the validation split (the accuracy change) and timed against the float file at batch 64. When int8
loses more than ``max_accuracy_loss`` or is not ``min_speedup`` times as fast, the ``onnx-int8`` format
delivers the float model instead and says why (the report's ``kept_float`` reason, also written into
the file's metadata).
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx

from ..compiler import CompiledGraph
from .checks import ExportError
from .files import replacing
from .onnx import check_runs, usable_lengths
from .report import ExportReport

MIN_SPEEDUP = 1.3
"""int8 must run at least this many times as fast as the float file at batch 64 to be delivered."""
MAX_ACCURACY_LOSS = 0.01
"""int8 may lose at most this much validation accuracy (1 point) to be delivered."""
CALIBRATION_SAMPLES = 256
SPEED_BATCH = 64
RECURRENT_OPS = {"RNN", "GRU", "LSTM", "Loop", "Scan"}
CONV_OPS = {"Conv", "ConvTranspose"}

Method = Literal["static", "dynamic"]


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


def choose_method(model: onnx.ModelProto, calibration: list[np.ndarray] | None) -> tuple[Method, str]:
    """Static for convolutional models with training samples to calibrate on, else dynamic; and why."""
    ops = {node.op_type for node in model.graph.node}
    if ops & RECURRENT_OPS:
        return "dynamic", "recurrent layers: dynamic quantization"
    if not ops & CONV_OPS:
        return "dynamic", "no convolution: dynamic quantization of the linear layers"
    if calibration is None:
        return "dynamic", "convolutions, but no training samples to calibrate on: dynamic quantization"
    return "static", (f"convolutions: static QDQ quantization calibrated on {len(calibration[0])} training "
                      "samples, weights per channel")


class _Calibration:
    """onnxruntime's CalibrationDataReader protocol (``get_next``) over training samples, 32 at a time."""

    def __init__(self, names: list[str], inputs: list[np.ndarray], batch: int = 32) -> None:
        size = len(inputs[0])
        self._feeds = iter([{n: np.ascontiguousarray(a[i:i + batch]) for n, a in zip(names, inputs, strict=True)}
                            for i in range(0, size, batch)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def _quantize_static(float_path: Path, out: Path, names: list[str], calibration: list[np.ndarray]) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source = out.with_name(out.name + ".pre.onnx")
    try:
        quant_pre_process(str(float_path), str(source))  # shapes and fusions; fails on some graphs
    except Exception:
        shutil.copyfile(float_path, source)
    try:
        quantize_static(str(source), str(out), _Calibration(names, calibration),  # type: ignore[arg-type]
                        quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
    finally:
        source.unlink(missing_ok=True)


def speedup_at_batch(float_path: Path, int8_path: Path, feeds: dict[str, np.ndarray], seconds: float = 1.0) -> float:
    """How many times as fast the int8 file runs ``feeds`` as the float file: one thread each, a warm-up, then
    calls in turns (float, int8, float, ...) for about ``seconds`` (at least 10 turns), and the ratio of the
    fastest call of each: on a busy machine a call that was not interrupted is the one that measures the model."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 4
    sessions = [ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"])
                for p in (float_path, int8_path)]
    for session in sessions:
        session.run(None, feeds)
    best = [float("inf"), float("inf")]
    deadline = time.perf_counter() + seconds
    turns = 0
    while turns < 10 or (time.perf_counter() < deadline and turns < 1000):
        for i, session in enumerate(sessions):
            start = time.perf_counter()
            session.run(None, feeds)
            best[i] = min(best[i], time.perf_counter() - start)
        turns += 1
    return best[0] / best[1]


def _keep_float(float_path: Path, path: Path, reason: str) -> None:
    model = onnx.load(str(float_path))
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props}, "netcanvas.int8": reason})
    with replacing(path) as tmp:
        onnx.save(model, str(tmp))


def quantize_int8(compiled: CompiledGraph, float_path: str | Path, path: str | Path,
                  validation: tuple[list[np.ndarray], dict[str, np.ndarray]] | None = None,
                  calibration: list[np.ndarray] | None = None, *, min_speedup: float | None = None,
                  max_accuracy_loss: float | None = None) -> ExportReport:
    """Quantize the checked float file at ``float_path`` into ``path`` (static or dynamic, see the module doc),
    measure what it costs and gains, and write the float model there instead when int8 does not pay off.

    ``calibration``: training samples per Input (preprocessed as in training) for static quantization.
    ``min_speedup`` and ``max_accuracy_loss`` default to ``MIN_SPEEDUP`` and ``MAX_ACCURACY_LOSS``.
    """
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.perf_counter()
    float_path, path = Path(float_path), Path(path)
    method, why = choose_method(onnx.load(str(float_path), load_external_data=False), calibration)
    candidate = path.with_name(path.name + ".candidate.onnx")
    try:
        try:
            if method == "static" and calibration is not None:
                _quantize_static(float_path, candidate, compiled.input_names, calibration)
            else:
                quantize_dynamic(str(float_path), str(candidate), weight_type=QuantType.QInt8)
            onnx.checker.check_model(str(candidate), full_check=True)
            options = ort.SessionOptions()
            options.log_severity_level = 4  # a failing run is reported as an ExportError
            providers = ["CPUExecutionProvider"]
            quantized = ort.InferenceSession(str(candidate), options, providers=providers)
            float_model = ort.InferenceSession(str(float_path), options, providers=providers)
        except Exception as e:
            raise ExportError(f"int8 quantization failed: {str(e).splitlines()[0][:300]}") from e
        report = ExportReport(format="onnx-int8", size_bytes=0, int8_method=method, int8_method_reason=why,
                              float_size_bytes=float_path.stat().st_size)
        speed_feeds: dict[str, np.ndarray] | None = None
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
            report.checked.append(label)
            if speed_feeds is None:  # the first run's samples, repeated up to the timed batch
                speed_feeds = {k: np.ascontiguousarray(np.resize(v, (SPEED_BATCH, *v.shape[1:])))
                               for k, v in feeds.items()}
        report.max_abs_diff_vs_float = max_diff
        if validation is not None:
            _validate(compiled, quantized, float_model, validation, report)
            speed_feeds = {n: np.ascontiguousarray(np.resize(a, (SPEED_BATCH, *a.shape[1:])))
                           for n, a in zip(compiled.input_names, validation[0], strict=True)}
        assert speed_feeds is not None
        report.int8_speedup = round(speedup_at_batch(float_path, candidate, speed_feeds), 3)
        report.kept_float = _reason_to_keep_float(report, MIN_SPEEDUP if min_speedup is None else min_speedup,
                                                  MAX_ACCURACY_LOSS if max_accuracy_loss is None else max_accuracy_loss)
        if report.kept_float is None:
            with replacing(path) as tmp:
                shutil.copyfile(candidate, tmp)
        else:
            _keep_float(float_path, path, report.kept_float)
    finally:
        candidate.unlink(missing_ok=True)
    report.size_bytes = path.stat().st_size
    report.size_ratio = round(report.size_bytes / float_path.stat().st_size, 4)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _validate(compiled: CompiledGraph, quantized: Any, float_model: Any,
              validation: tuple[list[np.ndarray], dict[str, np.ndarray]], report: ExportReport) -> None:
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


def _reason_to_keep_float(report: ExportReport, min_speedup: float, max_accuracy_loss: float) -> str | None:
    if report.accuracy_change is not None and -report.accuracy_change > max_accuracy_loss + 1e-9:
        return (f"kept float: {report.int8_method} int8 lost {-report.accuracy_change * 100:.1f} points of "
                f"validation accuracy ({report.float_accuracy:.4f} -> {report.int8_accuracy:.4f}; "
                f"at most {max_accuracy_loss * 100:g} allowed)")
    if report.int8_speedup is not None and report.int8_speedup < min_speedup:
        return (f"kept float: {report.int8_method} int8 ran at {report.int8_speedup:.2f}x the float speed at "
                f"batch {SPEED_BATCH} in ONNX Runtime (needs {min_speedup:g}x)")
    return None
