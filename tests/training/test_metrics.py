"""Our metrics against scikit-learn on the same predictions."""

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from netcanvas.training.config import METRICS
from netcanvas.training.metrics import (
    METRIC_DIRECTIONS,
    classification_metrics,
    direction,
    monitor_mode,
    regression_metrics,
)


@pytest.mark.parametrize("classes", [3, 5])
def test_multiclass_matches_sklearn(classes: int) -> None:
    rng = np.random.default_rng(classes)
    y = rng.integers(0, classes, 200)
    logits = rng.normal(size=(200, classes)) + np.eye(classes)[y] * 1.5
    probs = torch.softmax(torch.tensor(logits), -1)
    pred = probs.argmax(-1).numpy()
    got = classification_metrics(["accuracy", "precision", "recall", "f1", "auc_roc"], probs, torch.tensor(y),
                                 False)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro", zero_division=0))
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred, average="macro", zero_division=0))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro", zero_division=0))
    expected_auc = skm.roc_auc_score(y, probs.numpy(), multi_class="ovr", average="macro")
    assert got["auc_roc"] == pytest.approx(expected_auc)


def test_binary_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.round(np.clip(y * 0.3 + rng.uniform(0, 0.7, 300), 0, 1), 1)  # rounded: many ties
    got = classification_metrics(["accuracy", "precision", "recall", "f1", "auc_roc"], torch.tensor(p),
                                 torch.tensor(y), True)
    pred = (p >= 0.5).astype(int)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert got["auc_roc"] == pytest.approx(skm.roc_auc_score(y, p))


def test_regression_matches_sklearn() -> None:
    rng = np.random.default_rng(1)
    y, out = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    got = regression_metrics(["mse", "mae"], torch.tensor(out), torch.tensor(y))
    assert got["mse"] == pytest.approx(skm.mean_squared_error(y, out))
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, out))


def test_one_hot_targets_and_auc_with_a_missing_class() -> None:
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1]])
    one_hot = torch.eye(3)[[0, 1, 1, 1]]
    got = classification_metrics(["accuracy", "auc_roc"], probs, one_hot, False)
    assert got["accuracy"] == pytest.approx(0.75)
    assert got["auc_roc"] == pytest.approx(1.0)  # class 2 never occurs: averaged over the classes present
    single = classification_metrics(["auc_roc"], torch.tensor([0.2, 0.9]), torch.tensor([1, 1]), True)
    assert np.isnan(single["auc_roc"])


def test_sequence_outputs_are_scored_per_step() -> None:
    from netcanvas.training.loop import Evaluator
    from netcanvas.training.losses import Head

    rng = np.random.default_rng(2)
    scores = torch.tensor(rng.normal(size=(6, 4, 5)))  # [B, C, T]: a Softmax over dim 1
    y = torch.tensor(rng.integers(0, 4, (6, 5)))
    head = Head("y", "sparse_categorical_crossentropy", 1.0, ("accuracy", "f1"), "Softmax", 1)
    got = Evaluator.class_metrics(head, scores, y, ["accuracy", "f1"])
    pred = scores.argmax(1).reshape(-1).numpy()
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y.reshape(-1).numpy(), pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y.reshape(-1).numpy(), pred, average="macro"))


def test_every_metric_declares_its_direction_and_reported_names_follow_it() -> None:
    assert set(METRICS) | {"loss"} == set(METRIC_DIRECTIONS)
    assert [direction(n) for n in ("val_accuracy", "f1", "test_auc_roc", "y_class_precision")] == ["max"] * 4
    assert [direction(n) for n in ("loss", "val_loss", "val_mae", "mse", "y_value_loss")] == ["min"] * 5
    assert direction("accuracy_loss") == "min"  # an output named "accuracy": its loss is still minimized
    assert monitor_mode("val_accuracy", "auto") == "max" and monitor_mode("val_accuracy", "min") == "min"
    assert monitor_mode("val_loss", "max") == "max"
