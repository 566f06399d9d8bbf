"""Built-in datasets, splits, standardization and binding."""

import numpy as np
import pytest
import torch

from helpers import chain, mlp
from netcanvas import data
from netcanvas.compiler import compile_graph


@pytest.mark.parametrize("name", list(data.LOADERS))
def test_every_dataset_describes_its_fields(name: str) -> None:
    ds = data.load(name)
    assert ds.doc and ds.size > 0 and ds.inputs() and ds.targets()
    for f in ds.fields:
        arr = ds.arrays[f.name]
        assert arr.shape == (ds.size, *f.shape)
        assert str(arr.dtype) == f.dtype
        if f.classes:
            assert arr.max() < len(f.classes)


def test_catalog_entries_list_every_dataset_with_samples() -> None:
    entries = data.catalog_entries()
    assert {e["name"] for e in entries} == set(data.LOADERS)
    digits = next(e for e in entries if e["name"] == "digits")
    assert digits["fields"][0]["shape"] == [1, 8, 8]
    assert np.asarray(digits["samples"]["x"]).shape[1:] == (1, 8, 8)


def test_splits_are_seeded_and_stratified() -> None:
    y = data.load("iris").arrays["y"]
    a = data.split_indices(len(y), 0, 0.2, y)
    b = data.split_indices(len(y), 0, 0.2, y)
    c = data.split_indices(len(y), 1, 0.2, y)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    train, val, test = a
    assert len(set(train) | set(val) | set(test)) == len(y) and len(test) == 30
    assert np.bincount(y[test]).tolist() == [10, 10, 10]


def test_standardization_uses_training_statistics_only() -> None:
    compiled = compile_graph(mlp(4, 3))
    prepared = data.prepare(data.load("iris"), compiled, seed=0, validation_split=0.2)
    x = prepared.train["x"]
    assert torch.allclose(x.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(x.std(0, unbiased=False), torch.ones(4), atol=1e-4)
    assert prepared.val is not None and not torch.allclose(prepared.val["x"].mean(0), torch.zeros(4), atol=1e-3)
    stats = prepared.preprocessing.inputs["x"]
    assert len(stats.mean) == 4 and prepared.preprocessing.classes["y"] == ["setosa", "versicolor", "virginica"]


def test_binding_errors_name_the_graph_node_and_the_fields() -> None:
    graph = chain([8], ("Linear", {"out_features": 3}), input_id="pixels")
    graph["nodes"].insert(1, {"id": "other", "type": "Input", "params": {"shape": [4]}})
    graph["nodes"].insert(2, {"id": "cat", "type": "Concat", "params": {"dim": 1}})
    graph["edges"] = [{"source": "pixels", "target": "cat"}, {"source": "other", "target": "cat"},
                      {"source": "cat", "target": "n0"}, {"source": "n0", "target": "y"}]
    graph["nodes"][3]["params"] = {"out_features": 3}
    compiled = compile_graph(graph)
    with pytest.raises(data.DataError, match="Input 'pixels' matches no field of dataset 'iris'"):
        data.bind(compiled, data.load("iris"))


def test_shape_mismatch_between_input_and_field_is_explained() -> None:
    compiled = compile_graph(mlp(5, 3))
    with pytest.raises(data.DataError, match=r"Input 'x' expects \[5\] float32 but dataset 'iris' field 'x' is \[4\]"):
        data.prepare(data.load("iris"), compiled)


def test_text_dataset_is_padded_token_ids() -> None:
    ds = data.load("text")
    assert ds.arrays["x"].dtype == np.int64 and ds.vocabulary and ds.vocabulary[0] == "<pad>"
    assert (ds.arrays["x"] == 0).any() and ds.arrays["x"].max() < len(ds.vocabulary)
