"""NPZ archives of named arrays, read with ``np.load(allow_pickle=False)``: an object array is refused, never
unpickled. Every array is a field; all share their first (sample) axis."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UploadError
from .images import open_zip, safe_members


def read_npz(path: Path, name: str) -> dict[str, np.ndarray]:
    with open_zip(path, name) as archive:
        safe_members(archive, name)  # paths, member count and declared sizes first
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for key in npz.files:
                try:
                    arr = npz[key]
                except ValueError as e:
                    if "allow_pickle" in str(e) or "Object arrays" in str(e):
                        raise UploadError(f"{name}: member '{key}' is an object array; only numeric and boolean "
                                          "arrays are accepted (save it with a numeric dtype)") from None
                    raise UploadError(f"{name}: member '{key}' cannot be read: {e}") from None
                if arr.dtype.kind not in "biuf":
                    raise UploadError(f"{name}: member '{key}' has dtype {arr.dtype}; only numeric and boolean "
                                      "arrays are accepted")
                if arr.ndim == 0:
                    raise UploadError(f"{name}: member '{key}' is a scalar; every array needs a sample axis")
                arrays[key] = arr
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise UploadError(f"{name}: not a readable NPZ archive ({e})") from None
    if not arrays:
        raise UploadError(f"{name}: the archive holds no arrays")
    sizes = {k: len(v) for k, v in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise UploadError(f"{name}: arrays have different numbers of samples: "
                          + ", ".join(f"'{k}' {n}" for k, n in sizes.items()))
    return arrays


def describe_arrays(arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    out = []
    for key, arr in arrays.items():
        entry: dict[str, Any] = {"name": key, "dtype": "numeric", "shape": list(arr.shape[1:]),
                                 "array_dtype": str(arr.dtype), "missing": 0}
        if arr.dtype.kind == "f":
            entry["missing"] = int(np.count_nonzero(~np.isfinite(arr)))
        if arr.size:
            finite = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr
            if finite.size:
                entry.update(min=float(finite.min()), max=float(finite.max()), mean=float(finite.mean()))
        if arr.ndim == 1 and arr.dtype.kind in "biu":
            values, counts = np.unique(arr, return_counts=True)
            if len(values) <= 50:
                entry["classes"] = {str(v): int(c) for v, c in zip(values, counts, strict=True)}
        out.append(entry)
    return out


def default_target(arrays: dict[str, np.ndarray]) -> str:
    for key in ("y", "label", "labels", "target", "targets"):
        if key in arrays:
            return key
    return list(arrays)[-1]
