"""From an uploaded dataset and its options to model tensors: plan the fields, split, fit on the training
split only, transform every split, and apply the recorded pipeline again to raw values at predict time.

Statistics (means, standard deviations, minima and maxima, imputed values, the text
vocabulary) come from the training rows only. Category lists are the file's own values
(the schema, shown in the Data view), so a field's shape is known before training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .builtin import Dataset, FieldSpec
from .errors import UploadError
from .options import ColumnStep, DatasetOptions, ImageStep, Pipeline, TargetStep
from .tables import label as _label

MAX_CLASSES = 1000
NUMERIC_KINDS = ("numeric", "boolean", "date")


@dataclass
class Plan:
    """What a dataset spec reads, before any data is loaded: targets, features and the fields they make."""

    kind: str
    target: list[str]
    features: list[str]
    ops: dict[str, str]
    targets: list[TargetStep]
    fields: dict[str, dict[str, Any]]
    x_name: str = "x"
    image: ImageStep | None = None
    text: list[str] = field(default_factory=list)


def _target_step(column: dict[str, Any], name: str) -> TargetStep:
    col = column["name"]
    kind = column["dtype"]
    classes = column.get("classes")
    if kind == "text" or (kind in ("categorical", "boolean") and classes is None):
        raise UploadError(f"{name}: target column '{col}' has {column.get('distinct', 'too many')} distinct values; "
                          "pick a column of classes or numbers", 422)
    integer = kind == "numeric" and classes is not None
    if kind in ("categorical", "boolean") or integer:
        labels = sorted(classes or {}, key=_class_key)
        if len(labels) < 2:
            only = f" ('{labels[0]}')" if labels else ""
            raise UploadError(f"{name}: target column '{col}' has one class{only}: there is nothing to learn", 422)
        if len(labels) > MAX_CLASSES:
            raise UploadError(f"{name}: target column '{col}' has {len(labels)} classes; at most {MAX_CLASSES}", 422)
        return TargetStep(column=col, field=col, task="classification", classes=labels)
    return TargetStep(column=col, field=col, task="regression")


def _class_key(label: str) -> tuple[int, float, str]:
    try:
        return 0, float(label), label
    except ValueError:
        return 1, 0.0, label


def plan(desc: dict[str, Any], options: DatasetOptions) -> Plan:
    """Resolve the spec against the dataset's description; a missing column or a one-class target is a 422."""
    name = desc["name"]
    kind = desc["kind"]
    columns = {c["name"]: c for c in desc["columns"]}
    default_target = desc.get("default_target") or list(columns)[-1]
    target = options.target or [default_target]
    for col in target:
        if col not in columns:
            raise UploadError(f"{name}: target column '{col}' is not in the file (columns: "
                              f"{', '.join(columns)})", 422)
    if kind == "images":
        features = ["image"]
        if options.features and options.features != ["image"]:
            raise UploadError(f"{name}: an image dataset has one feature, its images", 422)
    else:
        features = options.features or [c for c in columns if c not in target]
        for col in features:
            if col not in columns:
                raise UploadError(f"{name}: feature column '{col}' is not in the file (columns: "
                                  f"{', '.join(columns)})", 422)
            if col in target:
                raise UploadError(f"{name}: column '{col}' cannot be both a feature and a target", 422)
    if not features:
        raise UploadError(f"{name}: no feature columns are left once the target is taken out", 422)
    for col in options.preprocessing.columns:
        if col not in columns:
            raise UploadError(f"{name}: preprocessing names column '{col}', which is not in the file", 422)
    targets = [_target_step(columns[c], name) for c in target]
    pre = options.preprocessing
    x_name = "x" if "x" not in target else "features"
    fields: dict[str, dict[str, Any]] = {}
    ops: dict[str, str] = {}
    text: list[str] = []
    image = None
    width = 0
    if kind == "arrays":
        for col in features:
            spec = columns[col]
            dtype = "int64" if spec.get("array_dtype", "float").startswith(("int", "uint")) else "float32"
            fields[col] = {"shape": spec["shape"], "dtype": dtype, "role": "input"}
            ops[col] = "none"
    elif kind == "images":
        size = tuple(pre.image_size or desc["images"]["default_size"])
        colour = pre.color or desc["images"]["color"]
        channels = 1 if colour == "grey" else 3
        image = ImageStep(size=(int(size[0]), int(size[1])), channels=channels)
        fields["image"] = {"shape": [channels, *image.size], "dtype": "float32", "role": "input"}
    else:
        for col in features:
            spec = columns[col]
            op = pre.columns.get(col)
            if spec["dtype"] == "text":
                if op is not None:
                    raise UploadError(f"{name}: column '{col}' is text (tokenized); '{op}' does not apply", 422)
                text.append(col)
                fields[col] = {"shape": [pre.length], "dtype": "int64", "role": "input"}
                continue
            if op is None:
                op = pre.numeric if spec["dtype"] in NUMERIC_KINDS else pre.categorical
            if op in ("onehot", "codes") and spec.get("classes") is None:
                raise UploadError(f"{name}: column '{col}' has too many distinct values for '{op}'", 422)
            if op in ("standardize", "minmax", "none") and spec["dtype"] not in NUMERIC_KINDS:
                raise UploadError(f"{name}: column '{col}' is {spec['dtype']}; '{op}' needs numbers", 422)
            ops[col] = op
            if op == "codes":
                fields[col] = {"shape": [1], "dtype": "int64", "role": "input",
                               "vocabulary_size": len(spec["classes"]) + 1}
            else:
                width += len(spec["classes"]) if op == "onehot" else 1
        if width:
            fields[x_name] = {"shape": [width], "dtype": "float32", "role": "input"}
    for t in targets:
        if kind == "arrays":
            spec = columns[t.column]
            shape = [] if t.task == "classification" else (spec["shape"] or [1])
        else:
            shape = [] if t.task == "classification" else [1]
        fields[t.field] = {"shape": shape, "dtype": "int64" if t.task == "classification" else "float32",
                           "role": "target", "classes": t.classes}
    return Plan(kind, target, features, ops, targets, fields, x_name, image, text)


