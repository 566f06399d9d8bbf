"""TensorBoard event files for a run (docs/training-config.md#tensorboard), written with ``torch.utils.tensorboard``.

``TensorBoardLog`` watches the run's events on their way out (``wrap(emit)``) and writes:

- ``batch/loss`` for each batch event (already throttled to a few per second), at the global step;
- each epoch's metrics as ``<metric>/train`` and ``<metric>/val`` (so TensorBoard draws both in one section), and
  ``lr``, at the epoch;
- histograms of every weight (``weights/<node>.<param>``) and of its last gradient (``gradients/<node>.<param>``)
  after an epoch — never per batch, and after fewer epochs when writing them would take more than ``SHARE`` of the
  training time (a small model's epoch can be quicker than its histograms); the last epoch's always. Their bins
  and sums are counted by torch (``histc``), with the training's threads: ``add_histogram`` counts with numpy,
  whose BLAS threads (one per core, ignoring ``num_threads``) cost more than the training step on a busy machine.
  Their cost includes writing them (the writer thread checksums each record in pure Python);
- the test metrics as ``<metric>/test`` at the best epoch when the run ends;
- the graph, once, traced on two training samples (a graph that cannot be traced is logged and skipped).

The files are flushed every ``FLUSH_S`` seconds at an epoch's end, and when the run ends, so TensorBoard shows a
run while it trains.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from ..compiler import CompiledGraph
from ..data import PreparedData
from .events import BatchEvent, DoneEvent, EpochEvent, Event, LogEvent

Emit = Callable[[Event], None]
LOG_DIR = "tensorboard"
"""The event files' folder inside a run directory."""
SHARE = 0.02
"""Histograms are written after an epoch unless that would make them more than this share of the time."""
BINS = 30
"""TensorBoard's own default bucket count (``tf.summary.histogram``)."""
MAX_VALUES = 1 << 18
"""A bigger tensor's histogram is made from an evenly strided sample of this many values."""
FLUSH_S = 2.0


def tag_of(metric: str) -> str:
    """``val_accuracy`` -> ``accuracy/val``, ``test_loss`` -> ``loss/test``, ``loss`` -> ``loss/train``."""
    for prefix, split in (("val_", "val"), ("test_", "test")):
        if metric.startswith(prefix):
            return f"{metric[len(prefix):]}/{split}"
    return f"{metric}/train"


class TensorBoardLog:
    """Writes a run's events and weights into ``log_dir`` while passing every event on unchanged."""

    def __init__(self, log_dir: str | Path, compiled: CompiledGraph):
        from torch.utils.tensorboard import SummaryWriter  # here: the server imports this module for LOG_DIR only

        self.compiled = compiled
        self.writer = SummaryWriter(log_dir=str(log_dir), flush_secs=30)
        self.steps = 0
        self.last_epoch = 0
        self.histogram_epoch = 0
        self.histograms_cost = 0.0
        self.histograms_at = -float("inf")
        self.flushed_at = time.perf_counter()

    @classmethod
    def for_run(cls, run_path: str | Path, compiled: CompiledGraph, data: PreparedData,
                emit: Emit) -> TensorBoardLog | None:
        """The log of a run directory, its graph written; None (with a warning event) when it cannot be written."""
        try:
            log = cls(Path(run_path) / LOG_DIR, compiled)
        except OSError as e:
            emit(LogEvent(level="warning", message=f"tensorboard: cannot write the event files ({e})"))
            return None
        log.add_graph(data.inputs({k: v[:2] for k, v in data.train.items()}), emit)
        return log

    def add_graph(self, inputs: Sequence[torch.Tensor], emit: Emit) -> None:
        """The module's graph, traced once on ``inputs`` (a few samples)."""
        module = self.compiled.module
        was_training = module.training
        try:
            module.eval()
            with torch.no_grad():
                self.writer.add_graph(module, tuple(inputs))
        except Exception as e:  # tracing is best effort: the scalars and histograms do not depend on it
            first = (str(e).strip().splitlines() or [""])[0][:200]
            emit(LogEvent(level="warning", message=f"tensorboard: the graph could not be traced ({first})"))
        finally:
            module.train(was_training)

    def wrap(self, emit: Emit) -> Emit:
        """``emit`` that also writes each event into the log."""
        def both(event: Event) -> None:
            self.write(event)
            emit(event)

        return both

    def write(self, event: Event) -> None:
        if isinstance(event, BatchEvent):
            self.steps = max(self.steps, event.steps)
            self.writer.add_scalar("batch/loss", event.loss, (event.epoch - 1) * event.steps + event.step)
        elif isinstance(event, EpochEvent):
            for name, value in event.metrics.items():
                self.writer.add_scalar(tag_of(name), value, event.epoch)
            self.writer.add_scalar("lr", event.lr, event.epoch)
            self.last_epoch = event.epoch
            if time.perf_counter() - self.histograms_at >= self.histograms_cost / SHARE:
                self.histograms(event.epoch)
            if time.perf_counter() - self.flushed_at >= FLUSH_S:
                self.writer.flush()
                self.flushed_at = time.perf_counter()
        elif isinstance(event, DoneEvent):
            if self.last_epoch and self.histogram_epoch != self.last_epoch:
                self.histograms(self.last_epoch)
            step = event.best_epoch or self.last_epoch
            for name, value in event.test_metrics.items():
                self.writer.add_scalar(tag_of(name), value, step)
            self.writer.flush()

    def histograms(self, epoch: int) -> None:
        started = time.perf_counter()
        for name, param in self.compiled.module.named_parameters():
            attr, _, rest = name.partition(".")
            label = f"{self.compiled.node_of_module(attr)}.{rest}" if rest else self.compiled.node_of_module(attr)
            for kind, values in (("weights", param), ("gradients", param.grad)):
                if values is not None:
                    self.histogram(f"{kind}/{label}", values, epoch)
        self.writer.flush()  # waits for the writer thread: the records' checksums count in the cost
        self.histogram_epoch = epoch
        self.histograms_at = time.perf_counter()
        self.histograms_cost = self.histograms_at - started

    def histogram(self, tag: str, tensor: torch.Tensor, step: int) -> None:
        """One tensor's histogram: ``BINS`` equal bins between its min and max (a tensor with a NaN or an infinity
        is skipped: it has no bin)."""
        values = tensor.detach().reshape(-1)
        if values.numel() > MAX_VALUES:
            values = values[::values.numel() // MAX_VALUES]
        values = values.float().cpu()
        if not values.numel():
            return
        wide = values.double()  # float32 values cannot overflow these sums: an infinite one means a NaN or inf
        total, squares = float(wide.sum()), float((wide * wide).sum())
        if not (math.isfinite(total) and math.isfinite(squares)):
            return
        low, high = float(values.min()), float(values.max())
        lower, upper = (low - 0.5, high + 0.5) if low == high else (low, high)  # numpy's bins for constant values
        counts = torch.histc(values, BINS, lower, upper).tolist()
        uppers = torch.linspace(lower, upper, BINS + 1, dtype=torch.float64)[1:].tolist()  # each bin's upper edge
        self.writer.add_histogram_raw(tag, low, high, values.numel(), total, squares, uppers, counts,
                                      global_step=step)

    def close(self) -> None:
        self.writer.close()
