"""What the fast upload path must keep: the same splits as scikit-learn for a seed, numbers read from Arrow
without pyarrow's pandas conversion, missing targets dropped, the stored copy and its hash, descriptions of
Parquet's dictionary columns, a deterministic imputed category."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.model_selection import train_test_split

from helpers import chain
from netcanvas.compiler import compile_graph
from netcanvas.data import DataError, split_indices
from netcanvas.data.errors import UploadError
from netcanvas.data.fit import prepare_upload
from netcanvas.data.options import Pipeline
from netcanvas.data.pipeline import fit_categorical
from netcanvas.data.tables import describe_columns, read_table_cache, to_numpy, write_table_cache
from netcanvas.data.uploads import DatasetStore, cached_table, wait_for_cache


def sklearn_split(n: int, seed: int, validation_split: float, labels: np.ndarray | None,
                  test_split: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The splits as NetCanvas made them with scikit-learn's train_test_split (before they were made in numpy)."""
    def cut(pool: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
        if fraction <= 0 or len(pool) < 4:
            return pool, pool[:0]
        strata = labels[pool] if labels is not None else None
        if strata is not None:
            counts = np.unique(strata, return_counts=True)[1]
            if counts.min() < 2 or round(len(pool) * fraction) < len(counts):
                strata = None
        a, b = train_test_split(pool, test_size=fraction, random_state=seed, stratify=strata)
        return np.sort(a), np.sort(b)

    rest, test = cut(np.arange(n), test_split)
    train, val = cut(rest, validation_split)
    return train, val, test


@pytest.mark.parametrize("kind", ["codes", "strings", "skewed", "unstratified"])
def test_a_seed_splits_as_scikit_learn_did(kind: str) -> None:
    rng = np.random.default_rng(7)
    for n in (4, 9, 50, 333, 2001):
        for seed in (0, 1, 42):
            for validation_split, test_split in ((0.2, 0.2), (0.0, 0.2), (0.1, 0.5), (0.3, 0.0)):
                labels: np.ndarray | None = rng.integers(0, 3, n)
                if kind == "strings":
                    labels = np.array([f"class {v}" for v in rng.integers(0, 5, n)])
                elif kind == "skewed":  # rare classes: ties between class remainders are broken by the seed
                    labels = np.minimum(rng.geometric(0.4, n) - 1, 6)
                elif kind == "unstratified":
                    labels = None
                ours = split_indices(n, seed, validation_split, labels, test_split)
                theirs = sklearn_split(n, seed, validation_split, labels, test_split)
                for a, b in zip(ours, theirs, strict=True):
                    assert np.array_equal(a, b), (n, seed, validation_split, test_split)


def test_a_split_that_leaves_no_training_sample_is_refused() -> None:
    with pytest.raises(DataError, match="no training samples"):
        split_indices(4, 0, 0.0, None, 0.9)
    with pytest.raises(DataError, match="between 0 and 1"):
        split_indices(10, 0, 0.0, None, 1.0)


def test_to_numpy_reads_slices_nulls_and_booleans() -> None:
    numbers = pa.chunked_array([[1.5, None, 3.0], [4.0, 5.0]]).slice(1)
    assert np.array_equal(to_numpy(numbers, np.float64, missing=np.nan), [np.nan, 3.0, 4.0, 5.0], equal_nan=True)
    flags = pa.chunked_array([[True, False, None], [False, True]]).slice(2)
    assert to_numpy(flags, np.bool_, missing=True).tolist() == [True, False, True]
    assert to_numpy(pa.chunked_array([[3, 4], [5]], pa.int32()), np.int64).tolist() == [3, 4, 5]
    with pytest.raises(ValueError, match="missing values"):
        to_numpy(numbers, np.float64)


def test_an_upload_and_its_preparation_do_not_import_pandas(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,when,flag,label\n" + "".join(f"{i},{i % 7 if i % 5 else ''},2024-01-{i % 28 + 1:02d},"
                                                      f"{'true' if i % 3 else 'false'},{'xy'[i % 2]}\n"
                                                      for i in range(60)))
    code = f"""
import sys
import threading
from pathlib import Path
from netcanvas.compiler import compile_graph
from netcanvas.data.fit import prepare_upload
from netcanvas.data.uploads import DatasetStore, cached_table, wait_for_cache
graph = {chain([4], ("Linear", {"out_features": 2}))!r}
store = DatasetStore(Path({str(tmp_path / "store")!r}))
desc = store.add_path(Path({str(csv)!r}))
prepare_upload(store, {{"id": desc["id"]}}, compile_graph(graph), seed=0, validation_split=0.2)
print("pandas" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_rows_without_a_category_target_are_dropped(tmp_path: Path) -> None:
    lines = ["v,label"] + [f"{i},{'' if i % 5 == 0 else 'ab'[i % 2]}" for i in range(40)]
    store = DatasetStore(tmp_path / "datasets")
    did = store.add(io.BytesIO(("\n".join(lines) + "\n").encode()), "c.csv")["id"]
    data = prepare_upload(store, {"id": did}, compile_graph(chain([1], ("Linear", {"out_features": 2}))), seed=0,
                          validation_split=0.2)
    pipe = Pipeline.model_validate(data.preprocessing.pipeline)
    assert pipe.dropped == 8 and pipe.splits is not None
    assert pipe.splits.train + pipe.splits.validation + pipe.splits.test == 32


def test_add_path_stores_a_copy_and_its_hash(tmp_path: Path) -> None:
    source = tmp_path / "numbers.csv"
    source.write_bytes(b"x,y\n" + b"".join(b"%d,%d\n" % (i, i % 2) for i in range(1000)))
    store = DatasetStore(tmp_path / "datasets")
    desc = store.add_path(source)
    assert desc["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert store.original(desc["id"]).read_bytes() == source.read_bytes()
    assert store.add_path(source)["id"] == desc["id"]  # the same file again is reused
    assert not [p for p in store.root.iterdir() if p.name.startswith(".upload-")]
    big = tmp_path / "big.csv"
    big.write_bytes(b"a\n" * (600 * 1024))
    with pytest.raises(UploadError, match="larger than the 1 MB limit") as refused:
        DatasetStore(tmp_path / "small", max_upload_mb=1).add_path(big)
    assert refused.value.status == 413


def test_a_bad_file_added_by_path_leaves_nothing_behind(tmp_path: Path) -> None:
    source = tmp_path / "ragged.csv"
    source.write_text("a,b\n1,2\n3,4,5\n" * 3)
    store = DatasetStore(tmp_path / "datasets")
    with pytest.raises(UploadError, match="ragged.csv: line"):
        store.add_path(source)
    assert store.all() == [] and list(store.root.iterdir()) == []


def test_parquet_dictionary_columns_are_described(tmp_path: Path) -> None:
    table = pa.table({"colour": pa.array(["red", "blue", None, "red"]).dictionary_encode(),
                      "y": pa.array([1, 0, 1, 0])})
    pq.write_table(table, tmp_path / "d.parquet")
    desc = DatasetStore(tmp_path / "datasets").add_path(tmp_path / "d.parquet")
    colour = desc["columns"][0]
    assert colour["dtype"] == "categorical" and colour["missing"] == 1
    assert colour["classes"] == {"blue": 1, "red": 2}


def test_the_imputed_category_of_a_tie_is_the_first_in_order() -> None:
    values = ["b", "a", None, "b", "a"]
    for _ in range(3):
        step = fit_categorical("c", "categorical", values, np.arange(5), "onehot", ["a", "b"])
        assert step.impute == "a"


def test_add_path_streams_what_is_not_a_regular_file(tmp_path: Path) -> None:
    pipe = tmp_path / "rows.csv"
    os.mkfifo(pipe)
    writer = threading.Thread(target=pipe.write_bytes, args=(b"a,b\n1,x\n2,y\n3,x\n",))
    writer.start()
    desc = DatasetStore(tmp_path / "datasets").add_path(pipe)
    writer.join()
    assert desc["rows"] == 3 and desc["file"] == "rows.csv"


def test_number_summaries_read_in_place_match_numpy() -> None:
    rng = np.random.default_rng(3)
    parts = [rng.normal(5, 2, n) for n in (1000, 1, 2500)]
    whole = np.concatenate(parts)
    (plain,) = describe_columns(pa.table({"plain": pa.chunked_array(parts).slice(1)}))  # read in place
    odd, ints = describe_columns(pa.table({"odd": pa.chunked_array([[1.5, None, float("nan")], [float("inf"), -2.0]]),
                                           "ints": pa.chunked_array([[3, 1, 2], [2, 2]], pa.int64())}))
    assert plain["min"] == whole[1:].min() and plain["max"] == whole[1:].max() and plain["missing"] == 0
    assert plain["mean"] == pytest.approx(whole[1:].mean(), rel=1e-12)
    assert (odd["min"], odd["max"], odd["mean"], odd["missing"]) == (-2.0, 1.5, -0.25, 3)
    assert (ints["min"], ints["max"], ints["mean"]) == (1.0, 3.0, 2.0)


def test_the_table_cache_is_written_whole_after_the_upload_answers(tmp_path: Path) -> None:
    source = tmp_path / "numbers.csv"
    source.write_bytes(b"x,y\n" + b"".join(b"%d.5,%d\n" % (i, i % 2) for i in range(5000)))
    store = DatasetStore(tmp_path / "datasets")
    desc = store.add_path(source)
    directory = store.path(desc["id"])
    in_memory = cached_table(directory)  # the parsed table itself while its cache is written, or the cache file
    assert in_memory is not None and in_memory.num_rows == 5000
    wait_for_cache(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["description.json", "original.csv", "table.arrow"]
    from_file = read_table_cache(directory)
    assert from_file is not None and from_file.equals(in_memory)
    store.delete(desc["id"])
    assert store.all() == [] and list(store.root.iterdir()) == []


def test_a_failed_cache_write_leaves_no_partial_file(tmp_path: Path) -> None:
    table = pa.table({"x": [1.0, 2.0]})
    directory = tmp_path / "dataset"
    directory.mkdir()
    (directory / "table.arrow").mkdir()  # the rename onto it fails
    with pytest.raises(OSError):
        write_table_cache(table, directory)
    assert [p.name for p in directory.iterdir()] == ["table.arrow"]
