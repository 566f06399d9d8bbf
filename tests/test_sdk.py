"""The Keras-style API: the seed's three lines verbatim, History, callbacks, predict, built-in datasets."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from netcanvas import Model
from netcanvas.sdk import Callback, History
from netcanvas.training import TrainingError
from runhelpers import DIGITS_MLP, IRIS_MLP


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    bunch = load_digits()
    x = (bunch.images[:, None] / 16.0).astype(np.float32)
    y = bunch.target
    return x[:1400], y[:1400], x[1400:], y[1400:]


def test_the_seed_lines_run_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    x_train, y_train, x_test, y_test = digits_split()
    model = Model(DIGITS_MLP)
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    model.fit(x_train, y_train, epochs=5, batch_size=32)
    model.evaluate(x_test, y_test)
    printed = capsys.readouterr().out
    assert "Epoch 5/5" in printed and "accuracy" in printed

    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)  # type: ignore[misc]
    assert accuracy > 0.8 and loss < 1.0
    probs = model.predict(x_test[:7])
    assert isinstance(probs, np.ndarray) and probs.shape == (7, 10)
    assert (probs.argmax(1) == y_test[:7]).mean() >= 0.5


def test_fit_returns_a_keras_history_and_drives_callbacks() -> None:
    x_train, y_train, _, _ = digits_split()
    seen: list[tuple[str, int]] = []
    events: list[str] = []

    class StopAfterTwo(Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, object] | None = None) -> None:
            seen.append(("epoch", epoch))
            assert logs is not None and "val_accuracy" in logs
            if epoch == 1:
                self.model.stop_training = True

    model = Model(DIGITS_MLP)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=10, batch_size=64, validation_split=0.25, verbose=0,
                        callbacks=[StopAfterTwo(), lambda e: events.append(e.type)])
    assert isinstance(history, History) and history.epoch == [0, 1]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["val_loss"]) == 2 and seen == [("epoch", 0), ("epoch", 1)]
    assert events.count("epoch") == 2 and events[-1] == "done"


def test_built_in_datasets_by_name_with_their_standardization() -> None:
    model = Model(IRIS_MLP)
    model.compile(optimizer={"type": "adam", "lr": 0.01}, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], seed=3)
    model.fit("iris", epochs=30, batch_size=16, verbose=0)
    assert model.preprocessing is not None and "x" in model.preprocessing.inputs
    result = model.evaluate("iris", verbose=0, return_dict=True)
    assert isinstance(result, dict) and result["accuracy"] > 0.8
    from sklearn.datasets import load_iris

    raw = load_iris()
    predicted = model.predict(raw.data.astype(np.float32))  # raw measurements: standardized inside
    assert isinstance(predicted, np.ndarray) and (predicted.argmax(1) == raw.target).mean() > 0.8


def test_mistakes_are_named() -> None:
    model = Model(DIGITS_MLP)
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.zeros((4, 1, 8, 8)), np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="lr"):
        model.compile(optimizer={"type": "adam", "lr": -1})
    regression = Model(IRIS_MLP)
    regression.compile(optimizer={"type": "sgd", "lr": 10.0}, loss="mse")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32) * 100
    with pytest.raises(TrainingError, match="epoch 1"):
        regression.fit(x, np.ones((64, 3), dtype=np.float32) * 1e6, epochs=3, verbose=0)
