"""A finished run as evaluation and explanations need it: the model with its weights, the same splits it was
trained and tested on (rebuilt from the run's seed and dataset spec), and how to show a sample to a person.

The splits are recomputed, not stored: ``prepare`` and ``prepare_upload`` are seeded, so the test split here is
the one the run's test metrics were measured on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from ..artifacts import RunDir
from ..compiler import CompiledGraph
from ..data import DataError, Dataset, PreparedData, load, prepare
from ..data.errors import UploadError
from ..data.fit import prepare_upload
from ..data.options import Pipeline
from ..data.resample import split_seed
from ..data.uploads import DatasetStore
from ..training import TrainConfig

SplitName = Literal["test", "val"]


class InsightError(ValueError):
    """A request that cannot be answered; ``field`` names the part of the request at fault."""

    def __init__(self, message: str, field: str | None = None, status: int = 422):
        super().__init__(message)
        self.field, self.status = field, status


@dataclass
class RunData:
    run: RunDir
    compiled: CompiledGraph
    data: PreparedData
    config: TrainConfig
    dataset: Dataset | None
    """The built-in dataset (None for an upload)."""
    pipeline: Pipeline | None
    """An upload's recorded pipeline (None for a built-in dataset)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while the model runs: explanations hook into its modules."""

    def split(self, name: SplitName) -> dict[str, torch.Tensor]:
        chosen = self.data.test if name == "test" else self.data.val
        if chosen is None:
            other = "val" if name == "test" else "test"
            raise InsightError(f"this run has no {'test' if name == 'test' else 'validation'} split; "
                               f"try split={other}", "split")
        return chosen

    def feature_names(self, input_name: str) -> list[str] | None:
        """Column names of a 1-D table input, when the dataset knows them."""
        field_name = self.data.binding.inputs[input_name]
        width = self.compiled.inputs[input_name].shape
        if len(width) != 1 or width[0] is None:
            return None
        names: list[str] = []
        if self.pipeline is not None:
            for step in self.pipeline.columns:
                if step.field != field_name:
                    continue
                if step.op == "onehot":
                    names += [f"{step.column}={c}" for c in step.categories or []]
                else:
                    names.append(step.column)
        elif self.dataset is not None:
            known = self.dataset.extra.get("feature_names")
            if isinstance(known, dict):
                names = [str(n) for n in known.get(field_name, [])]
        return names if len(names) == width[0] else None

    def vocabulary(self, input_name: str) -> list[str] | None:
        """Token strings by id for an int64 input that holds text."""
        field_name = self.data.binding.inputs[input_name]
        if self.compiled.inputs[input_name].dtype != "int64":
            return None
        if self.pipeline is not None:
            step = next((t for t in self.pipeline.text if t.field == field_name), None)
            if step is None:
                return None
            from ..data.text import tokenizer_from_json

            vocab = tokenizer_from_json(step.tokenizer_json).get_vocab()
            words = ["?"] * (max(vocab.values(), default=-1) + 1)
            for word, i in vocab.items():
                words[i] = word
            return words
        if self.dataset is not None and self.dataset.vocabulary is not None:
            return list(self.dataset.vocabulary)
        return None

    def view(self, input_name: str, value: torch.Tensor) -> dict[str, Any]:
        """One sample of one Input as the UI draws it: an image, a table row, tokens, or plain numbers."""
        spec = self.compiled.inputs[input_name]
        arr = value.detach().cpu().numpy()
        vocab = self.vocabulary(input_name)
        if vocab is not None and arr.ndim == 1:
            ids = [int(t) for t in arr]
            return {"kind": "text", "tokens": [vocab[t] if 0 <= t < len(vocab) else "?" for t in ids], "ids": ids}
        names = self.feature_names(input_name)
        if names is not None:
            std = self.data.preprocessing.inputs.get(input_name)
            raw = arr * np.asarray(std.std) + np.asarray(std.mean) if std is not None else arr
            return {"kind": "table", "features": names, "values": [float(v) for v in raw]}
        shape = spec.shape
        if spec.dtype == "float32" and ((len(shape) == 3 and shape[0] in (1, 3)) or
                                       (len(shape) == 2 and self.pipeline is not None and self.pipeline.image)):
            return {"kind": "image", "values": arr.tolist()}
        if arr.ndim == 1:
            return {"kind": "table", "features": [f"{input_name}[{i}]" for i in range(len(arr))],
                    "values": [float(v) for v in arr]}
        return {"kind": "array", "values": arr.tolist()}


_cache: dict[tuple[str, float], RunData] = {}
_lock = threading.Lock()
CACHED_RUNS = 4


def run_data(run: RunDir, store: DatasetStore | None) -> RunData:
    """The run's model (best weights) and splits; cached per run and weights file."""
    weights = run.weights_path()
    if weights is None:
        raise InsightError(f"run '{run.path.name}' has no weights yet", "run", 404)
    key = (str(run.path.resolve()), weights.stat().st_mtime)
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    made = _load(run, store)
    with _lock:
        for old in [k for k in _cache if k[0] == key[0]]:
            del _cache[old]
        while len(_cache) >= CACHED_RUNS:
            del _cache[next(iter(_cache))]
        _cache[key] = made
    return made


def _load(run: RunDir, store: DatasetStore | None) -> RunData:
    config = TrainConfig.model_validate(run.config())
    spec = run.info().dataset or {}
    compiled = run.load_model()
    try:
        if isinstance(spec.get("name"), str):
            dataset = load(str(spec["name"]))
            data = prepare(dataset, compiled, seed=split_seed(spec, config.seed),
                           validation_split=config.validation_split, overrides=spec.get("binding") or None)
            return RunData(run, compiled, data, config, dataset, None)
        if isinstance(spec.get("id"), str) and store is not None:
            data = prepare_upload(store, spec, compiled, seed=split_seed(spec, config.seed),
                                  validation_split=config.validation_split)
            pipeline = Pipeline.model_validate(data.preprocessing.pipeline) if data.preprocessing.pipeline else None
            return RunData(run, compiled, data, config, None, pipeline)
    except KeyError as e:
        raise InsightError(f"the run's dataset is not available: {str(e).strip(chr(39))}", "run", 409) from None
    except FileNotFoundError:
        raise InsightError("the run's uploaded dataset has been deleted", "run", 409) from None
    except (DataError, UploadError) as e:
        raise InsightError(f"the run's dataset cannot be read again: {e}", "run", 409) from None
    raise InsightError("the run records no dataset", "run", 409)

