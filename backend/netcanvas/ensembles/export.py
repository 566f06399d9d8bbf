"""An ensemble as one ONNX file, and predictions from it.

The combined module (``combine.combine``) goes through the same exporter and the same check as a run's model
(``export.onnx.export_onnx``): the full ONNX checker, then ONNX Runtime against the PyTorch ensemble at batch 1 and
7, two lengths of every dynamic axis, and 64 validation samples of the first member's run. The file and its report
are cached in the ensemble's directory (``<data dir>/ensembles/<id>/``); an ensemble's weights never change once
it is complete.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..artifacts import RunDir
from ..compiler import CompiledGraph
from ..export.checks import ExportError, require_finite_weights
from ..export.files import replacing
from ..export.onnx import export_onnx
from ..export.predict import Predictor
from ..export.report import ExportReport
from ..export.service import validation_data
from .combine import Combiner, combine


@dataclass
class Ensemble:
    """A complete ensemble as its export needs it."""

    id: str
    directory: Path
    members: list[RunDir]
    combiner: Combiner
    test_metrics: dict[str, Any]

    def model(self) -> CompiledGraph:
        for run in self.members:
            if run.weights_path() is None:
                raise ExportError(f"member run '{run.path.name}' has no weights (was it deleted?)")
        return combine([run.load_model() for run in self.members], self.combiner)

    def metadata(self) -> dict[str, Any]:
        first = self.members[0]
        pre = first.preprocessing()
        return {
            "netcanvas.version": __version__,
            "torch.version": torch.__version__,
            "netcanvas.graph": first.graph(),
            "netcanvas.classes": pre.classes,
            "netcanvas.preprocessing": pre.model_dump(mode="json"),
            "netcanvas.config": first.config(),
            "netcanvas.ensemble": {"id": self.id, "method": self.combiner.method,
                                   "members": [run.path.name for run in self.members],
                                   "weights": self.combiner.weights},
            "netcanvas.metrics": self.test_metrics,
        }


_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _lock(key: str) -> threading.Lock:
    with _guard:
        return _locks.setdefault(key, threading.Lock())


def export_ensemble(ensemble: Ensemble) -> tuple[Path, ExportReport]:
    """The ensemble's ONNX file (made once, checked against the PyTorch ensemble) and its report."""
    target = ensemble.directory / "model.onnx"
    report_file = ensemble.directory / "onnx.json"
    with _lock(str(ensemble.directory.resolve())):
        if target.is_file() and report_file.is_file():
            try:
                report = ExportReport.model_validate_json(report_file.read_text())
            except ValueError:
                report = None
            if report is not None and report.netcanvas_version == __version__:
                return target, report
        ensemble.directory.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        compiled = ensemble.model()
        require_finite_weights(compiled)
        val = validation_data(ensemble.members[0], compiled)
        samples = [a[:64] for a in val[0]] if val else None
        report = export_onnx(compiled, target, ensemble.metadata(), samples)
        report.netcanvas_version = __version__
        report.seconds = round(time.perf_counter() - started, 3)
        with replacing(report_file) as tmp:
            tmp.write_text(report.model_dump_json(indent=2))
        return target, report


_predictors: dict[str, Predictor] = {}


def ensemble_predictor(ensemble: Ensemble) -> Predictor:
    """A cached ONNX Runtime session of the ensemble, with its first member's preprocessing (every member
    standardizes its inputs alike: the statistics are fit before each member's sample is drawn)."""
    import onnxruntime as ort

    key = str(ensemble.directory.resolve())
    with _guard:
        hit = _predictors.get(key)
    if hit is not None:
        return hit
    path, _ = export_ensemble(ensemble)
    options = ort.SessionOptions()
    options.log_severity_level = 4
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    made = Predictor(session, ensemble.model(), ensemble.members[0].preprocessing(), path.stat().st_mtime)
    with _guard:
        _predictors[key] = made
    return made
