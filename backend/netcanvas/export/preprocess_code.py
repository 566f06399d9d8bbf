"""The ``preprocess()`` function of the exported PyTorch code: a run's recorded preprocessing, as plain Python.

The recorded steps become one data table, ``PREPROCESSING`` (Input id -> what its tensor is made
from), written with ``literal()``: numbers as ``repr`` of floats and ints, every string (column
names, categories, Input ids, the tokenizer's JSON) as an ``ascii()`` literal. The function that
reads the table is fixed text written here; no user string ever becomes code. It does what the
server does (``data.pipeline.transform_raw``, ``data.images.load_images``, ``data.prepare``):

- ``columns``: rows (dicts of raw values) -> float32 ``[N, width]``: numbers imputed then
  standardized or min-max scaled, booleans 0/1, dates as days since 1970-01-01, categories one-hot;
- ``codes``: rows -> int64 ``[N, 1]`` category codes (1-based, 0 = unknown) for an Embedding;
- ``text``: rows (or strings) -> int64 ``[N, length]`` token ids with the recorded tokenizer;
- ``image``: images (PIL images or uint8 arrays) -> float32 ``[N, C, H, W]`` in [0, 1];
- ``standardize`` (built-in tabular data): ``(x - mean) / std``; ``scale``: ``x / divide``;
  ``as_is``: the values as the model's dtype.
"""

from __future__ import annotations

import math
from typing import Any

from ..artifacts import Preprocessing
from ..compiler import CompiledGraph


def literal(value: Any) -> str:
    """``value`` (dicts, lists, strings, numbers, booleans, None) as a Python literal: strings through ``ascii()``,
    so the text is pure ASCII and no string can end its quotes."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float({ascii(str(value))})"
    if isinstance(value, str):
        return ascii(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"no literal for {type(value).__name__}")


def preprocessing_table(compiled: CompiledGraph, pre: Preprocessing) -> dict[str, dict[str, Any]]:
    """Input id -> the recipe of its tensor, from the run's recorded preprocessing."""
    from ..data.options import Pipeline

    table: dict[str, dict[str, Any]] = {}
    pipeline = Pipeline.model_validate(pre.pipeline) if pre.pipeline else None
    raw_scale = _builtin_raw_scale(pre.dataset) if pipeline is None else {}
    for name in compiled.input_names:
        dtype = compiled.inputs[name].dtype
        if pipeline is not None:
            table[name] = _upload_recipe(pipeline, pipeline.binding.get(name, name), dtype)
        elif name in pre.inputs:
            std = pre.inputs[name]
            table[name] = {"kind": "standardize", "mean": std.mean, "std": std.std}
        elif len(compiled.input_names) == 1 and len(raw_scale) == 1:
            table[name] = {"kind": "scale", "divide": next(iter(raw_scale.values())), "dtype": dtype}
        else:
            table[name] = {"kind": "as_is", "dtype": dtype}
    return table


def _builtin_raw_scale(dataset: str | None) -> dict[str, float]:
    from ..data import LOADERS, load

    if dataset not in LOADERS:
        return {}
    scale = load(str(dataset)).extra.get("raw_scale") or {}
    return {str(k): float(v) for k, v in dict(scale).items()}  # type: ignore[call-overload]


def _upload_recipe(pipeline: Any, field: str, dtype: str) -> dict[str, Any]:
    if pipeline.image is not None and field == pipeline.image.field:
        return {"kind": "image", "size": list(pipeline.image.size), "channels": pipeline.image.channels}
    text = next((t for t in pipeline.text if t.field == field), None)
    if text is not None:
        return {"kind": "text", "column": text.column, "length": text.length, "tokenizer_json": text.tokenizer_json}
    steps = [c for c in pipeline.columns if c.field == field]
    if steps and steps[0].op == "codes":
        return {"kind": "codes", "steps": [_step(steps[0])]}
    if steps:
        return {"kind": "columns", "steps": [_step(s) for s in steps]}
    return {"kind": "as_is", "dtype": dtype}


def _step(step: Any) -> dict[str, Any]:
    keep = ("column", "dtype", "op", "impute", "mean", "std", "min", "max", "categories")
    return {k: getattr(step, k) for k in keep}


