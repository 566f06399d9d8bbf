"""Uploaded datasets through the pipeline: no statistic leaks from validation or test rows into training,
seeded and stratified splits, raw rows and texts through the recorded pipeline."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from helpers import chain
from netcanvas.compiler import compile_graph
from netcanvas.data.fit import prepare_upload
from netcanvas.data.options import Pipeline
from netcanvas.data.pipeline import raw_input
from netcanvas.data.uploads import DatasetStore


def store_with(tmp_path: Path, name: str, content: bytes) -> tuple[DatasetStore, str]:
    store = DatasetStore(tmp_path / "datasets")
    return store, store.add(io.BytesIO(content), name)["id"]


def mlp(features: int, classes: int = 2) -> dict[str, object]:
    return chain([features], ("Linear", {"out_features": classes}))


def numbers_csv(rows: int = 200) -> bytes:
    rng = np.random.default_rng(1)
    lines = ["v,colour,label"]
    for i in range(rows):
        # the values grow with the row number: a mean over all rows differs from the training rows' mean
        v = "" if i % 10 == 0 else f"{i + rng.normal():.3f}"
        lines.append(f"{v},{['red', 'blue'][i % 2]},{'a' if i % 4 else 'b'}")
    return ("\n".join(lines) + "\n").encode()


def test_statistics_come_from_the_training_split_only(tmp_path: Path) -> None:
    store, did = store_with(tmp_path, "n.csv", numbers_csv())
    data = prepare_upload(store, {"id": did, "target": "label"}, compile_graph(mlp(3)), seed=3, validation_split=0.25)
    pipe = Pipeline.model_validate(data.preprocessing.pipeline)
    step = next(c for c in pipe.columns if c.column == "v")
    # undo the standardization of the training rows: their raw values, missing ones imputed with the training mean
    raw_train = data.train["x"][:, 0].numpy() * step.std + step.mean
    assert step.mean == pytest.approx(float(raw_train.mean()), rel=1e-4)
    assert step.impute == pytest.approx(step.mean)
    everything = np.array([i for i in range(200) if i % 10], dtype=float)
    assert abs(step.mean - everything.mean()) > 1e-3  # not the mean of all rows
    train_x = data.train["x"][:, 0].numpy()
    assert train_x.mean() == pytest.approx(0, abs=1e-5) and train_x.std() == pytest.approx(1, abs=1e-3)
    assert data.val is not None and abs(float(data.val["x"][:, 0].mean())) > 1e-4  # held-out rows are not re-fit


def test_the_text_vocabulary_is_trained_on_training_rows_only(tmp_path: Path) -> None:
    rows = [f"common words here {'zebra' if i == 7 else 'cat'},{'p' if i % 2 else 'n'}" for i in range(40)]
    store, did = store_with(tmp_path, "t.csv", ("review,label\n" + "\n".join(rows)).encode())
    graph = chain([64], ("Embedding", {"num_embeddings": 50, "embedding_dim": 4}), ("Flatten", {}),
                  ("Linear", {"out_features": 2}), dtype="int64", input_id="review")
    for seed in range(10):
        data = prepare_upload(store, {"id": did}, compile_graph(graph), seed=seed, validation_split=0.2)
        pipe = Pipeline.model_validate(data.preprocessing.pipeline)
        vocab = pipe.text[0].tokenizer_json
        in_train = data.train["review"].shape[0]
        has_zebra = '"zebra"' in vocab
        # row 7 alone has 'zebra': the vocabulary has it only when row 7 is a training row
        assert in_train < 40
        ids = raw_input(data.preprocessing.pipeline, "review", "zebra cat")
        assert ids is not None and ids.shape == (1, 64)
        assert (ids[0, 0] != 1) == has_zebra  # 1 is [UNK]
        if not has_zebra:  # row 7 was held out: its word stayed unknown
            return
    pytest.fail("row 7 was in the training split for every seed")


def test_splits_are_seeded_stratified_and_follow_the_fractions(tmp_path: Path) -> None:
    store, did = store_with(tmp_path, "n.csv", numbers_csv())
    graph = compile_graph(mlp(3))
    one = prepare_upload(store, {"id": did, "test_split": 0.3}, graph, seed=5, validation_split=0.1)
    two = prepare_upload(store, {"id": did, "test_split": 0.3}, graph, seed=5, validation_split=0.1)
    other = prepare_upload(store, {"id": did, "test_split": 0.3}, graph, seed=6, validation_split=0.1)
    assert one.test is not None and two.test is not None and other.test is not None
    assert np.array_equal(one.test["x"].numpy(), two.test["x"].numpy())
    assert not np.array_equal(one.test["x"].numpy(), other.test["x"].numpy())
    splits = Pipeline.model_validate(one.preprocessing.pipeline).splits
    assert splits is not None and (splits.train, splits.validation, splits.test) == (126, 14, 60)
    # stratified: label 'b' is a quarter of every split
    for part in (one.train, one.test):
        labels = part["label"].numpy()
        assert abs(float((labels == 1).mean()) - 0.25) < 0.03


def test_raw_rows_go_through_the_recorded_pipeline(tmp_path: Path) -> None:
    store, did = store_with(tmp_path, "n.csv", numbers_csv())
    data = prepare_upload(store, {"id": did}, compile_graph(mlp(3)), seed=0, validation_split=0.2)
    pipe = data.preprocessing.pipeline
    assert pipe is not None
    step = next(c for c in Pipeline.model_validate(pipe).columns if c.column == "v")
    row = raw_input(pipe, "x", {"v": 50, "colour": "blue"})
    assert row is not None and row.shape == (1, 3)
    assert row[0, 0] == pytest.approx((50 - step.mean) / step.std, rel=1e-5)
    assert row[0, 1:].tolist() == [1.0, 0.0]  # blue, red: one-hot in the file's category order
    unseen = raw_input(pipe, "x", [{"v": None, "colour": "green"}])
    assert unseen is not None and unseen[0].tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)
    assert raw_input(pipe, "x", [[1.0, 0.0, 1.0]]) is None  # numbers are the model's tensor already
