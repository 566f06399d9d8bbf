"""Exports of a run directory in every format, each checked, cached per run and format.

The cache lives in the run directory (``exports/model.<suffix>`` plus ``exports/<format>.json``,
the report); an entry is reused while it is newer than the run's weights and was made by
this NetCanvas version. Files are written under a temporary name and renamed, so a
reader never sees half a file.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from .. import __version__
from ..artifacts import RunDir
from ..compiler import CompiledGraph
from .bundle import model_card, write_bundle
from .checks import ExportError, require_finite_weights
from .files import replacing
from .int8 import CALIBRATION_SAMPLES, quantize_int8
from .onnx import export_onnx
from .pytorch_code import export_pytorch_code
from .report import ExportReport
from .torchscript import export_torchscript


@dataclass(frozen=True)
class Format:
    suffix: str
    media_type: str
    doc: str


FORMATS: dict[str, Format] = {
    "onnx": Format(".onnx", "application/octet-stream",
                   "ONNX, dynamic batch (and length) axes, checked with onnx.checker and ONNX Runtime"),
    "onnx-int8": Format(".int8.onnx", "application/octet-stream",
                        "int8 ONNX (static for convolutions, else dynamic); the float model, with the reason, "
                        "when int8 is not faster or loses accuracy"),
    "pytorch": Format(".py", "text/x-python", "one standalone PyTorch file: the nn.Module and load_weights()"),
    "torchscript": Format(".pt", "application/octet-stream", "TorchScript, loads with torch.jit.load"),
    "weights": Format(".safetensors", "application/octet-stream", "the weights (safetensors), keyed by node id"),
    "bundle": Format(".zip", "application/zip", "ONNX + graph + weights + PyTorch code + a model card (README.md)"),
}
if TYPE_CHECKING:
    FormatName = str
else:
    FormatName = Literal[tuple(FORMATS)]
    """A format name, typed for the API (its query parameter lists the formats in the OpenAPI document)."""
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _lock(key: str) -> threading.Lock:
    with _guard:
        return _locks.setdefault(key, threading.Lock())


def metadata(run: RunDir) -> dict[str, Any]:
    """What makes the ONNX file self-describing (ONNX metadata_props; Netron shows them)."""
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


def _prepared(run: RunDir, compiled: CompiledGraph) -> tuple[Any, int] | None:
    """The run's dataset split and preprocessed as in training (PreparedData) and its seed; None when the run
    was not trained on a dataset NetCanvas can load."""
    dataset = run.info().dataset or {}
    name = dataset.get("name")
    if not isinstance(name, str):
        return None
    from .. import data
    from ..data.resample import split_seed
    from ..training import TrainConfig

    try:
        config = TrainConfig.model_validate(run.config())
        prepared = data.prepare(data.load(name), compiled, seed=split_seed(dataset, config.seed),
                                validation_split=config.validation_split,
                                overrides=dataset.get("binding") or None)
    except (KeyError, ValueError):
        return None
    return prepared, config.seed


def validation_data(run: RunDir, compiled: CompiledGraph) -> tuple[list[np.ndarray], dict[str, np.ndarray]] | None:
    """The run's validation split (else its test split) as the model sees it (standardized), with its targets;
    None when the run was not trained on a dataset NetCanvas can load."""
    found = _prepared(run, compiled)
    if found is None:
        return None
    prepared = found[0]
    split = prepared.val or prepared.test
    if split is None:
        return None
    inputs = [split[prepared.binding.inputs[n]].numpy() for n in compiled.input_names]
    targets = {k: v.numpy() for k, v in prepared.targets(split).items()}
    return inputs, targets


def calibration_data(run: RunDir, compiled: CompiledGraph,
                     samples: int = CALIBRATION_SAMPLES) -> list[np.ndarray] | None:
    """Up to ``samples`` training samples per Input, preprocessed as in training (no augmentation), picked with
    the run's seed: what static int8 quantization calibrates its activation ranges on."""
    found = _prepared(run, compiled)
    if found is None:
        return None
    prepared, seed = found
    inputs = [prepared.train[prepared.binding.inputs[n]].numpy() for n in compiled.input_names]
    if len(inputs[0]) == 0:
        return None
    pick = np.sort(np.random.default_rng(seed).permutation(len(inputs[0]))[:samples])
    return [a[pick] for a in inputs]


def export_run(run: RunDir, fmt: str) -> tuple[Path, ExportReport]:
    """The file for ``fmt`` (made once, then cached) and its report; an ExportError if it cannot be made."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    out_dir = run.path / "exports"
    target = out_dir / f"model{FORMATS[fmt].suffix}"
    report_file = out_dir / f"{fmt}.json"
    with _lock(f"{run.path.resolve()}:{fmt}"):
        cached = _cached(run, target, report_file)
        if cached is not None:
            return target, cached
        out_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        report = _make(run, fmt, target)
        report.netcanvas_version = __version__
        report.seconds = round(time.perf_counter() - started, 3)
        with replacing(report_file) as tmp:
            tmp.write_text(report.model_dump_json(indent=2))
        return target, report


def _cached(run: RunDir, target: Path, report_file: Path) -> ExportReport | None:
    if not (target.is_file() and report_file.is_file()):
        return None
    weights = run.weights_path()
    if weights is not None and target.stat().st_mtime < weights.stat().st_mtime:
        return None
    try:
        report = ExportReport.model_validate_json(report_file.read_text())
    except ValueError:
        return None
    return report if report.netcanvas_version == __version__ else None


def _make(run: RunDir, fmt: str, target: Path) -> ExportReport:
    compiled = run.load_model()
    require_finite_weights(compiled)  # a diverged run is refused in every format, with the nodes at fault
    if fmt == "onnx":
        val = validation_data(run, compiled)
        samples = [a[:64] for a in val[0]] if val else None
        return export_onnx(compiled, target, metadata(run), samples)
    if fmt == "onnx-int8":
        float_path, _ = export_run(run, "onnx")
        return quantize_int8(compiled, float_path, target, validation_data(run, compiled),
                             calibration_data(run, compiled))
    if fmt == "torchscript":
        return export_torchscript(compiled, target)
    if fmt == "weights":
        from ..weights import save_weights

        with replacing(target) as tmp:
            save_weights(compiled, tmp)
    elif fmt == "pytorch":
        return export_pytorch_code(compiled, target, run.preprocessing())
    elif fmt == "bundle":
        onnx_path, onnx_report = export_run(run, "onnx")
        code_path, _ = export_run(run, "pytorch")
        weights_path, _ = export_run(run, "weights")
        card = model_card(compiled, run.info(), run.preprocessing(), run.config(), onnx_report)
        files = {"model.onnx": onnx_path, "model.py": code_path, "weights.safetensors": weights_path}
        texts = {"graph.json": json.dumps(run.graph(), indent=2), "config.json": json.dumps(run.config(), indent=2),
                 "preprocessing.json": run.preprocessing().model_dump_json(indent=2), "README.md": card}
        with replacing(target) as tmp:
            names = write_bundle(tmp, files, texts)
        return ExportReport(format=fmt, size_bytes=target.stat().st_size, files=names)
    return ExportReport(format=fmt, size_bytes=target.stat().st_size)
