"""BestTracker: Keras's EarlyStopping rules for the best epoch and patience."""

import math

from netcanvas.training.callbacks import BestTracker


def test_patience_counts_epochs_without_improvement() -> None:
    tracker = BestTracker("val_loss", "min", min_delta=0.01, patience=2)
    assert tracker.update(1.0, 1) and tracker.update(0.5, 2)
    assert not tracker.update(0.495, 3)  # within min_delta: not an improvement
    assert not tracker.should_stop
    assert not tracker.update(0.6, 4)
    assert tracker.should_stop and tracker.best_epoch == 2 and tracker.best == 0.5
    assert "has not improved for 2 epochs (best 0.5 at epoch 2)" in tracker.describe()


def test_max_mode_and_patience_zero() -> None:
    tracker = BestTracker("val_accuracy", "max", patience=0)
    assert tracker.update(0.5, 1) and tracker.update(0.6, 2) and not tracker.should_stop
    assert not tracker.update(0.6, 3) and tracker.should_stop


def test_no_patience_never_stops_and_nan_is_replaced() -> None:
    tracker = BestTracker("val_auc_roc", "max")
    tracker.update(math.nan, 1)
    assert tracker.update(0.7, 2) and tracker.best_epoch == 2
    for epoch in range(3, 50):
        tracker.update(0.1, epoch)
    assert not tracker.should_stop
