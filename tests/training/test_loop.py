"""The pure training loop: losses fall, runs reproduce, failures are clear."""

from typing import Any

import pytest
import torch

from helpers import chain, mlp
from netcanvas import data
from netcanvas.compiler import compile_graph
from netcanvas.training import TrainConfig, evaluate, predict, train
from netcanvas.training.config import METRICS, OPTIMIZERS
from netcanvas.training.events import DoneEvent, EpochEvent, Event


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
                                        ("categorical_crossentropy", None),
                                        ("categorical_crossentropy", "Softmax"),
                                        ("CrossEntropyLoss", None)])
def test_classification_losses_with_and_without_final_activation(loss: str, final: str | None) -> None:
    result, _ = run(mlp(4, 3, final=final), "iris", loss=loss, optimizer={"type": "adam", "lr": 0.02},
                    epochs=15, batch_size=16, metrics=["accuracy"])
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
    result, _ = run(graph, "diabetes", loss=loss, metrics=["mse", "mae"],
                    optimizer={"type": "adam", "lr": 0.01}, epochs=10, batch_size=16)
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
    result, events = run(graph, "diabetes", loss="mse", metrics=["mse"],
                         optimizer={"type": "sgd", "lr": 10.0}, epochs=20)
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
    penalized = regularized(compiled.module)
    names = [n for n, p in compiled.module.named_parameters() if any(p is q for q in penalized)]
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
        {"id": "y_class", "type": "Output"},
        {"id": "value", "type": "Output", "params": {"name": "y_value"}}],
        "edges": [{"source": "x_a", "target": "cat"}, {"source": "x_b", "target": "cat"},
                  {"source": "cat", "target": "h"},
                  {"source": "h", "target": "r"}, {"source": "r", "target": "c"},
                  {"source": "r", "target": "v"},
                  {"source": "c", "target": "y_class"}, {"source": "v", "target": "value"}]}
    result, _ = run(graph, "multi_io", epochs=6, optimizer={"type": "adam", "lr": 0.01},
                    loss={"y_class": "sparse_categorical_crossentropy",
                          "y_value": {"type": "mse", "weight": 0.5}},
                    metrics={"y_class": ["accuracy"], "y_value": ["mae"]})
    assert result.status == "completed"
    expected = {"y_class_loss", "y_value_loss", "y_class_accuracy", "y_value_mae", "val_y_class_accuracy"}
    assert expected <= set(result.metrics)
    assert losses(result)[-1] < losses(result)[0]


def test_autoencoder_reconstructs_its_input() -> None:
    graph = chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": 16}), ("ReLU", {}),
                  ("Linear", {"out_features": 64}), ("Sigmoid", {}), ("Reshape", {"shape": [1, 8, 8]}),
                  output_id="x")
    graph["nodes"][0]["id"] = "img"
    graph["edges"][0]["source"] = "img"
    result, _ = run(graph, "digits", loss="mse", metrics=["mae"], epochs=5)
    assert result.status == "completed"
    assert losses(result)[-1] < losses(result)[0]


