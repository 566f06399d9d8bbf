"""Train on an uploaded dataset: read it, split it (seeded; stratified by the first class target), fit the
pipeline on the training rows only, transform every row, bind the graph and hand over the tensors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from pydantic import ValidationError

from ..compiler import CompiledGraph
from .errors import UploadError
from .images import load_images, resize_images
from .options import AugmentationOptions, DatasetOptions, Pipeline, SplitRecord, TargetStep, TextStep
from .pipeline import (
    Plan,
    apply_numeric,
    category_codes,
    dataset_from,
    fit_categorical,
    fit_numeric,
    onehot,
    plan,
    record,
    target_array,
)
from .prepare import PreparedData, assemble, bind, split_indices
from .tables import label, numeric_values, read_table, string_values, to_numpy
from .uploads import DatasetStore, cached_table, read_cache


def _missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and np.isnan(value))


def load_columns(store: DatasetStore, desc: dict[str, Any], wanted: list[str]) -> tuple[dict[str, Any], int]:
    """The raw columns (pyarrow arrays, lists or numpy arrays) of a dataset, and its row count."""
    if desc["kind"] in ("table", "text"):
        table = cached_table(store.path(desc["id"]))
        if table is None:
            table = read_table(store.original(desc["id"]), desc["file"]).table
        return {c: table.column(c) for c in wanted}, table.num_rows
    if desc["kind"] == "arrays":
        from .arrays import read_npz

        arrays = read_npz(store.original(desc["id"]), desc["file"])
        return {c: arrays[c] for c in wanted}, len(next(iter(arrays.values())))
    images, columns = read_cache(store.path(desc["id"]))
    return {c: columns[c] for c in wanted if c in columns}, len(images)


def prepare_upload(store: DatasetStore, spec: dict[str, Any], compiled: CompiledGraph, *, seed: int = 0,
                   validation_split: float = 0.2) -> PreparedData:
    """``spec`` is the run's dataset: {"id", "target"?, "features"?, "test_split"?, "preprocessing"?,
    "augmentation"?, "binding"?}. Raises UploadError (a missing column, one class, ...) or DataError (binding)."""
    try:
        options = DatasetOptions.model_validate({k: v for k, v in spec.items() if k not in ("id", "binding", "name")})
    except ValidationError as e:
        raise UploadError(f"dataset: {e}", 422) from None
    desc = store.get(str(spec["id"]))
    p = plan(desc, options)
    pipeline = record(p, desc, options)
    kind = desc["kind"]
    columns, n = load_columns(store, desc, p.target + ([] if kind == "images" else p.features))

    rows, arrays, (train, val, test), classification = targets_and_split(p, desc, options, columns, n, seed,
                                                                         validation_split)
    pipeline.dropped = int(n - len(rows))
    pipeline.splits = SplitRecord(seed=seed, test_split=options.test_split, validation_split=validation_split,
                                  stratified_by=classification.column if classification else None,
                                  train=len(train), validation=len(val), test=len(test))

    if kind == "images":
        assert p.image is not None
        images, _ = read_cache(store.path(desc["id"]))
        want = (p.image.channels, *p.image.size)
        if images.shape[1:] != want and desc.get("source"):  # a downloaded set: only its decoded images are kept
            images = resize_images(images, p.image.size, p.image.channels)
        elif images.shape[1:] != want:
            with np.load(store.path(desc["id"]) / "cache.npz", allow_pickle=False) as npz:
                members = npz["members"].tolist()
            images = load_images(store.original(desc["id"]), desc["file"], members, p.image.size, p.image.channels)
        arrays["image"] = images[rows].astype(np.float32) / 255.0
    elif kind == "arrays":
        for col in p.features:
            arr = np.asarray(columns[col])[rows]
            arrays[col] = arr.astype(np.int64 if p.fields[col]["dtype"] == "int64" else np.float32)
    else:
        _fit_table(p, desc, options, columns, rows, train, arrays, pipeline)

    dataset = dataset_from(p, desc, arrays)
    binding = bind(compiled, dataset, spec.get("binding") or None)
    pipeline.binding = dict(binding.inputs)
    prepared = assemble(dataset, binding, (train, val, test), pipeline.model_dump(mode="json"))
    if options.augmentation is not None and options.augmentation.active() and p.image is not None:
        image_inputs = [i for i, f in enumerate(binding.inputs.values()) if f == "image"]
        prepared.augment = augmenter(options.augmentation, image_inputs)
    return prepared


def targets_and_split(p: Plan, desc: dict[str, Any], options: DatasetOptions, columns: dict[str, Any], n: int,
                      seed: int, validation_split: float
                      ) -> tuple[np.ndarray, dict[str, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray],
                                 TargetStep | None]:
    """The rows that have a target value, their target arrays, the seeded split of those rows (train, validation,
    test: positions in ``rows``) and the class target it is stratified by."""
    keep = np.ones(n, dtype=bool)
    for t in p.targets:
        col = columns[t.column]
        if isinstance(col, pa.ChunkedArray | pa.Array):  # nulls (and NaN) found by Arrow, not value by value
            keep &= ~to_numpy(pc.is_null(col, nan_is_null=True), np.bool_)
            if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):  # an empty string is missing
                keep &= to_numpy(pc.utf8_length(col), np.int64, missing=0) > 0
        elif not isinstance(col, np.ndarray):
            keep &= np.array([not _missing(v) for v in col], dtype=bool)
    rows = np.nonzero(keep)[0]
    if len(rows) < 2:
        raise UploadError(f"{desc['name']}: fewer than two rows have a value in the target column(s)", 422)
    arrays: dict[str, np.ndarray] = {}
    for t in p.targets:
        col = columns[t.column]
        try:
            if isinstance(col, pa.ChunkedArray | pa.Array):
                arrays[t.field] = _arrow_target(t, col, rows)
                continue
            values: list[Any] | np.ndarray = col if isinstance(col, np.ndarray) else list(col)
            picked = values[rows] if isinstance(values, np.ndarray) else [values[i] for i in rows]
            arrays[t.field] = target_array(t, picked if not isinstance(picked, np.ndarray) or t.task == "regression"
                                           else [str(v) for v in picked.tolist()])
        except (KeyError, ValueError) as e:
            raise UploadError(f"{desc['name']}: target column '{t.column}': {e}", 422) from None
    classification = next((t for t in p.targets if t.task == "classification"), None)
    stratify = arrays[classification.field] if classification else None
    splits = split_indices(len(rows), seed, validation_split, stratify, options.test_split)
    return rows, arrays, splits, classification


def _arrow_target(step: TargetStep, col: pa.ChunkedArray | pa.Array, rows: np.ndarray) -> np.ndarray:
    """``target_array`` of a table column's ``rows`` (which all have a value), computed on the column's distinct
    values: each is labelled once and the rows take their class index by position."""
    if step.task == "regression":
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_decimal(col.type):
            values = numeric_values(col, "numeric")
            return (values if len(rows) == len(values) else values[rows]).astype(np.float32)[:, None]
        values = col.to_pylist()
        return target_array(step, [values[i] for i in rows])
    encoded = pc.dictionary_encode(col)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    index = {c: i for i, c in enumerate(step.classes or [])}
    dictionary = encoded.dictionary.to_pylist()
    lookup = np.array([index.get(label(v), -1) for v in dictionary] + [-1], dtype=np.int64)  # last: a null
    positions = to_numpy(encoded.indices, np.intp, missing=len(dictionary))
    positions = positions if len(rows) == len(positions) else positions[rows]
    codes = lookup[positions]
    if len(codes) and codes.min() < 0:
        raise KeyError(label(([*dictionary, None])[int(positions[int(np.argmin(codes))])]))
    return codes


def token_samples(store: DatasetStore, desc: dict[str, Any], options: DatasetOptions, count: int = 5, seed: int = 0,
                  validation_split: float = 0.2) -> list[dict[str, Any]]:
    """The first ``count`` texts of each text feature with the tokens and ids the tokenizer a run would record
    makes of them (trained on the same training rows, with these options), cut to the padded length."""
    from .text import train_tokenizer

    p = plan(desc, options)
    if not p.text:
        return []
    columns, n = load_columns(store, desc, p.target + p.text)
    rows, _, (train, _, _), _ = targets_and_split(p, desc, options, columns, n, seed, validation_split)
    pre = options.preprocessing
    out: list[dict[str, Any]] = []
    for col in p.text:
        texts = ["" if v is None else v for v in string_values(columns[col])]
        tok = train_tokenizer([texts[rows[i]] for i in train], pre.tokenizer, pre.vocab_size, pre.lowercase)
        for text in texts[:count]:
            encoding = tok.encode(text)
            out.append({"column": col, "text": text[:1000], "tokens": encoding.tokens[:pre.length],
                        "ids": encoding.ids[:pre.length], "cut": max(0, len(encoding.ids) - pre.length)})
    return out


def _fit_table(p: Any, desc: dict[str, Any], options: DatasetOptions, columns: dict[str, Any], rows: np.ndarray,
               train: np.ndarray, arrays: dict[str, np.ndarray], pipeline: Pipeline) -> None:
    described = {c["name"]: c for c in desc["columns"]}
    pre = options.preprocessing
    width = p.fields[p.x_name]["shape"][0] if p.x_name in p.fields else 0
    # Every number and one-hot column, filled in place column by column: column-major, so that each column is
    # contiguous (a column of a row-major matrix strides through all of it). Gathering a split's rows from it
    # (``assemble``) gives row-major tensors at no extra cost.
    x = np.empty((len(rows), width), dtype=np.float32, order="F")
    offset = 0
    for col in p.features:
        spec = described[col]
        if col in p.text:
            from .text import encode, train_tokenizer  # tokenizers takes a while to import: only for text

            texts = ["" if v is None else v for v in (string_values(columns[col]))]
            texts = [texts[i] for i in rows]
            tok = train_tokenizer([texts[i] for i in train], pre.tokenizer, pre.vocab_size, pre.lowercase)
            pipeline.text.append(TextStep(column=col, field=col, tokenizer=pre.tokenizer,
                                          vocab_size=tok.get_vocab_size(), length=pre.length,
                                          lowercase=pre.lowercase, tokenizer_json=tok.to_str()))
            arrays[col] = encode(tok, texts, pre.length)
            continue
        op = p.ops[col]
        if op in ("onehot", "codes"):
            values = string_values(columns[col])
            values = [values[i] for i in rows]
            categories = sorted(spec["classes"])
            step = fit_categorical(col, spec["dtype"], values, train, op, categories)
            if op == "codes":
                step.field = col
                arrays[col] = category_codes(step, values)[:, None]
            else:
                block = onehot(step, values)
                step.offset, step.width = offset, block.shape[1]
                x[:, offset:offset + block.shape[1]] = block
                offset += block.shape[1]
        else:
            numbers = numeric_values(columns[col], spec["dtype"])
            if len(rows) != len(numbers):  # rows without a target are left out
                numbers = numbers[rows]
            step = fit_numeric(col, spec["dtype"], numbers, train, op, pre.impute)
            step.offset = offset
            apply_numeric(step, numbers, out=x[:, offset])
            offset += 1
        step.field = step.field if op == "codes" else p.x_name
        pipeline.columns.append(step)
    if width:
        arrays[p.x_name] = x


def augmenter(options: AugmentationOptions, positions: list[int]) -> Any:
    """A batch transform (kornia, per-sample random parameters from torch's seeded generator) for the image
    inputs at ``positions``."""
    import kornia.augmentation as K

    steps: list[Any] = []
    if options.hflip:
        steps.append(K.RandomHorizontalFlip())
    if options.vflip:
        steps.append(K.RandomVerticalFlip())
    if options.rotation:
        steps.append(K.RandomRotation(degrees=float(options.rotation)))
    if options.crop_padding:
        steps.append(_PadCrop(options.crop_padding))
    if options.brightness:
        steps.append(K.RandomBrightness(brightness=(1 - options.brightness, 1 + options.brightness), p=1.0))
    if options.noise:
        steps.append(K.RandomGaussianNoise(std=float(options.noise), p=1.0))
    chain = torch.nn.Sequential(*steps)

    def apply(inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        out = list(inputs)
        with torch.no_grad():
            for i in positions:
                out[i] = chain(out[i])
        return out

    return apply


class _PadCrop(torch.nn.Module):
    """Pad by ``padding`` pixels, then crop back to the original size at a random place (kornia's RandomCrop)."""

    def __init__(self, padding: int):
        super().__init__()
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import kornia.augmentation as K

        crop = K.RandomCrop((x.shape[-2], x.shape[-1]), padding=self.padding)
        return crop(x)  # type: ignore[no-any-return]


def augmented_preview(store: DatasetStore, dataset_id: str, options: AugmentationOptions, count: int = 8,
                      seed: int = 0) -> list[str]:
    """``count`` augmented versions of the first image, as PNG data URLs (the Data view's preview strip)."""
    from .images import png_data_url

    images, _ = read_cache(store.path(dataset_id))
    torch.manual_seed(seed)
    batch = torch.from_numpy(images[:1].astype(np.float32) / 255.0).repeat(count, 1, 1, 1)
    out = augmenter(options, [0])([batch])[0].clamp(0, 1).numpy()
    return [png_data_url(img) for img in out]