# ---- fitting and transforming -------------------------------------------------------------------------------------


def _impute_value(finite: np.ndarray, how: str) -> float:
    """The value that stands for a missing number, from the finite training values."""
    if how == "zero" or finite.size == 0:
        return 0.0
    return float(np.median(finite) if how == "median" else finite.mean())


def fit_numeric(col: str, kind: str, values: np.ndarray, train: np.ndarray, op: str, impute: str) -> ColumnStep:
    seen = values[train]
    finite = np.isfinite(seen)
    whole = bool(finite.all())  # the usual case: nothing to impute, no masked copies
    fill = _impute_value(seen if whole else seen[finite], impute)
    filled = seen if whole else np.where(finite, seen, fill)
    step = ColumnStep(column=col, dtype=kind, op=op, impute=fill)
    if op == "standardize":
        std = float(filled.std()) if filled.size else 1.0
        step.mean, step.std = (float(filled.mean()) if filled.size else 0.0), (std if std > 1e-12 else 1.0)
    elif op == "minmax":
        lo, hi = (float(filled.min()), float(filled.max())) if filled.size else (0.0, 1.0)
        step.min, step.max = lo, hi if hi > lo else lo + 1.0
    return step


def apply_numeric(step: ColumnStep, values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The step applied to float64 ``values`` (missing ones imputed), as float32; written into ``out`` (say, one
    column of a feature matrix) when given."""
    finite = np.isfinite(values)
    result = values if finite.all() else np.where(finite, values, float(step.impute or 0.0))
    if step.op == "standardize":
        result = np.subtract(result, step.mean or 0.0)
        np.divide(result, step.std or 1.0, out=result)
    elif step.op == "minmax":
        lo = step.min or 0.0
        result = np.subtract(result, lo)
        np.divide(result, (step.max if step.max is not None else lo + 1.0) - lo, out=result)
    if out is None:
        return result.astype(np.float32)
    out[...] = result
    return out


def fit_categorical(col: str, kind: str, values: Sequence[str | None], train: np.ndarray, op: str,
                    categories: list[str]) -> ColumnStep:
    counts = Counter(values[i] for i in train if values[i] is not None)
    mode = max(sorted(counts), key=counts.__getitem__) if counts else None  # a tie goes to the first in order
    return ColumnStep(column=col, dtype=kind, op=op, impute=mode, categories=categories)


def category_codes(step: ColumnStep, values: Sequence[Any]) -> np.ndarray:
    """1-based codes, 0 for a value the file never had (missing values, None or "" as in a CSV, take the imputed
    category)."""
    index = {c: i + 1 for i, c in enumerate(step.categories or [])}
    out = np.zeros(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        key = _label(v) if v is not None and v != "" else step.impute
        out[i] = index.get(str(key), 0) if key is not None else 0
    return out


def onehot(step: ColumnStep, values: Sequence[Any]) -> np.ndarray:
    codes = category_codes(step, values)
    out = np.zeros((len(values), len(step.categories or [])), dtype=np.float32)
    rows = np.nonzero(codes)[0]
    out[rows, codes[rows] - 1] = 1.0
    return out


def target_array(step: TargetStep, values: Sequence[Any] | np.ndarray) -> np.ndarray:
    if step.task == "classification":
        index = {c: i for i, c in enumerate(step.classes or [])}
        codes = {v: index[_label(v)] for v in set(values)}  # each distinct value labelled once
        return np.fromiter(map(codes.__getitem__, values), dtype=np.int64, count=len(values))
    arr = np.asarray(values, dtype=np.float32)
    return arr.reshape(len(arr), 1) if arr.ndim == 1 else arr


def dataset_from(plan_: Plan, desc: dict[str, Any], arrays: dict[str, np.ndarray]) -> Dataset:
    fields = []
    for fname, spec in plan_.fields.items():
        classes = tuple(spec["classes"]) if spec.get("classes") else None
        fields.append(FieldSpec(fname, tuple(spec["shape"]), spec["dtype"], spec["role"], classes))
    task = ("classification" if any(t.task == "classification" for t in plan_.targets) else "regression")
    return Dataset(desc["id"], desc.get("name", desc["id"]), task, fields, arrays)


def record(plan_: Plan, desc: dict[str, Any], options: DatasetOptions) -> Pipeline:
    return Pipeline(kind=plan_.kind, dataset=desc["id"], name=desc["name"], target=plan_.target,
                    features=plan_.features, image=plan_.image, targets=plan_.targets,
                    augmentation=options.augmentation, fields=plan_.fields)


# ---- predict: raw values through the recorded pipeline --------------------------------------------------------------


def raw_input(pipeline: dict[str, Any], input_name: str, value: Any) -> np.ndarray | None:
    """``transform_raw`` for a graph Input of a run, from the run's recorded pipeline (preprocessing.json)."""
    recorded = Pipeline.model_validate(pipeline)
    field_name = recorded.binding.get(input_name)
    return transform_raw(recorded, field_name, value) if field_name is not None else None


def transform_raw(pipeline: Pipeline, field_name: str, value: Any) -> np.ndarray | None:
    """A raw value for one model input (a row as {column: value}, a list of rows, a text or a list of texts)
    as the model's tensor; None when the value is not raw (numbers are taken as the model's tensor)."""
    from .text import encode, tokenizer_from_json

    text = next((t for t in pipeline.text if t.field == field_name), None)
    if text is not None and (isinstance(value, str) or (isinstance(value, list) and value
                                                        and all(isinstance(v, str) for v in value))):
        texts = [value] if isinstance(value, str) else list(value)
        return encode(tokenizer_from_json(text.tokenizer_json), texts, text.length)
    steps = [c for c in pipeline.columns if c.field == field_name]
    rows: list[dict[str, Any]] | None = None
    if isinstance(value, dict):
        rows = [value]
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        rows = value
    if rows is None or not steps:
        return None
    needed = [c.column for c in steps]
    for i, row in enumerate(rows):
        unknown = sorted(set(row) - set(needed) - set(pipeline.target))
        if unknown:
            raise UploadError(f"row {i + 1}: unknown column(s) {', '.join(unknown)}; input '{field_name}' reads "
                              f"{', '.join(needed)}", 422)
    parts = []
    for step in steps:
        raw = [row.get(step.column) for row in rows]
        if step.op in ("onehot", "codes"):
            parts.append(onehot(step, raw) if step.op == "onehot" else category_codes(step, raw)[:, None])
            continue
        values = np.empty(len(raw), dtype=np.float64)
        for i, v in enumerate(raw):
            values[i] = _raw_number(v, step, i)
        parts.append(apply_numeric(step, values)[:, None])
    if steps[0].op == "codes":
        return np.asarray(parts[0], dtype=np.int64)
    return np.concatenate(parts, axis=1).astype(np.float32)


def _raw_number(v: Any, step: ColumnStep, row: int) -> float:
    if v is None or v == "":
        return float("nan")
    if isinstance(v, bool):
        return float(v)
    if step.dtype == "boolean" and isinstance(v, str) and v.lower() in ("true", "false"):
        return 1.0 if v.lower() == "true" else 0.0
    if step.dtype == "date" and isinstance(v, str):
        try:
            return float(np.datetime64(v, "s").astype(np.int64)) / 86400.0
        except ValueError:
            raise UploadError(f"row {row + 1}, column '{step.column}': '{v}' is not a date (YYYY-MM-DD)",
                              422) from None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise UploadError(f"row {row + 1}, column '{step.column}': '{v}' is not a number", 422) from None


def planned_steps(p: Plan, options: DatasetOptions) -> list[str]:
    """What training will do with these options, one line per step, before any statistic is fit."""
    pre = options.preprocessing
    what = {"standardize": "standardized (mean and std of the training split)",
            "minmax": "scaled to [0, 1] (min and max of the training split)", "none": "as it is",
            "onehot": "one-hot", "codes": "integer codes 1..K for an Embedding (0 = unknown)"}
    lines = []
    for col in p.features:
        if col in p.ops and p.kind != "arrays":
            impute = f"; missing -> training {pre.impute}" if p.ops[col] in ("standardize", "minmax", "none") \
                else "; missing -> most frequent"
            lines.append(f"{col}: {what[p.ops[col]]}{impute}")
        elif col in p.text:
            lines.append(f"{col}: {pre.tokenizer} tokenizer trained on the training split (vocabulary up to "
                         f"{pre.vocab_size}), padded/truncated to {pre.length}")
        elif p.kind == "arrays":
            lines.append(f"{col}: as it is")
    if p.image is not None:
        colour = "grey" if p.image.channels == 1 else "RGB"
        lines.append(f"images: {colour}, resized to {p.image.size[0]}x{p.image.size[1]}, {p.image.scale}")
    for t in p.targets:
        lines.append(f"target {t.column}: {t.task}" + (f" over {len(t.classes)} classes" if t.classes else ""))
    if options.augmentation is not None and options.augmentation.active():
        on = [k for k, v in options.augmentation.model_dump().items() if v]
        lines.append(f"augmentation (training split only): {', '.join(on)}")
    return lines
