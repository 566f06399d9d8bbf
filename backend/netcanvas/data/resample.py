"""A run trained on a recorded sample of its training split: how ensemble members see the data.

A run's dataset spec may carry ``"resample": {"split_seed": S, "indices": [...]}``:

- ``split_seed`` seeds the train / validation / test split instead of the config's ``seed`` (which still seeds
  the initial weights and the shuffling). Members of one ensemble have different seeds but one split, so that
  no member ever trains on the test samples the ensemble is scored on.
- ``indices`` are positions in the training split (after the test and validation samples are held out), repeats
  allowed: a bootstrap sample (bagging), a weighted resample (boosting) or the training folds of a K-fold
  split (stacking). They are applied after every statistic was fit (standardization, an upload's pipeline), so
  every member standardizes its inputs the same way and one combined model takes the same inputs as each.
"""

from __future__ import annotations

from typing import Any

import torch

from .prepare import DataError, PreparedData


def split_seed(dataset: dict[str, Any], seed: int) -> int:
    """The seed of the run's splits: the resample's ``split_seed`` when there is one, else the config's seed."""
    spec = dataset.get("resample")
    if isinstance(spec, dict) and isinstance(spec.get("split_seed"), int):
        return int(spec["split_seed"])
    return seed


def resample(data: PreparedData, dataset: dict[str, Any]) -> PreparedData:
    """``data`` with its training split replaced by the recorded sample; unchanged without one. A sample that
    does not fit the training split is a DataError naming ``dataset.resample.indices``."""
    spec = dataset.get("resample")
    if spec is None:
        return data
    indices = spec.get("indices") if isinstance(spec, dict) else None
    if not isinstance(indices, list) or not indices or not all(isinstance(i, int) for i in indices):
        raise DataError("dataset.resample.indices: give a non-empty list of positions in the training split")
    size = len(next(iter(data.train.values())))
    index = torch.tensor(indices, dtype=torch.int64)
    if int(index.min()) < 0 or int(index.max()) >= size:
        raise DataError(f"dataset.resample.indices: positions must lie in [0, {size - 1}] (the training split has "
                        f"{size} samples); got {int(index.min())}..{int(index.max())}")
    data.train = {name: values[index] for name, values in data.train.items()}
    return data
