"""Predictions from a run's ONNX export, served by a cached onnxruntime session."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..artifacts import Preprocessing, RunDir
from ..catalog import TensorSpec, fmt_shape
from ..compiler import CompiledGraph
from ..data.pipeline import raw_input
from .service import export_run


class PredictError(ValueError):
    """Bad inputs: says which input and what was expected."""


def model_array(preprocessing: Preprocessing, name: str, value: Any, spec: TensorSpec) -> tuple[np.ndarray, bool]:
    """One Input's value as the model's array (raw rows and texts through an upload's pipeline, standardized),
    and whether it was one sample rather than a batch; PredictError names the input when it does not fit."""
    if preprocessing.pipeline is not None:  # an uploaded dataset's run: raw rows and texts are welcome
        try:
            raw = raw_input(preprocessing.pipeline, name, value)
        except ValueError as e:
            raise PredictError(f"input '{name}': {e}") from None
        if raw is not None:
            return raw, isinstance(value, dict | str)
    dtype = np.int64 if spec.dtype == "int64" else np.float32
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise PredictError(f"input '{name}' must be a nested list of numbers of shape {fmt_shape(spec.shape)} "
                           "(one sample) or [batch, ...]") from None
    sent = list(arr.shape)
    single = arr.ndim == len(spec.shape)
    if single:
        arr = arr[None]
    fits = arr.ndim == len(spec.shape) + 1 and all(
        s is None or s == a for s, a in zip(spec.shape, arr.shape[1:], strict=True))
    if not fits or arr.shape[0] == 0:
        raise PredictError(f"input '{name}' expects shape {fmt_shape(spec.shape)} ({spec.dtype}) for one sample, "
                           f"or [n, ...] for a batch of them; got shape {sent}")
    if spec.dtype == "int64" and not np.all(np.equal(np.mod(arr, 1), 0)):
        raise PredictError(f"input '{name}' expects whole numbers (int64 token ids)")
    arr = arr.astype(dtype)
    std = preprocessing.inputs.get(name)
    if std is not None:
        arr = ((arr - np.asarray(std.mean, dtype=np.float32)) / np.asarray(std.std, dtype=np.float32))
        arr = arr.astype(np.float32)
    return arr, single


@dataclass
class Predictor:
    session: Any
    compiled: CompiledGraph
    preprocessing: Preprocessing
    mtime: float

    def _array(self, name: str, value: Any, spec: TensorSpec) -> tuple[np.ndarray, bool]:
        return model_array(self.preprocessing, name, value, spec)

    def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
        names = self.compiled.input_names
        unknown = sorted(set(inputs) - set(names))
        missing = [n for n in names if n not in inputs]
        if unknown or missing:
            raise PredictError(f"inputs must be named {', '.join(repr(n) for n in names)}"
                               + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                               + (f"; missing: {', '.join(missing)}" if missing else ""))
        feeds, singles = {}, []
        for name in names:
            arr, single = self._array(name, inputs[name], self.compiled.inputs[name])
            feeds[name] = arr
            singles.append(single)
        sizes = {a.shape[0] for a in feeds.values()}
        if len(sizes) > 1:
            raise PredictError(f"inputs have different batch sizes: {sorted(sizes)}")
        single = all(singles)
        try:
            outs = self.session.run(None, feeds)
        except Exception as e:  # e.g. a token id past an Embedding's table, a length the model cannot take
            detail = str(e).split("Status Message:")[-1].strip().splitlines()[0][:300]
            raise PredictError(f"the model cannot run on these inputs: {detail}") from None
        result: dict[str, Any] = {"outputs": {}, "classes": {}}
        for name, out in zip(self.compiled.output_names, outs, strict=True):
            result["outputs"][name] = (out[0] if single else out).tolist()
            labels = self.preprocessing.classes.get(name)
            if labels:
                probs = probabilities(out, self.compiled.final_activation.get(name))
                ranked = [rank(row, labels) for row in probs]
                result["classes"][name] = ranked[0] if single else ranked
        if not result["classes"]:
            del result["classes"]
        return result


def rank(probs: np.ndarray, labels: list[str]) -> list[dict[str, Any]]:
    order = np.argsort(-probs)
    return [{"label": labels[i] if i < len(labels) else str(i), "probability": float(probs[i])} for i in order]


def probabilities(out: np.ndarray, final: str | None) -> np.ndarray:
    out = out.reshape(out.shape[0], -1).astype(np.float64)
    if out.shape[1] == 1:
        p = out if final == "Sigmoid" else 1 / (1 + np.exp(-out))
        return np.concatenate([1 - p, p], axis=1)
    if final == "Softmax":
        return out
    if final == "LogSoftmax":
        return np.exp(out)
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


_cache: dict[str, Predictor] = {}
_lock = threading.Lock()


def predictor(run: RunDir) -> Predictor:
    """The cached session of a run (rebuilt when its weights change)."""
    import onnxruntime as ort

    weights = run.weights_path()
    mtime = weights.stat().st_mtime if weights else 0.0
    key = str(run.path.resolve())
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit.mtime == mtime:
        return hit
    path, _ = export_run(run, "onnx")
    options = ort.SessionOptions()
    options.log_severity_level = 4  # bad inputs are answered with a 422, not also logged as errors
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    made = Predictor(session, run.load_model(), run.preprocessing(), mtime)
    with _lock:
        _cache[key] = made
    return made
