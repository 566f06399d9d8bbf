"""TrainConfig: the seed's compile + fit, Keras shorthands, clear validation messages, JSON Schemas."""

from typing import Any

import pytest
from pydantic import ValidationError

from netcanvas import training
from netcanvas.training.config import OPTIMIZERS, SCHEDULES, Adam, LossSpec, TrainConfig


def error_of(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        TrainConfig.model_validate(data)
    return str(info.value)


def test_the_spec_example_validates() -> None:
    cfg = TrainConfig.model_validate({
        "optimizer": {"type": "adam", "lr": 0.001}, "loss": "sparse_categorical_crossentropy",
        "metrics": ["accuracy"], "epochs": 5, "batch_size": 32, "seed": 0, "validation_split": 0.2,
        "regularization": {"l1": 0.0, "l2": 0.0},
        "early_stopping": {"monitor": "val_loss", "patience": 3, "restore_best_weights": True}})
    assert isinstance(cfg.optimizer, Adam) and cfg.optimizer.lr == 0.001
    assert cfg.early_stopping is not None and cfg.early_stopping.mode == "auto"


def test_keras_shorthands_and_aliases() -> None:
    cfg = TrainConfig.model_validate({"optimizer": "rmsprop", "loss": "CrossEntropyLoss", "metrics": "acc"})
    assert cfg.optimizer.type == "rmsprop"
    assert isinstance(cfg.loss, LossSpec) and cfg.loss.type == "sparse_categorical_crossentropy"
    assert cfg.metrics == ["accuracy"]
    cfg = TrainConfig.model_validate({"metrics": ["accuracy", "acc", "auc", "mean_squared_error"]})
    assert cfg.metrics == ["accuracy", "auc_roc", "mse"]


def test_pytorch_betas_are_accepted() -> None:
    cfg = TrainConfig.model_validate({"optimizer": {"type": "adamw", "betas": [0.8, 0.99]}})
    assert (cfg.optimizer.beta1, cfg.optimizer.beta2) == (0.8, 0.99)  # type: ignore[union-attr]
    assert "betas must be a pair" in error_of({"optimizer": {"type": "adam", "betas": 0.9}})


def test_per_output_losses_and_metrics() -> None:
    cfg = TrainConfig.model_validate({"loss": {"y_class": "sparse_categorical_crossentropy",
                                               "y_value": {"type": "MSELoss", "weight": 0.5}},
                                      "metrics": {"y_class": ["accuracy"], "y_value": ["mae"]}})
    assert cfg.loss_for("y_value", ["y_class", "y_value"]).weight == 0.5
    assert cfg.loss_for("y_value", ["y_class", "y_value"]).type == "mse"
    assert cfg.metrics_for("y_value") == ["mae"]
    cfg.check_outputs(["y_class", "y_value"])
    with pytest.raises(ValueError, match="loss given for 'y_class', which is not an Output .*outputs: a, b"):
        cfg.check_outputs(["a", "b"])
    with pytest.raises(ValueError, match="no loss given for output 'z'"):
        cfg.check_outputs(["y_class", "y_value", "z"])


@pytest.mark.parametrize("data,message", [
    ({"optimizer": {"type": "adamx"}}, "does not match any of the expected tags: 'sgd', 'momentum', 'adam'"),
    ({"optimizer": "adamx"}, "does not match any of the expected tags"),
    ({"optimizer": {"type": "adam", "lr": -1}}, "optimizer.adam.lr\n  Input should be greater than 0"),
    ({"optimizer": {"type": "adam", "momentum": 0.9}},
     "optimizer.adam.momentum\n  Extra inputs are not permitted"),
    ({"loss": "hinge"}, "unknown loss 'hinge'; choose one of binary_crossentropy"),
    ({"metrics": ["accuracy", "top5"]}, "unknown metric 'top5'; choose from accuracy, precision"),
    ({"epochs": 0}, "epochs\n  Input should be greater than or equal to 1"),
    ({"batch_size": 0}, "batch_size\n  Input should be greater than or equal to 1"),
    ({"validation_split": 1.0}, "validation_split\n  Input should be less than 1"),
    ({"regularization": {"l2": -0.1}}, "regularization.l2\n  Input should be greater than or equal to 0"),
    ({"early_stopping": {"mode": "up"}}, "early_stopping.mode\n  Input should be 'min', 'max' or 'auto'"),
    ({"schedule": {"type": "linear"}}, "does not match any of the expected tags: 'step', 'exponential'"),
    ({"grad_clip": 0}, "grad_clip\n  Input should be greater than 0"),
    ({"epoch": 3}, "epoch\n  Extra inputs are not permitted"),
])
def test_validation_messages_name_the_field(data: dict[str, Any], message: str) -> None:
    assert message in error_of(data)


def test_every_field_is_described_and_every_option_has_a_schema() -> None:
    schema = TrainConfig.model_json_schema()
    for name, prop in schema["properties"].items():
        assert prop.get("description"), name
    for model in (*OPTIMIZERS, *SCHEDULES):
        props = model.model_json_schema()["properties"]
        assert all(p.get("description") for k, p in props.items() if k != "type"), model.__name__


def test_catalog_entries() -> None:
    entries = training.catalog_entries()
    assert [o["type"] for o in entries["optimizers"]] == ["sgd", "momentum", "adam", "adamw", "rmsprop",
                                                          "adagrad", "adadelta"]
    assert [s["type"] for s in entries["schedules"]] == ["step", "exponential", "cosine", "plateau"]
    adam = next(o for o in entries["optimizers"] if o["type"] == "adam")
    assert adam["doc"] and adam["params_schema"]["properties"]["lr"]["exclusiveMinimum"] == 0
    losses = {entry["type"]: entry for entry in entries["losses"]}
    assert "CrossEntropyLoss" in losses["sparse_categorical_crossentropy"]["aliases"]
    assert {m["type"] for m in entries["metrics"]} == {"accuracy", "precision", "recall", "f1", "auc_roc",
                                                       "mse", "mae"}
