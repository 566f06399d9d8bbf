"""Built-in datasets, splits, standardization and binding."""

import math

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
    assert prepared.val is not None
    assert not torch.allclose(prepared.val["x"].mean(0), torch.zeros(4), atol=1e-3)
    stats = prepared.preprocessing.inputs["x"]
    assert isinstance(stats.mean, list) and len(stats.mean) == 4
    assert prepared.preprocessing.classes["y"] == ["setosa", "versicolor", "virginica"]


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
    with pytest.raises(data.DataError,
                       match=r"Input 'x' expects \[5\] float32 but dataset 'iris' field 'x' is \[4\]"):
        data.prepare(data.load("iris"), compiled)


def test_text_dataset_is_padded_token_ids() -> None:
    ds = data.load("text")
    assert ds.arrays["x"].dtype == np.int64 and ds.vocabulary and ds.vocabulary[0] == "<pad>"
    assert (ds.arrays["x"] == 0).any() and ds.arrays["x"].max() < len(ds.vocabulary)


@pytest.mark.parametrize("name", ["moons", "circles", "spirals", "blobs", "sequences", "timeseries", "text",
                                  "multi_io"])
def test_generated_datasets_are_seeded(name: str) -> None:
    a, b = data.LOADERS[name](), data.LOADERS[name]()
    assert all(np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays)


def test_shapes_of_the_spec_datasets() -> None:
    digits = data.load("digits")
    assert digits.field("x").shape == (1, 8, 8) and len(digits.field("y").classes or ()) == 10
    assert digits.arrays["x"].min() >= 0.0 and digits.arrays["x"].max() <= 1.0
    assert data.load("linnerud").field("y").shape == (3,) and data.load("diabetes").task == "regression"
    assert data.load("sequences").field("x").shape == (40, 1)
    series = data.load("timeseries")
    assert series.field("x").shape == (32, 1) and series.field("y").shape == (1,)
    multi = data.load("multi_io")
    assert [f.name for f in multi.inputs()] == ["x_a", "x_b"]
    assert [f.name for f in multi.targets()] == ["y_class", "y_value"]


def test_test_split_is_fixed_and_validation_split_optional() -> None:
    y = data.load("digits").arrays["y"]
    train, val, test = data.split_indices(len(y), 0, 0.0, y)
    assert len(val) == 0 and len(test) == math.ceil(len(y) * data.TEST_SPLIT)
    assert len(train) + len(test) == len(y)
    _, _, test2 = data.split_indices(len(y), 0, 0.3, y)
    assert np.array_equal(test, test2)  # the validation split never moves the test set
    values = data.load("diabetes").arrays["y"]
    a = data.split_indices(len(values), 0, 0.2, None)
    assert len(a[2]) == math.ceil(len(values) * 0.2)


def test_the_catalog_describes_fields_and_samples_are_plain_lists() -> None:
    entries = {e["name"]: e for e in data.catalog_entries()}
    iris = entries["iris"]
    assert iris["task"] == "classification" and iris["size"] == 150
    assert iris["fields"][1] == {"name": "y", "shape": [], "dtype": "int64", "role": "target",
                                 "classes": ["setosa", "versicolor", "virginica"], "doc": "class index"}
    assert isinstance(iris["samples"]["x"][0][0], float) and isinstance(iris["samples"]["y"][0], int)
    assert entries["text"]["vocabulary_size"] == len(data.load("text").vocabulary or [])


def test_single_input_and_output_bind_automatically_whatever_their_names() -> None:
    compiled = compile_graph(chain([4], ("Linear", {"out_features": 3}), input_id="features",
                                   output_id="species"))
    binding = data.bind(compiled, data.load("iris"))
    assert binding.inputs == {"features": "x"} and binding.targets == {"species": "y"}


def test_an_output_named_after_an_input_field_reconstructs_it() -> None:
    compiled = compile_graph(chain([4], ("Linear", {"out_features": 2}), ("Linear", {"out_features": 4}),
                                   input_id="features", output_id="x"))
    prepared = data.prepare(data.load("iris"), compiled)
    assert prepared.binding.targets == {"x": "x"}
    inputs, targets = prepared.inputs(prepared.train), prepared.targets(prepared.train)
    assert torch.equal(inputs[0], targets["x"])  # the same standardized values


def test_several_inputs_bind_by_name_and_errors_list_the_fields() -> None:
    graph = {"nodes": [{"id": "x_a", "type": "Input", "params": {"shape": [8]}},
                       {"id": "x_b", "type": "Input", "params": {"shape": [4]}},
                       {"id": "cat", "type": "Concat"},
                       {"id": "fc", "type": "Linear", "params": {"out_features": 3}},
                       {"id": "label", "type": "Output"}],
             "edges": [{"source": "x_a", "target": "cat"}, {"source": "x_b", "target": "cat"},
                       {"source": "cat", "target": "fc"}, {"source": "fc", "target": "label"}]}
    compiled = compile_graph(graph)
    with pytest.raises(data.DataError, match=r"Output 'label' matches no field of dataset 'multi_io' "
                                             r"\(fields: x_a, x_b, y_class, y_value\)"):
        data.bind(compiled, data.load("multi_io"))
    binding = data.bind(compiled, data.load("multi_io"), {"label": "y_class"})
    assert binding.inputs == {"x_a": "x_a", "x_b": "x_b"} and binding.targets == {"label": "y_class"}


def test_user_arrays_become_a_dataset_named_after_the_graph() -> None:
    compiled = compile_graph(mlp(4, 3))
    x, y = np.random.default_rng(0).normal(size=(50, 4)), np.arange(50) % 3
    dataset = data.from_arrays(x, y, compiled)
    assert dataset.arrays["x"].dtype == np.float32 and dataset.field("y").classes == ("0", "1", "2")
    prepared = data.prepare(dataset, compiled, validation_split=0.2, test_split=0.0)
    assert prepared.test is None and prepared.val is not None and len(prepared.val["x"]) == 10
    assert sorted(np.bincount(prepared.val["y"].numpy()).tolist()) == [3, 3, 4]  # stratified
    with pytest.raises(data.DataError, match="different numbers of samples"):
        data.from_arrays(x, y[:40], compiled)


def test_user_arrays_for_several_inputs_and_outputs() -> None:
    graph = {"nodes": [{"id": "a", "type": "Input", "params": {"shape": [2]}},
                       {"id": "b", "type": "Input", "params": {"shape": [3]}},
                       {"id": "cat", "type": "Concat"},
                       {"id": "c", "type": "Linear", "params": {"out_features": 2}},
                       {"id": "v", "type": "Linear", "params": {"out_features": 1}},
                       {"id": "cls", "type": "Output"}, {"id": "val", "type": "Output"}],
             "edges": [{"source": "a", "target": "cat"}, {"source": "b", "target": "cat"},
                       {"source": "cat", "target": "c"}, {"source": "cat", "target": "v"},
                       {"source": "c", "target": "cls"}, {"source": "v", "target": "val"}]}
    compiled = compile_graph(graph)
    rng = np.random.default_rng(0)
    dataset = data.from_arrays([rng.normal(size=(20, 2)), rng.normal(size=(20, 3))],
                               {"cls": np.arange(20) % 2, "val": rng.normal(size=(20, 1))}, compiled)
    binding = data.bind(compiled, dataset)
    assert binding.inputs == {"a": "a", "b": "b"} and binding.targets == {"cls": "cls", "val": "val"}
    with pytest.raises(data.DataError, match=r"expected 2 input arrays \(a, b\), got 1"):
        data.from_arrays([rng.normal(size=(20, 2))], None, compiled)
