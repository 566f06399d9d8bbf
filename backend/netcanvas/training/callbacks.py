"""Watching a metric across epochs: the best epoch (for the best weights) and early stopping."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


@dataclass
class BestTracker:
    """Follows ``monitor`` epoch by epoch, as Keras's ``EarlyStopping`` does.

    An epoch improves when its value beats the best so far by more than ``min_delta``.
    With a ``patience``, training should stop once that many epochs in a row have not
    improved (patience 0: at the first epoch that does not improve).
    """

    monitor: str
    mode: Literal["min", "max"]
    min_delta: float = 0.0
    patience: int | None = None
    best: float = math.nan
    best_epoch: int | None = None
    waited: int = 0

    def update(self, value: float, epoch: int) -> bool:
        """Record one epoch's value; True when it is the new best."""
        if self.best_epoch is None or (math.isnan(self.best) and not math.isnan(value)):
            improved = True
        elif self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.best_epoch, self.waited = value, epoch, 0
        else:
            self.waited += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.waited > 0 and self.waited >= self.patience

    def describe(self) -> str:
        return (f"'{self.monitor}' has not improved for {self.waited} epochs "
                f"(best {self.best:.4g} at epoch {self.best_epoch})")
