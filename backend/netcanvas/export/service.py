"""Exports of a run directory in every format, each checked, cached per run and format."""

from __future__ import annotations

import io
import json
import logging
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..artifacts import RunDir
from ..compiler import CompiledGraph
from .onnx import ExportError, export_onnx
from .pytorch_code import pytorch_code, torchscript


@dataclass(frozen=True)
class Format:
    suffix: str
    media_type: str
    doc: str


FORMATS: dict[str, Format] = {
    "onnx": Format(".onnx", "application/octet-stream", "ONNX (opset 18+), dynamic batch, checked with onnxruntime"),
    "onnx-int8": Format(".int8.onnx", "application/octet-stream", "ONNX with dynamic int8 weights, for the edge"),
    "pytorch": Format(".py", "text/x-python", "one standalone PyTorch file: the nn.Module and load_weights()"),
    "torchscript": Format(".pt", "application/octet-stream", "TorchScript, loads with torch.jit.load"),
    "weights": Format(".safetensors", "application/octet-stream", "the weights, keyed by node id"),
    "bundle": Format(".zip", "application/zip", "ONNX + graph + weights + PyTorch code + model card"),
}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _lock(key: str) -> threading.Lock:
    with _guard:
        return _locks.setdefault(key, threading.Lock())


def metadata(run: RunDir) -> dict[str, Any]:
    """What makes the ONNX file self-describing (shown by Netron as metadata_props)."""
    info = run.info()
    pre = run.preprocessing()
    return {
        "netcanvas.version": __version__,
        "torch.version": torch.__version__,
        "netcanvas.graph": run.graph(),
        "netcanvas.classes": pre.classes,
        "netcanvas.preprocessing": pre.model_dump(mode="json"),
        "netcanvas.config": run.config(),
        "netcanvas.metrics": {**info.metrics, **info.test_metrics},
        "netcanvas.dataset": info.dataset or {},
    }


def validation_data(run: RunDir, compiled: CompiledGraph) -> tuple[list[np.ndarray], dict[str, np.ndarray]] | None:
    """The run's validation inputs (standardized as in training) and targets, or None when unknown."""
    info = run.info()
    name = (info.dataset or {}).get("name")
    if not name:
        return None
    from .. import data

    try:
        config = run.config()
        prepared = data.prepare(data.load(name), compiled, seed=info.seed or int(config.get("seed", 0)),
                                validation_split=float(config.get("validation_split", 0.2)))
    except (KeyError, ValueError):
        return None
    split = prepared.val or prepared.test
    if split is None:
        return None
    inputs = [t.numpy() for t in prepared.inputs(split)]
    targets = {k: v.numpy() for k, v in prepared.targets(split).items()}
    return inputs, targets


