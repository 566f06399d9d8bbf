"""From a dataset to tensors a compiled graph can train on: binding, splits, standardization.

Splits: ``TEST_SPLIT`` (20 %) of every dataset is held out for the test metrics, then
``validation_split`` of the rest for validation; both seeded, and stratified by the first
class target when every class has at least two samples.

Preprocessing: float tabular inputs (``Dataset.standardize``) become (x - mean) / std with
the mean and std of the training split only; they are returned as plain lists in
``PreparedData.preprocessing`` so a run can store them and exports can apply them. Images
(``digits``) are already scaled to [0, 1]; sequences, series and token ids are used as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from ..artifacts import Preprocessing, Standardization
from ..catalog import TensorSpec, fmt_shape
from ..compiler import CompiledGraph
from .builtin import Dataset, FieldSpec

TEST_SPLIT = 0.2
"""Fraction of every built-in dataset held out for the final test metrics."""


class DataError(ValueError):
    """The dataset does not fit the graph (binding, shapes, dtypes); the message says where."""


@dataclass
class Binding:
    inputs: dict[str, str]
    """Graph Input id -> dataset field."""
    targets: dict[str, str]
    """Graph Output name -> dataset field (a target, or an input field for an autoencoder)."""


@dataclass
class PreparedData:
    train: dict[str, torch.Tensor]
    val: dict[str, torch.Tensor] | None
    test: dict[str, torch.Tensor] | None
    binding: Binding
    preprocessing: Preprocessing
    dataset: str
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    augment: Callable[[list[torch.Tensor]], list[torch.Tensor]] | None = None
    """Random changes to a training batch's inputs (image augmentation); never applied to validation or test."""

    def augmented(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        return self.augment(inputs) if self.augment is not None else inputs

    def inputs(self, split: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        return [split[f] for f in self.binding.inputs.values()]

    def targets(self, split: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {out: split[f] for out, f in self.binding.targets.items()}


def _fits(spec: TensorSpec, shape: tuple[int, ...]) -> bool:
    return len(spec.shape) == len(shape) and all(a is None or a == b
                                                 for a, b in zip(spec.shape, shape, strict=True))


class Signature(Protocol):
    """What binding needs of a graph (a CompiledGraph has it; so has a validated graph, without building modules)."""

    @property
    def input_names(self) -> list[str]: ...
    @property
    def output_names(self) -> list[str]: ...
    @property
    def inputs(self) -> dict[str, TensorSpec]: ...


def bind(compiled: Signature, dataset: Dataset, overrides: dict[str, str] | None = None) -> Binding:
    """Match graph Inputs and Outputs to dataset fields (docs/graph-format.md, docs/datasets.md).

    One input and one output bind automatically; otherwise by name (``overrides`` maps
    a graph name to a field). An Output may bind to an input field (an autoencoder).
    """
    overrides = overrides or {}
    names = {f.name for f in dataset.fields}

    def match(graph_names: list[str], fields: list[FieldSpec], kind: str, hint: str) -> dict[str, str]:
        bound: dict[str, str] = {}
        for name in graph_names:
            chosen = overrides.get(name) or (name if name in names else None)
            if chosen is None and len(graph_names) == 1 and len(fields) == 1:
                chosen = fields[0].name
            if chosen is None or chosen not in names:
                raise DataError(f"{kind} '{name}' matches no field of dataset '{dataset.name}' "
                                f"(fields: {', '.join(sorted(names))}); {hint}")
            bound[name] = chosen
        return bound

    inputs = match(compiled.input_names, dataset.inputs(), "Input", "rename the Input node to a field name")
    targets = match(compiled.output_names, dataset.targets(), "Output",
                    "name the Output after a target field, or after an input field to reconstruct it "
                    "(autoencoder)")
    for name, fname in inputs.items():
        spec, fs = compiled.inputs[name], dataset.field(fname)
        if not _fits(spec, fs.shape) or spec.dtype != fs.dtype:
            raise DataError(f"Input '{name}' expects {fmt_shape(spec.shape)} {spec.dtype} but dataset "
                            f"'{dataset.name}' field '{fname}' is {fmt_shape(fs.shape)} {fs.dtype}")
    return Binding(inputs, targets)


def split_indices(n: int, seed: int, validation_split: float, stratify: np.ndarray | None,
                  test_split: float = TEST_SPLIT) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded (and stratified, for classification) train / validation / test indices, each sorted."""
    idx = np.arange(n)

    def cut(pool: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
        if fraction <= 0 or len(pool) < 4:
            return pool, pool[:0]
        held = holdout(stratify[pool] if stratify is not None else None, len(pool), fraction, seed)
        keep = np.ones(len(pool), dtype=bool)
        keep[held] = False
        return pool[keep], pool[~keep]

    rest, test = cut(idx, test_split)
    train, val = cut(rest, validation_split)
    return train, val, test


def holdout(labels: np.ndarray | None, n: int, fraction: float, seed: int) -> np.ndarray:
    """Positions (in ``range(n)``) of the ``ceil(n * fraction)`` samples held out of ``n``.

    The draws are scikit-learn's ``train_test_split(..., test_size=fraction, random_state=seed,
    stratify=labels)``, made with the same ``np.random.RandomState(seed)`` calls in the same order, so a seed
    splits a dataset as it always has; only the bookkeeping is numpy's (scikit-learn gathers the kept indices
    in Python lists). Stratified when ``labels`` is given, every class has two samples or more and each
    split can hold one sample of every class; otherwise a plain seeded permutation.
    """
    if not 0 < fraction < 1:
        raise DataError(f"a split fraction must lie between 0 and 1 (got {fraction})")
    n_test = math.ceil(fraction * n)
    n_train = n - n_test
    if n_train == 0:
        raise DataError(f"holding out {fraction} of {n} samples leaves no training samples")
    rng = np.random.RandomState(seed)
    members = None if labels is None else class_members(labels)
    if members is not None:
        counts = np.array([len(m) for m in members])
        if counts.min() < 2 or round(n * fraction) < len(counts) or n_train < len(counts):
            members = None
    if members is None:
        return rng.permutation(n)[:n_test]
    train_counts = _apportion(counts, n_train, rng)
    test_counts = _apportion(counts - train_counts, n_test, rng)
    held = [m[rng.permutation(len(m))[k:k + t]] for m, k, t in zip(members, train_counts, test_counts, strict=True)]
    return np.concatenate(held)


def class_members(labels: np.ndarray) -> list[np.ndarray]:
    """The positions of each class's samples in ascending order, classes in sorted order."""
    labels = np.asarray(labels)
    if labels.ndim == 1 and labels.dtype.kind in "iu" and len(labels) and labels.min() >= 0 \
            and labels.max() < 4 * len(labels) + 1024:  # small codes: counted, not sorted
        present = np.flatnonzero(np.bincount(labels))
        return [np.flatnonzero(labels == c) for c in present]
    if labels.ndim == 2:  # one class per distinct row (a multi-label target)
        labels = np.array([" ".join(row.astype(str)) for row in labels])
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    order = np.argsort(inverse.reshape(-1), kind="stable")
    return np.split(order, np.cumsum(counts)[:-1])


def _apportion(counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """How many of ``draws`` samples each class gives: its share rounded down, then one more for the classes
    with the largest remainders, ties broken by ``rng`` (scikit-learn's approximate mode of the multivariate
    hypergeometric, drawn the same way so that the same seed gives the same split)."""
    exact = counts / counts.sum() * draws
    out = np.floor(exact)
    missing = int(draws - out.sum())
    remainder = exact - out
    for value in np.sort(np.unique(remainder))[::-1]:
        if missing <= 0:
            break
        tied = np.flatnonzero(remainder == value)
        add = min(len(tied), missing)
        out[rng.choice(tied, size=add, replace=False)] += 1
        missing -= add
    return out.astype(np.int64)


def prepare(dataset: Dataset, compiled: CompiledGraph, *, seed: int = 0, validation_split: float = 0.2,
            test_split: float = TEST_SPLIT, overrides: dict[str, str] | None = None) -> PreparedData:
    binding = bind(compiled, dataset, overrides)
    classification = next((f for f in dataset.targets() if f.classes and f.dtype == "int64"), None)
    stratify = dataset.arrays[classification.name] if classification else None
    splits = split_indices(dataset.size, seed, validation_split, stratify, test_split)
    return assemble(dataset, binding, splits)


def assemble(dataset: Dataset, binding: Binding, splits: tuple[np.ndarray, np.ndarray, np.ndarray],
             pipeline: dict[str, Any] | None = None) -> PreparedData:
    """Tensors of each split for the bound fields; ``Dataset.standardize`` fields standardized with training
    statistics (uploads arrive already transformed by their recorded ``pipeline``)."""
    train_idx, val_idx, test_idx = splits
    used = set(binding.inputs.values()) | set(binding.targets.values())
    arrays = {k: v for k, v in dataset.arrays.items() if k in used}
    stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for fname in dataset.standardize:
        if fname in arrays:
            train = arrays[fname][train_idx]
            mean, std = train.mean(axis=0), train.std(axis=0)
            std = np.where(std < 1e-8, 1.0, std)
            stats[fname] = (mean.astype(np.float32), std.astype(np.float32))

    def take(idx: np.ndarray) -> dict[str, torch.Tensor] | None:
        if len(idx) == 0:
            return None
        out = {}
        for k, v in arrays.items():
            part = v[idx]
            if k in stats:
                part = (part - stats[k][0]) / stats[k][1]
            out[k] = torch.from_numpy(np.ascontiguousarray(part))
        return out

    train_split = take(train_idx)
    if train_split is None:
        raise DataError(f"dataset '{dataset.name}' leaves no training samples")
    pre = Preprocessing(
        inputs={name: Standardization(mean=stats[f][0].tolist(), std=stats[f][1].tolist())
                for name, f in binding.inputs.items() if f in stats},
        classes={out: list(dataset.field(f).classes or ()) for out, f in binding.targets.items()
                 if dataset.field(f).classes},
        dataset=dataset.name,
        pipeline=pipeline,
    )
    return PreparedData(train_split, take(val_idx), take(test_idx), binding, pre, dataset.name,
                        {f.name: f for f in dataset.fields})


def from_arrays(x: np.ndarray | dict[str, np.ndarray] | list[np.ndarray],
                y: np.ndarray | dict[str, np.ndarray] | list[np.ndarray] | None,
                compiled: CompiledGraph) -> Dataset:
    """Wrap user arrays (the Keras-style API) as a dataset whose fields are the graph's names."""
    def named(value: object, names: list[str], what: str) -> dict[str, np.ndarray]:
        if isinstance(value, dict):
            return {k: np.asarray(v) for k, v in value.items()}
        if isinstance(value, list | tuple) and len(names) > 1:
            if len(value) != len(names):
                raise DataError(f"expected {len(names)} {what} arrays ({', '.join(names)}), got {len(value)}")
            return {n: np.asarray(v) for n, v in zip(names, value, strict=True)}
        return {names[0]: np.asarray(value)}

    xs = named(x, compiled.input_names, "input")
    ys = named(y, compiled.output_names, "target") if y is not None else {}
    fields, arrays = [], {}
    for name, arr in xs.items():
        spec = compiled.inputs.get(name)
        dtype = spec.dtype if spec else ("int64" if arr.dtype.kind in "iu" else "float32")
        arr = arr.astype(np.int64 if dtype == "int64" else np.float32)
        fields.append(FieldSpec(name, tuple(arr.shape[1:]), dtype, "input"))
        arrays[name] = arr
    for name, arr in ys.items():
        dtype = "int64" if arr.dtype.kind in "iu" else "float32"
        arr = arr.astype(np.int64 if dtype == "int64" else np.float32)
        classes = (tuple(str(i) for i in range(int(arr.max()) + 1))
                   if dtype == "int64" and arr.ndim == 1 and len(arr) else None)
        fields.append(FieldSpec(name, tuple(arr.shape[1:]), dtype, "target", classes))
        arrays[name] = arr
    sizes = {len(a) for a in arrays.values()}
    if len(sizes) > 1:
        raise DataError(f"arrays have different numbers of samples: {sorted(sizes)}")
    return Dataset("arrays", "arrays passed from Python", "custom", fields, arrays)
