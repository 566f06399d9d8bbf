"""Datasets: the built-in ones, user arrays, and their preparation for training."""

from __future__ import annotations

from typing import Any

from .builtin import LOADERS, Dataset, FieldSpec, load
from .prepare import TEST_SPLIT, Binding, DataError, PreparedData, bind, from_arrays, prepare, split_indices


def samples(dataset: Dataset, count: int = 6) -> dict[str, Any]:
    """A few samples of every field, as plain lists, for display."""
    return {k: v[:count].tolist() for k, v in dataset.arrays.items()}


def token_words(dataset: Dataset, count: int) -> dict[str, list[list[str]]] | None:
    """The first ``count`` samples of each token-id input as their words (padding left out), when the dataset has a
    vocabulary."""
    vocab = dataset.vocabulary
    if not vocab:
        return None
    return {f.name: [[vocab[i] if 0 <= i < len(vocab) else "[UNK]" for i in row if i != 0]
                     for row in dataset.arrays[f.name][:count].tolist()]
            for f in dataset.inputs() if f.dtype == "int64"}


def catalog_entries() -> list[dict[str, Any]]:
    """Every built-in dataset: name, doc, task, size, fields (shape, dtype, role, classes) and a few
    samples of every field."""
    entries = []
    for name in LOADERS:
        ds = load(name)
        entries.append({"name": name, "doc": ds.doc, "task": ds.task, "size": ds.size,
                        "fields": [f.entry() for f in ds.fields], "samples": samples(ds, 4),
                        "vocabulary_size": len(ds.vocabulary) if ds.vocabulary else None,
                        "tokens": token_words(ds, 4)})
    return entries


__all__ = ["LOADERS", "TEST_SPLIT", "Binding", "DataError", "Dataset", "FieldSpec", "PreparedData", "bind",
           "catalog_entries", "from_arrays", "load", "prepare", "samples", "split_indices"]
