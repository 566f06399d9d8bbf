"""The pure training loop: losses fall, runs reproduce, failures are clear."""

from typing import Any

import pytest
import torch

from helpers import chain, mlp
from netcanvas import data
from netcanvas.compiler import compile_graph
from netcanvas.training import TrainConfig, train
from netcanvas.training.config import METRICS, OPTIMIZERS
from netcanvas.training.events import Event


def run(graph: dict[str, Any], dataset: str, seed: int = 0, **config: Any) -> tuple[Any, list[Event]]:
    torch.manual_seed(seed)
    compiled = compile_graph(graph)
    cfg = TrainConfig.model_validate({"epochs": 3, "batch_size": 32, "seed": seed, **config})
    prepared = data.prepare(data.load(dataset), compiled, seed=seed, validation_split=cfg.validation_split)
    events: list[Event] = []
    result = train(compiled, prepared, cfg, events.append)
    return result, events


def losses(result: Any) -> list[float]:
    return [h["metrics"]["loss"] for h in result.history]


@pytest.mark.parametrize("optimizer", [o.model_fields["type"].default for o in OPTIMIZERS])
def test_every_optimizer_lowers_the_loss(optimizer: str) -> None:
    lr = {"adadelta": 1.0, "sgd": 0.1, "momentum": 0.05, "adagrad": 0.1}.get(optimizer, 0.01)
    result, _ = run(mlp(4, 3), "iris", optimizer={"type": optimizer, "lr": lr}, epochs=8, batch_size=16)
    assert result.status == "completed"
    assert losses(result)[-1] < losses(result)[0]


@pytest.mark.parametrize("loss,final", [("sparse_categorical_crossentropy", None),
                                        ("sparse_categorical_crossentropy", "Softmax"),
                                        ("sparse_categorical_crossentropy", "LogSoftmax"),
                                        ("categorical_crossentropy", None), ("categorical_crossentropy", "Softmax"),
                                        ("CrossEntropyLoss", None)])
def test_classification_losses_with_and_without_final_activation(loss: str, final: str | None) -> None:
    result, _ = run(mlp(4, 3, final=final), "iris", loss=loss, optimizer={"type": "adam", "lr": 0.02}, epochs=15,
                    batch_size=16, metrics=["accuracy"])
    assert result.status == "completed"
    assert result.metrics["val_accuracy"] >= 0.85


@pytest.mark.parametrize("final", [None, "Sigmoid"])
def test_binary_crossentropy(final: str | None) -> None:
    result, _ = run(mlp(30, 1, final=final), "breast_cancer", loss="binary_crossentropy",
                    optimizer={"type": "adam", "lr": 0.01}, epochs=10, metrics=["accuracy", "auc_roc", "f1"])
    assert result.metrics["val_accuracy"] > 0.9
    assert result.metrics["val_auc_roc"] > 0.95


@pytest.mark.parametrize("loss", ["mse", "mae", "huber", "MSELoss", "L1Loss"])
def test_regression_losses(loss: str) -> None:
    graph = chain([10], ("Linear", {"out_features": 16}), ("ReLU", {}), ("Linear", {"out_features": 1}))
    result, _ = run(graph, "diabetes", loss=loss, metrics=["mse", "mae"], optimizer={"type": "adam", "lr": 0.01},
                    epochs=10, batch_size=16)
    assert losses(result)[-1] < losses(result)[0]
    assert {"mse", "mae", "val_mse", "val_mae"} <= set(result.metrics)


def test_every_metric_is_reported_for_train_and_validation() -> None:
    result, events = run(mlp(4, 3), "iris", metrics=list(METRICS), epochs=2)
    epoch = [e for e in events if e.type == "epoch"][-1]
    for m in METRICS:
        assert m in epoch.metrics and f"val_{m}" in epoch.metrics  # type: ignore[union-attr]
    assert set(result.test_metrics) >= {"test_loss", "test_accuracy"}


def test_events_arrive_in_order_and_end_with_done() -> None:
    _, events = run(mlp(4, 3), "iris", epochs=3)
    kinds = [e.type for e in events]
    assert kinds[0] == "status" and kinds[-1] == "done"
    assert kinds.count("epoch") == 3
    assert events[-1].status == "completed"  # type: ignore[union-attr]


def test_same_seed_same_metrics() -> None:
    a, _ = run(mlp(4, 3), "iris", seed=7, epochs=4)
    b, _ = run(mlp(4, 3), "iris", seed=7, epochs=4)
    c, _ = run(mlp(4, 3), "iris", seed=8, epochs=4)
    assert a.history == [{**h, "seconds": a.history[i]["seconds"]} for i, h in enumerate(b.history)]
    assert a.metrics != c.metrics


def test_nan_loss_fails_naming_epoch_and_step() -> None:
    graph = chain([10], ("Linear", {"out_features": 1}))
    result, events = run(graph, "diabetes", loss="mse", metrics=["mse"], optimizer={"type": "sgd", "lr": 10.0},
                         epochs=20)
    assert result.status == "failed"
    assert "epoch" in result.error and "step" in result.error
    assert events[-1].type == "done" and any(e.type == "error" for e in events)