FUNCTIONS = '''

def _number(value, step):
    """A raw value as a float (NaN when missing), as NetCanvas reads a column of this type."""
    if value is None or value == "":
        return float("nan")
    if isinstance(value, bool):
        return float(value)
    if step["dtype"] == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return 1.0 if value.lower() == "true" else 0.0
    if step["dtype"] == "date" and isinstance(value, str):
        return float(np.datetime64(value, "s").astype(np.int64)) / 86400.0
    return float(value)


def _category(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _codes(step, values):
    index = {c: i + 1 for i, c in enumerate(step["categories"] or [])}
    keys = [_category(v) if v is not None and v != "" else step["impute"] for v in values]
    return np.array([index.get(str(k), 0) if k is not None else 0 for k in keys], dtype=np.int64)


def _columns(steps, rows):
    parts = []
    for step in steps:
        raw = [row.get(step["column"]) for row in rows]
        if step["op"] in ("onehot", "codes"):
            codes = _codes(step, raw)
            if step["op"] == "codes":
                return torch.from_numpy(codes[:, None])
            block = np.zeros((len(raw), len(step["categories"] or [])), dtype=np.float32)
            hit = np.nonzero(codes)[0]
            block[hit, codes[hit] - 1] = 1.0
            parts.append(block)
            continue
        values = np.array([_number(v, step) for v in raw], dtype=np.float64)
        values = np.where(np.isfinite(values), values, float(step["impute"] or 0.0))
        if step["op"] == "standardize":
            values = (values - step["mean"]) / step["std"]
        elif step["op"] == "minmax":
            values = (values - step["min"]) / (step["max"] - step["min"])
        parts.append(values.astype(np.float32)[:, None])
    return torch.from_numpy(np.concatenate(parts, axis=1).astype(np.float32))


def _text(recipe, rows):
    from tokenizers import Tokenizer  # pip install tokenizers

    texts = [r if isinstance(r, str) else r.get(recipe["column"]) or "" for r in rows]
    tokenizer = Tokenizer.from_str(recipe["tokenizer_json"])
    out = np.zeros((len(texts), recipe["length"]), dtype=np.int64)
    for i, encoding in enumerate(tokenizer.encode_batch(texts)):
        ids = encoding.ids[:recipe["length"]]
        out[i, :len(ids)] = ids
    return torch.from_numpy(out)


def _images(recipe, images):
    from PIL import Image  # pip install pillow

    height, width = recipe["size"]
    out = np.empty((len(images), recipe["channels"], height, width), dtype=np.uint8)
    for k, image in enumerate(images):
        if not isinstance(image, Image.Image):
            pixels = np.asarray(image, dtype=np.uint8)
            image = Image.fromarray(pixels if pixels.ndim == 2 or pixels.shape[-1] == 3 else pixels[..., 0])
        image = image.convert("L" if recipe["channels"] == 1 else "RGB")
        if (image.height, image.width) != (height, width):
            image = image.resize((width, height), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.uint8)
        out[k] = pixels[None] if recipe["channels"] == 1 else pixels.transpose(2, 0, 1)
    return torch.from_numpy(out.astype(np.float32) / 255.0)


def preprocess(data):
    """Raw data -> the model's input tensors, in the order forward() takes them, with the preprocessing recorded
    when the model was trained (PREPROCESSING). ``data`` is, for the model's one Input (or per Input id in a
    dict): a list of rows (dicts of raw values, e.g. from csv.DictReader) for table and text data, a list of
    images (PIL images or uint8 arrays) for images, else an array of values.

        outputs = model(*preprocess(rows))
    """
    tensors = []
    for name, recipe in PREPROCESSING.items():
        raw = data[name] if isinstance(data, dict) and name in data else data
        kind = recipe["kind"]
        if kind in ("columns", "codes"):
            tensors.append(_columns(recipe["steps"], [raw] if isinstance(raw, dict) else list(raw)))
        elif kind == "text":
            tensors.append(_text(recipe, [raw] if isinstance(raw, (str, dict)) else list(raw)))
        elif kind == "image":
            tensors.append(_images(recipe, list(raw)))
        elif kind == "standardize":
            x = torch.as_tensor(np.asarray(raw, dtype=np.float32))
            mean = torch.as_tensor(recipe["mean"], dtype=torch.float32)
            std = torch.as_tensor(recipe["std"], dtype=torch.float32)
            tensors.append((x - mean) / std)  # mean and std have the shape of one sample
        elif kind == "scale":
            tensors.append(torch.as_tensor(np.asarray(raw, dtype=np.float32) / recipe["divide"]))
        else:
            tensors.append(torch.as_tensor(np.asarray(raw), dtype=getattr(torch, recipe["dtype"])))
    return tuple(tensors)
'''


def preprocess_source(compiled: CompiledGraph, pre: Preprocessing | None) -> str:
    """The PREPROCESSING table and the functions that apply it, for the model file."""
    table = preprocessing_table(compiled, pre or Preprocessing())
    rows = ",\n".join(f"    {literal(name)}: {literal(recipe)}" for name, recipe in table.items())
    return (f'\n\nPREPROCESSING = {{\n{rows},\n}}\n"""Input id -> how preprocess() makes its tensor from raw data '
            '(recorded when the model was trained)."""' + FUNCTIONS)