def test_lenet_reaches_95_percent_on_digits() -> None:
    graph = chain([1, 8, 8], ("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
                  ("MaxPool2d", {"kernel_size": 2}),
                  ("Conv2d", {"out_channels": 32, "kernel_size": 3, "padding": 1}),
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


def test_dropout_runs_reproduce_whatever_the_global_random_state() -> None:
    graph = chain([4], ("Linear", {"out_features": 32}), ("ReLU", {}), ("Dropout", {"p": 0.5}),
                  ("Linear", {"out_features": 3}))
    a, _ = run(graph, "iris", seed=3, epochs=3)
    torch.rand(100)  # a different global random state must not matter
    b, _ = run(graph, "iris", seed=3, epochs=3)
    assert [h["metrics"] for h in a.history] == [h["metrics"] for h in b.history]
    assert a.test_metrics == b.test_metrics


def test_early_stopping_leaves_the_best_weights_in_the_model() -> None:
    torch.manual_seed(0)
    compiled = compile_graph(mlp(4, 3))
    cfg = TrainConfig.model_validate({"optimizer": {"type": "adam", "lr": 0.5}, "epochs": 40,
                                      "batch_size": 16,
                                      "early_stopping": {"monitor": "val_loss", "patience": 2}})
    prepared = data.prepare(data.load("iris"), compiled)
    result = train(compiled, prepared, cfg, lambda e: None)
    assert result.status == "completed" and result.best_state is not None and result.last_state is not None
    assert result.best_epoch == len(result.history) - 2  # patience 2: two epochs after the best
    assert not all(torch.equal(result.last_state[k], v) for k, v in result.best_state.items())
    state = compiled.module.state_dict()
    assert all(torch.equal(state[k], v) for k, v in result.best_state.items())
    assert evaluate(compiled, prepared, cfg, "val")["loss"] == pytest.approx(
        result.history[result.best_epoch - 1]["metrics"]["val_loss"], rel=1e-5)
    test_loss = evaluate(compiled, prepared, cfg, "test")["loss"]
    assert test_loss == pytest.approx(result.test_metrics["test_loss"])


def test_stop_keeps_the_best_weights_and_reports_their_test_metrics() -> None:
    torch.manual_seed(0)
    compiled = compile_graph(mlp(4, 3))
    cfg = TrainConfig.model_validate({"epochs": 100, "batch_size": 8,
                                      "optimizer": {"type": "adam", "lr": 0.3}})
    prepared = data.prepare(data.load("iris"), compiled)
    epochs = []

    def emit(event: Event) -> None:
        if event.type == "epoch":
            epochs.append(event)

    result = train(compiled, prepared, cfg, emit, lambda: len(epochs) >= 6)
    assert result.status == "stopped" and len(result.history) == 6 and result.best_state is not None
    val_losses = [h["metrics"]["val_loss"] for h in result.history]
    assert result.best_epoch == val_losses.index(min(val_losses)) + 1
    state = compiled.module.state_dict()
    assert all(torch.equal(state[k], v) for k, v in result.best_state.items())
    assert evaluate(compiled, prepared, cfg)["loss"] == pytest.approx(result.test_metrics["test_loss"])


def test_stop_before_the_first_epoch_ends() -> None:
    torch.manual_seed(0)
    compiled = compile_graph(mlp(4, 3))
    prepared = data.prepare(data.load("iris"), compiled)
    result = train(compiled, prepared, TrainConfig(), lambda e: None, lambda: True)
    assert result.status == "stopped" and not result.history and result.best_state is not None


def test_batch_events_are_throttled_to_ten_per_second() -> None:
    import time

    started = time.perf_counter()
    _, events = run(mlp(4, 3), "iris", epochs=25, batch_size=1)
    seconds = time.perf_counter() - started
    batches = [e for e in events if e.type == "batch"]
    steps = 25 * batches[0].steps  # type: ignore[union-attr]
    assert len(batches) <= 10 * seconds + 2 and len(batches) < steps


def test_schedule_grad_clip_and_lr_in_epoch_events() -> None:
    result, events = run(mlp(4, 3), "iris", epochs=4, grad_clip=0.5,
                         optimizer={"type": "sgd", "lr": 0.1},
                         schedule={"type": "step", "step_size": 1, "gamma": 0.5})
    assert result.status == "completed"
    lrs = [e.lr for e in events if e.type == "epoch"]  # type: ignore[union-attr]
    assert lrs == [0.1, 0.05, 0.025, 0.0125]
    assert all(e.seconds > 0 for e in events if e.type == "epoch")  # type: ignore[union-attr]


def test_plateau_schedule_without_validation_watches_the_training_loss() -> None:
    result, events = run(mlp(4, 3), "iris", epochs=2, validation_split=0.0, schedule={"type": "plateau"},
                         early_stopping={"monitor": "val_accuracy"})
    assert result.status == "completed" and "val_loss" not in result.metrics
    logs = [e.message for e in events if e.type == "log"]  # type: ignore[union-attr]
    assert any("watches 'accuracy' instead of 'val_accuracy'" in m for m in logs)


def test_an_unknown_monitor_fails_before_training() -> None:
    result, events = run(mlp(4, 3), "iris", early_stopping={"monitor": "val_acc"})
    assert result.status == "failed" and not result.history
    assert "early stopping watches 'val_acc', which is not a metric of this run" in result.error
    assert "val_accuracy" in result.error


def test_a_loss_for_an_unknown_output_fails_clearly() -> None:
    result, _ = run(mlp(4, 3), "iris", loss={"label": "sparse_categorical_crossentropy"})
    assert result.status == "failed"
    assert result.error == "loss given for 'label', which is not an Output of the graph (outputs: y)"


def test_too_few_class_scores_fail_before_training() -> None:
    result, events = run(mlp(4, 2), "iris")
    assert result.status == "failed" and not any(e.type == "epoch" for e in events)
    assert result.error == ("output 'y' gives 2 class scores but field 'y' has classes 0 to 2; "
                            "give the last layer 3 outputs")


def test_binary_crossentropy_on_several_classes_is_explained() -> None:
    result, _ = run(mlp(4, 1), "iris", loss="binary_crossentropy")
    assert result.status == "failed" and "needs targets between 0 and 1" in result.error


def test_class_metrics_on_a_regression_output_are_skipped_with_a_warning() -> None:
    graph = chain([10], ("Linear", {"out_features": 1}))
    result, events = run(graph, "diabetes", loss="mse", metrics=["accuracy", "mae"], epochs=1)
    assert result.status == "completed" and "mae" in result.metrics and "accuracy" not in result.metrics
    warnings = [e.message for e in events if e.type == "log" and e.level == "warning"]  # type: ignore[union-attr]
    assert any("accuracy" in m for m in warnings)


def test_one_hot_targets_from_arrays() -> None:
    import numpy as np

    torch.manual_seed(0)
    compiled = compile_graph(mlp(4, 3, final="Softmax"))
    iris = data.load("iris")
    x = (iris.arrays["x"] - iris.arrays["x"].mean(0)) / iris.arrays["x"].std(0)
    one_hot = np.eye(3, dtype=np.float32)[iris.arrays["y"]]
    prepared = data.prepare(data.from_arrays(x, one_hot, compiled), compiled, validation_split=0.2,
                            test_split=0.0)
    cfg = TrainConfig.model_validate({"loss": "categorical_crossentropy", "epochs": 15, "batch_size": 16,
                                      "metrics": ["accuracy", "auc_roc", "mse"],
                                      "optimizer": {"type": "adam", "lr": 0.02}})
    result = train(compiled, prepared, cfg, lambda e: None)
    assert result.status == "completed" and result.metrics["val_accuracy"] > 0.85
    assert result.metrics["val_auc_roc"] > 0.9 and result.metrics["val_mse"] < 0.2


def test_predict_returns_the_graph_outputs_after_the_final_activation() -> None:
    torch.manual_seed(0)
    compiled = compile_graph(mlp(4, 3, final="Softmax"))
    x = torch.randn(2500, 4)
    out = predict(compiled, [x], batch_size=1000)
    assert set(out) == {"y"} and out["y"].shape == (2500, 3)
    assert torch.allclose(out["y"].sum(-1), torch.ones(2500))
    assert torch.equal(predict(compiled, {"x": x})["y"], out["y"])
    with pytest.raises(ValueError, match="no values for Input x"):
        predict(compiled, {"img": x})


def test_training_threads_are_set_and_restored() -> None:
    before = torch.get_num_threads()
    seen = []
    torch.manual_seed(0)
    compiled = compile_graph(mlp(4, 3))
    prepared = data.prepare(data.load("iris"), compiled)
    cfg = TrainConfig(epochs=1, num_threads=1)
    train(compiled, prepared, cfg, lambda e: seen.append(torch.get_num_threads()))
    assert set(seen) == {1} and torch.get_num_threads() == before


def test_an_unexpected_exception_ends_the_run_as_failed_with_its_message() -> None:
    torch.manual_seed(0)
    compiled = compile_graph(mlp(4, 3))
    prepared = data.prepare(data.load("iris"), compiled)
    events: list[Event] = []

    def emit(event: Event) -> None:
        if event.type == "epoch":
            raise TypeError("listener broke")
        events.append(event)

    result = train(compiled, prepared, TrainConfig(epochs=2), emit)
    assert result.status == "failed" and result.error == "TypeError: listener broke"
    assert [e.type for e in events][-2:] == ["error", "done"]


def test_epoch_events_carry_the_best_epoch_that_min_delta_decides() -> None:
    result, events = run(mlp(4, 3), "iris", optimizer={"type": "adam", "lr": 0.01}, epochs=8, batch_size=16,
                         early_stopping={"monitor": "val_loss", "min_delta": 0.05, "patience": 100})
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    val_losses = [e.metrics["val_loss"] for e in epochs]
    expected, best = [], val_losses[0]
    for i, value in enumerate(val_losses):  # Keras's rule: an improvement beats the best by more than min_delta
        if i == 0 or value < best - 0.05:
            best, at = value, i + 1
        expected.append(at)
    assert [e.best.epoch for e in epochs if e.best] == expected
    assert all(e.best and e.best.name == "val_loss" for e in epochs)
    assert expected[-1] != val_losses.index(min(val_losses)) + 1  # min_delta matters here: not the lowest epoch
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.best_epoch == result.best_epoch == expected[-1]


def test_checkpoints_come_before_each_epoch_event_best_ones_when_the_monitor_improves() -> None:
    torch.manual_seed(0)
    compiled = compile_graph(mlp(4, 3))
    cfg = TrainConfig.model_validate({"epochs": 6, "batch_size": 16, "optimizer": {"type": "adam", "lr": 0.3}})
    prepared = data.prepare(data.load("iris"), compiled)
    log: list[tuple[str, int, bool]] = []
    saved: dict[int, dict[str, torch.Tensor]] = {}

    def checkpoint(state: dict[str, torch.Tensor], best: bool) -> None:
        epoch = sum(1 for kind, _, _ in log if kind == "checkpoint") + 1
        saved[epoch] = {k: v.clone() for k, v in state.items()}
        log.append(("checkpoint", epoch, best))

    def emit(event: Event) -> None:
        if isinstance(event, EpochEvent):
            log.append(("epoch", event.epoch, event.best is not None and event.best.epoch == event.epoch))

    result = train(compiled, prepared, cfg, emit, checkpoint=checkpoint)
    assert [(kind, epoch) for kind, epoch, _ in log] == [(k, e) for e in range(1, 7) for k in ("checkpoint", "epoch")]
    assert [b for kind, _, b in log if kind == "checkpoint"] == [b for kind, _, b in log if kind == "epoch"]
    assert result.best_state is not None and result.best_epoch is not None
    assert all(torch.equal(saved[result.best_epoch][k], v) for k, v in result.best_state.items())


def test_batches_sliced_from_the_epochs_gathered_split_train_as_batches_gathered_one_by_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from netcanvas.training import loop

    graph = chain([4], ("Linear", {"out_features": 16}), ("ReLU", {}), ("Dropout", {"p": 0.2}),
                  ("Linear", {"out_features": 3}))
    sliced, _ = run(graph, "iris", seed=4, batch_size=16, metrics=["accuracy", "f1"])
    monkeypatch.setattr(loop, "GATHER_BYTES", 0)  # a split too big to gather whole: each batch its own gather
    gathered, _ = run(graph, "iris", seed=4, batch_size=16, metrics=["accuracy", "f1"])
    assert [h["metrics"] for h in sliced.history] == [h["metrics"] for h in gathered.history]
    assert all(torch.equal(sliced.best_state[k], v) for k, v in gathered.best_state.items())
