"""Every built-in dataset trains: a small suitable graph's loss falls and it beats chance."""

from typing import Any

import pytest
import torch

from helpers import chain
from netcanvas import data
from netcanvas.compiler import compile_graph
from netcanvas.training import TrainConfig, train

Layers = list[tuple[str, dict[str, Any]]]


def dense(classes: int) -> Layers:
    return [("Linear", {"out_features": 32}), ("ReLU", {}), ("Linear", {"out_features": classes})]


MULTI_IO = {"nodes": [
    {"id": "x_a", "type": "Input", "params": {"shape": [8]}},
    {"id": "x_b", "type": "Input", "params": {"shape": [4]}},
    {"id": "cat", "type": "Concat"}, {"id": "h", "type": "Linear", "params": {"out_features": 32}},
    {"id": "r", "type": "ReLU"}, {"id": "c", "type": "Linear", "params": {"out_features": 3}},
    {"id": "v", "type": "Linear", "params": {"out_features": 1}},
    {"id": "y_class", "type": "Output"}, {"id": "y_value", "type": "Output"}],
    "edges": [{"source": "x_a", "target": "cat"}, {"source": "x_b", "target": "cat"},
              {"source": "cat", "target": "h"},
              {"source": "h", "target": "r"}, {"source": "r", "target": "c"}, {"source": "r", "target": "v"},
              {"source": "c", "target": "y_class"}, {"source": "v", "target": "y_value"}]}

CLASSIFY = {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
REGRESS = {"loss": "mse", "metrics": ["mae"]}
# dataset -> (graph, config, (metric, better than))
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], tuple[str, float]]] = {
    "iris": (chain([4], *dense(3)), CLASSIFY, ("val_accuracy", 0.7)),
    "wine": (chain([13], *dense(3)), CLASSIFY, ("val_accuracy", 0.7)),
    "breast_cancer": (chain([30], *dense(2)), CLASSIFY, ("val_accuracy", 0.85)),
    "digits": (chain([1, 8, 8], ("Flatten", {}), *dense(10)), CLASSIFY, ("val_accuracy", 0.7)),
    "digits_0_4": (chain([1, 8, 8], ("Flatten", {}), *dense(5)), CLASSIFY, ("val_accuracy", 0.7)),
    "digits_5_9": (chain([1, 8, 8], ("Flatten", {}), *dense(5)), CLASSIFY, ("val_accuracy", 0.7)),
    "diabetes": (chain([10], *dense(1)), REGRESS, ("val_loss", 0.45)),  # the target's variance is 0.59
    "linnerud": (chain([3], *dense(3)), {**REGRESS, "epochs": 30, "batch_size": 4},  # 20 rows
                 ("val_loss", 0.3)),
    "moons": (chain([2], *dense(2)), CLASSIFY, ("val_accuracy", 0.8)),
    "circles": (chain([2], *dense(2)), CLASSIFY, ("val_accuracy", 0.6)),
    "spirals": (chain([2], *dense(3)), CLASSIFY, ("val_accuracy", 0.4)),
    "blobs": (chain([2], *dense(4)), CLASSIFY, ("val_accuracy", 0.7)),
    "sequences": (chain([40, 1], ("GRU", {"hidden_size": 24}), ("Linear", {"out_features": 10})), CLASSIFY,
                  ("val_accuracy", 0.2)),
    "timeseries": (chain([32, 1], ("Flatten", {}), *dense(1)), REGRESS, ("val_loss", 0.3)),
    "text": (chain([24], ("Embedding", {"num_embeddings": 64, "embedding_dim": 16, "padding_idx": 0}),
                   ("Mean", {"dim": 1}), *dense(3), dtype="int64"), CLASSIFY, ("val_accuracy", 0.5)),
    "multi_io": (MULTI_IO, {"loss": {"y_class": "sparse_categorical_crossentropy", "y_value": "mse"},
                            "metrics": {"y_class": ["accuracy"], "y_value": ["mae"]}},
                 ("val_y_class_accuracy", 0.5)),
}


def test_every_dataset_has_a_case() -> None:
    assert set(CASES) == set(data.LOADERS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_falls_on_every_builtin_dataset(name: str) -> None:
    graph, config, (metric, bound) = CASES[name]
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    cfg = TrainConfig.model_validate({"optimizer": {"type": "adam", "lr": 0.01}, "epochs": 4,
                                      "batch_size": 32, **config})
    prepared = data.prepare(data.load(name), compiled, validation_split=cfg.validation_split)
    result = train(compiled, prepared, cfg, lambda e: None)
    assert result.status == "completed", result.error
    losses = [h["metrics"]["loss"] for h in result.history]
    assert losses[-1] < losses[0]
    value = result.metrics[metric]
    assert value > bound if "accuracy" in metric else value < bound
    assert set(result.test_metrics) >= {"test_loss"}