def export_run(run: RunDir, fmt: str) -> tuple[Path, dict[str, Any]]:
    """The file for ``fmt`` (made once, then cached) and its check report."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    out_dir = run.path / "exports"
    target = out_dir / f"model{FORMATS[fmt].suffix}"
    report_file = out_dir / f"{fmt}.json"
    weights = run.weights_path()
    with _lock(f"{run.path}:{fmt}"):
        fresh = target.is_file() and report_file.is_file() and (
            weights is None or target.stat().st_mtime >= weights.stat().st_mtime)
        if fresh:
            return target, json.loads(report_file.read_text())
        out_dir.mkdir(parents=True, exist_ok=True)
        report = _make(run, fmt, target)
        report_file.write_text(json.dumps(report, indent=2))
        return target, report


def _make(run: RunDir, fmt: str, target: Path) -> dict[str, Any]:
    compiled = run.load_model()
    if fmt == "weights":
        from ..weights import save_weights

        save_weights(compiled, target)
        return {"format": fmt, "size_bytes": target.stat().st_size}
    if fmt == "pytorch":
        source = pytorch_code(compiled)
        target.write_text(source)
        return {"format": fmt, "size_bytes": target.stat().st_size}
    if fmt == "torchscript":
        torchscript(compiled, str(target))
        loaded = torch.jit.load(str(target))
        from .onnx import _as_tuple, example_inputs

        inputs = example_inputs(compiled, 3, 11)
        with torch.no_grad():
            diff = max(float((a - b).abs().max()) for a, b in
                       zip(_as_tuple(loaded(*inputs)), _as_tuple(compiled.module(*inputs)), strict=True))
        return {"format": fmt, "size_bytes": target.stat().st_size, "max_abs_diff": diff}
    if fmt == "onnx":
        val = validation_data(run, compiled)
        samples = [a[:64] for a in val[0]] if val else None
        return export_onnx(compiled, target, metadata(run), samples).model_dump()
    if fmt == "onnx-int8":
        return _int8(run, compiled, target)
    if fmt == "bundle":
        return _bundle(run, compiled, target)
    raise ExportError(f"unknown format '{fmt}'")


def _accuracy(session: Any, compiled: CompiledGraph, inputs: list[np.ndarray],
              targets: dict[str, np.ndarray]) -> float | None:
    outs = session.run(None, dict(zip(compiled.input_names, inputs, strict=True)))
    name = compiled.output_names[0]
    out, y = outs[0], targets.get(name)
    if y is None or y.dtype.kind not in "iu" or out.ndim != 2:
        return None
    pred = (out[:, 0] > (0.5 if compiled.final_activation.get(name) == "Sigmoid" else 0.0)).astype(int) \
        if out.shape[1] == 1 else out.argmax(1)
    return float((pred == y.reshape(-1)).mean())


def _int8(run: RunDir, compiled: CompiledGraph, target: Path) -> dict[str, Any]:
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    float_path, float_report = export_run(run, "onnx")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # onnxruntime's quantizer advises "pre-processing" on the root logger
    try:
        quantize_dynamic(str(float_path), str(target), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    report: dict[str, Any] = {
        "format": "onnx-int8", "size_bytes": target.stat().st_size, "float_size_bytes": float_path.stat().st_size,
        "size_ratio": target.stat().st_size / float_path.stat().st_size, "opset": float_report.get("opset"),
    }
    val = validation_data(run, compiled)
    if val is not None:
        providers = ["CPUExecutionProvider"]
        float_acc = _accuracy(ort.InferenceSession(str(float_path), providers=providers), compiled, *val)
        int8_acc = _accuracy(ort.InferenceSession(str(target), providers=providers), compiled, *val)
        if float_acc is not None and int8_acc is not None:
            report.update(float_accuracy=float_acc, int8_accuracy=int8_acc, accuracy_change=int8_acc - float_acc)
    return report


def model_card(run: RunDir, compiled: CompiledGraph, check: dict[str, Any]) -> str:
    info, pre = run.info(), run.preprocessing()
    graph = run.graph()
    lines = [f"# {graph.get('name', 'model')}", "",
             "Exported by NetCanvas from a graph JSON (`graph.json`).", ""]
    dataset = (info.dataset or {}).get("name")
    lines += ["## Training", "", f"- dataset: `{dataset}`" if dataset else "- not trained (initial weights)",
              f"- config: `{json.dumps(run.config())}`" if run.config() else "", ""]
    metrics = {**info.metrics, **info.test_metrics}
    if metrics:
        lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4f} |" for k, v in metrics.items() if isinstance(v, int | float)]
        lines.append("")
    lines += ["## Inputs", "", "| name | shape (batch first) | dtype | preprocessing |", "|---|---|---|---|"]
    for name in compiled.input_names:
        spec = compiled.inputs[name]
        shape = ["batch", *("any" if s is None else str(s) for s in spec.shape)]
        std = pre.inputs.get(name)
        how = "standardize: (x - mean) / std with the mean and std in `preprocessing.json`" if std else "none"
        lines.append(f"| `{name}` | [{', '.join(shape)}] | {spec.dtype} | {how} |")
    lines += ["", "## Outputs", "", "| name | shape (batch first) | classes |", "|---|---|---|"]
    for name in compiled.output_names:
        spec = compiled.outputs[name]
        shape = ["batch", *("any" if s is None else str(s) for s in spec.shape)]
        classes = ", ".join(pre.classes.get(name, [])) or "-"
        lines.append(f"| `{name}` | [{', '.join(shape)}] | {classes} |")
    first = compiled.input_names[0]
    spec = compiled.inputs[first]
    example_shape = (1, *(8 if s is None else s for s in spec.shape))
    dtype = "np.int64" if spec.dtype == "int64" else "np.float32"
    lines += ["", "## Run it with ONNX Runtime", "", "```python",
              "import numpy as np, onnxruntime as ort",
              'session = ort.InferenceSession("model.onnx")',
              f"x = np.zeros({example_shape}, dtype={dtype})  # apply the preprocessing above first",
              f'outputs = session.run(None, {{"{first}": x}})',
              "print(outputs[0])", "```", "",
              f"The export was checked with onnx.checker and onnxruntime: {', '.join(check.get('checked', []))}; "
              f"max abs difference to PyTorch {check.get('max_abs_diff', 0):.2g}, opset {check.get('opset')}.", ""]
    return "\n".join(lines)


def _bundle(run: RunDir, compiled: CompiledGraph, target: Path) -> dict[str, Any]:
    onnx_path, check = export_run(run, "onnx")
    code_path, _ = export_run(run, "pytorch")
    weights_path, _ = export_run(run, "weights")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(onnx_path, "model.onnx")
        zf.write(weights_path, "weights.safetensors")
        zf.write(code_path, "model.py")
        zf.writestr("graph.json", json.dumps(run.graph(), indent=2))
        zf.writestr("config.json", json.dumps(run.config(), indent=2))
        zf.writestr("preprocessing.json", json.dumps(run.preprocessing().model_dump(mode="json"), indent=2))
        zf.writestr("README.md", model_card(run, compiled, check))
    target.write_bytes(buffer.getvalue())
    return {"format": "bundle", "size_bytes": target.stat().st_size,
            "files": ["model.onnx", "weights.safetensors", "model.py", "graph.json", "config.json",
                      "preprocessing.json", "README.md"]}