def test_early_stopping_restores_best_weights() -> None:
    result, events = run(mlp(4, 3), "iris", optimizer={"type": "adam", "lr": 0.5}, epochs=40,
                         early_stopping={"monitor": "val_loss", "patience": 1, "restore_best_weights": True})
    assert len(result.history) < 40
    assert any(e.type == "log" and "early stopping" in e.message for e in events)  # type: ignore[union-attr]
    best = min(h["metrics"]["val_loss"] for h in result.history)
    assert result.history[result.best_epoch - 1]["metrics"]["val_loss"] == best


def test_should_stop_ends_stopped_with_best_weights() -> None:
    torch.manual_seed(0)
    compiled = compile_graph(mlp(4, 3))
    cfg = TrainConfig(epochs=100, batch_size=8)
    prepared = data.prepare(data.load("iris"), compiled)
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 40

    result = train(compiled, prepared, cfg, lambda e: None, stop)
    assert result.status == "stopped"
    assert result.best_state is not None and result.history


def test_l1_l2_penalties_skip_biases() -> None:
    from netcanvas.training.loop import regularized

    compiled = compile_graph(mlp(4, 3))
    names = [n for n, p in compiled.module.named_parameters() if any(p is q for q in regularized(compiled.module))]
    assert names and all(n.endswith("weight") for n in names)
    result, _ = run(mlp(4, 3), "iris", regularization={"l1": 0.001, "l2": 0.01}, epochs=3)
    assert result.status == "completed"


def test_multi_input_multi_output() -> None:
    graph = {"nodes": [
        {"id": "x_a", "type": "Input", "params": {"shape": [8]}},
        {"id": "x_b", "type": "Input", "params": {"shape": [4]}},
        {"id": "cat", "type": "Concat"}, {"id": "h", "type": "Linear", "params": {"out_features": 32}},
        {"id": "r", "type": "ReLU"}, {"id": "c", "type": "Linear", "params": {"out_features": 3}},
        {"id": "v", "type": "Linear", "params": {"out_features": 1}},
        {"id": "y_class", "type": "Output"}, {"id": "value", "type": "Output", "params": {"name": "y_value"}}],
        "edges": [{"source": "x_a", "target": "cat"}, {"source": "x_b", "target": "cat"},
                  {"source": "cat", "target": "h"},
                  {"source": "h", "target": "r"}, {"source": "r", "target": "c"}, {"source": "r", "target": "v"},
                  {"source": "c", "target": "y_class"}, {"source": "v", "target": "value"}]}
    result, _ = run(graph, "multi_io", epochs=6, optimizer={"type": "adam", "lr": 0.01},
                    loss={"y_class": "sparse_categorical_crossentropy", "y_value": {"type": "mse", "weight": 0.5}},
                    metrics={"y_class": ["accuracy"], "y_value": ["mae"]})
    assert result.status == "completed"
    expected = {"y_class_loss", "y_value_loss", "y_class_accuracy", "y_value_mae", "val_y_class_accuracy"}
    assert expected <= set(result.metrics)
    assert losses(result)[-1] < losses(result)[0]


def test_autoencoder_reconstructs_its_input() -> None:
    graph = chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": 16}), ("ReLU", {}),
                  ("Linear", {"out_features": 64}), ("Sigmoid", {}), ("Reshape", {"shape": [1, 8, 8]}), output_id="x")
    graph["nodes"][0]["id"] = "img"
    graph["edges"][0]["source"] = "img"
    result, _ = run(graph, "digits", loss="mse", metrics=["mae"], epochs=5)
    assert result.status == "completed"
    assert losses(result)[-1] < losses(result)[0]


def test_lenet_reaches_95_percent_on_digits() -> None:
    graph = chain([1, 8, 8], ("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
                  ("MaxPool2d", {"kernel_size": 2}), ("Conv2d", {"out_channels": 32, "kernel_size": 3, "padding": 1}),
                  ("ReLU", {}), ("Flatten", {}), ("Linear", {"out_features": 64}), ("ReLU", {}),
                  ("Linear", {"out_features": 10}))
    result, _ = run(graph, "digits", epochs=15, optimizer={"type": "adam", "lr": 0.003})
    assert max(h["metrics"]["val_accuracy"] for h in result.history) >= 0.95


def test_runtime_error_names_the_node() -> None:
    from netcanvas.training.loop import TrainingError, locate_failure

    compiled = compile_graph(mlp(4, 3))
    error = locate_failure(compiled, [torch.zeros(2, 5)], RuntimeError("x"))
    assert isinstance(error, TrainingError) and error.node == "n0"
    assert str(error).startswith("Linear 'n0':")


def test_target_shape_mismatch_is_a_clear_error() -> None:
    result, _ = run(mlp(4, 3), "iris", loss="mse", metrics=["mse"], epochs=1)
    assert result.status == "failed"
    assert "output 'y'" in result.error and "[3]" in result.error
