"""TensorBoard event files for a run (docs/training-config.md#tensorboard).

``TensorBoardLog`` watches the run's events on their way out (``wrap(emit)``) and writes:

- ``batch/loss`` for each batch event (already throttled to a few per second), at the global step;
- each epoch's metrics as ``<metric>/train`` and ``<metric>/val`` (so TensorBoard draws both in one section), and
  ``lr``, at the epoch, all in one record;
- histograms of every weight (``weights/<node>.<param>``) and of its last gradient (``gradients/<node>.<param>``)
  after an epoch — never per batch, and after fewer epochs when writing them would take more than ``SHARE`` of the
  training time (a small model's epoch can be quicker than its histograms); the last epoch's always. Their bins
  and sums are counted by torch (``histc``) with the training's threads (``SummaryWriter.add_histogram`` counts
  with numpy, whose BLAS threads, one per core, cost more than a small training step on a busy machine);
- the test metrics as ``<metric>/test`` at the best epoch when the run ends;
- the graph, once, traced on two training samples (a graph that cannot be traced is logged and skipped).

A GAN run's log (training/gan.py) holds both parts: the histograms of the generator's and the discriminator's
weights, named by node id as one graph's are; its graph (two modules) is not written.

The records go into one event file through ``torch.utils.tensorboard``'s summaries and TensorBoard's record
format (TFRecord, with a vectorized checksum: ``Crc32c``), written by the training thread into a buffered file:
``SummaryWriter`` hands each record to a thread of its own that opens, appends to and closes the file once per
record, which on a small model's quick epochs cost more than the records themselves. The file is flushed every
``FLUSH_S`` seconds at an epoch's end, and when the run ends, so TensorBoard shows a run while it trains.
"""

from __future__ import annotations

import itertools
import math
import os
import socket
import struct
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..compiler import CompiledGraph
from ..data import PreparedData
from .events import BatchEvent, DoneEvent, EpochEvent, Event, LogEvent

Emit = Callable[[Event], None]
LOG_DIR = "tensorboard"
"""The event files' folder inside a run directory."""
SHARE = 0.005
"""Histograms are written after an epoch unless that would make them more than this share of the time (0.5 %)."""
BINS = 30
"""TensorBoard's own default bucket count (``tf.summary.histogram``)."""
MAX_VALUES = 1 << 18
"""A bigger tensor's histogram is made from an evenly strided sample of this many values."""
FLUSH_S = 2.0
_FILES = itertools.count()
"""Tells apart the event files one process opens in the same second."""


def tag_of(metric: str) -> str:
    """``val_accuracy`` -> ``accuracy/val``, ``test_loss`` -> ``loss/test``, ``loss`` -> ``loss/train``."""
    for prefix, split in (("val_", "val"), ("test_", "test")):
        if metric.startswith(prefix):
            return f"{metric[len(prefix):]}/{split}"
    return f"{metric}/train"


class Crc32c:
    """CRC-32C (Castagnoli), the checksum of TensorBoard's records, in a few numpy operations per record.

    The checksum is linear over GF(2) in the bytes: a byte ``b`` followed by ``k`` more bytes adds
    ``shifted[k, b]`` (the table entry of ``b`` run through ``k`` zero bytes) to the register, and the register's
    start value contributes ``start[n]`` after ``n`` bytes. A record of up to ``LONGEST`` bytes is one gather and
    one XOR reduction; a longer one (the graph, once) and a short one go byte by byte. TensorBoard's own
    implementation loops over every byte in Python: 70 us for a histogram's 560 bytes, a third of its cost."""

    POLYNOMIAL = 0x82F63B78  # reflected
    LONGEST = 2048
    SHORTEST = 48
    """Below this many bytes the byte loop is the quicker."""

    def __init__(self) -> None:
        table = np.arange(256, dtype=np.uint32)
        for _ in range(8):
            table = np.where(table & 1, (table >> 1) ^ np.uint32(self.POLYNOMIAL), table >> 1).astype(np.uint32)
        self.table = table
        self.shifted = np.empty((self.LONGEST, 256), dtype=np.uint32)
        self.shifted[0] = table
        for k in range(1, self.LONGEST):
            row = self.shifted[k - 1]
            self.shifted[k] = table[row & 0xFF] ^ (row >> 8)
        self.start = [0xFFFFFFFF]
        for _ in range(self.LONGEST):
            self.start.append(self._zero_byte(self.start[-1]))
        self.backwards = np.arange(self.LONGEST - 1, -1, -1)
        self.list_table = table.tolist()

    def _zero_byte(self, register: int) -> int:
        return int(self.table[register & 0xFF]) ^ (register >> 8)

    def __call__(self, data: bytes) -> int:
        n = len(data)
        if n < self.SHORTEST or n > self.LONGEST:
            register, table = 0xFFFFFFFF, self.list_table
            for byte in data:
                register = table[(register ^ byte) & 0xFF] ^ (register >> 8)
            return register ^ 0xFFFFFFFF
        contributions = self.shifted[self.backwards[self.LONGEST - n:], np.frombuffer(data, dtype=np.uint8)]
        return int(np.bitwise_xor.reduce(contributions)) ^ self.start[n] ^ 0xFFFFFFFF

    def masked(self, data: bytes) -> int:
        """The checksum as TFRecord files store it (rotated and offset)."""
        crc = self(data)
        return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


_CRC: Crc32c | None = None


def crc32c() -> Crc32c:
    """The process's checksum tables (2 MB, made in a few milliseconds when the first event file opens)."""
    global _CRC
    if _CRC is None:
        _CRC = Crc32c()
    return _CRC


class EventFile:
    """One TensorBoard event file, its records written in this thread through a buffer (flushed by ``flush``):
    the TFRecord format (length, its checksum, the data, its checksum), as TensorBoard's ``RecordWriter`` writes
    it, with a quicker checksum."""

    def __init__(self, log_dir: Path):
        from tensorboard.compat.proto.event_pb2 import Event as Record  # here: the server imports this module too

        log_dir.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{next(_FILES)}"
        self.record = Record
        self.crc = crc32c()
        self.file = open(log_dir / name, "wb")  # noqa: SIM115 (closed by close)
        self.add(file_version="brain.Event:2")
        self.flush()

    def add(self, **fields: Any) -> None:
        """One record: an ``Event`` with ``fields`` (``summary`` and ``step``, ``graph_def``...) and the wall time."""
        data = self.record(wall_time=time.time(), **fields).SerializeToString()
        header = struct.pack("<Q", len(data))
        self.file.write(b"".join((header, struct.pack("<I", self.crc.masked(header)), data,
                                  struct.pack("<I", self.crc.masked(data)))))

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class TensorBoardLog:
    """Writes a run's events and weights into ``log_dir`` while passing every event on unchanged. ``compiled``:
    the run's graph, or the compiled parts whose weights the histograms show (a GAN's two)."""

    def __init__(self, log_dir: str | Path, compiled: CompiledGraph | Sequence[CompiledGraph]):
        from tensorboard.compat.proto.summary_pb2 import Summary  # here: the server imports this module too
        from torch.utils.tensorboard import summary

        self.parts = [compiled] if isinstance(compiled, CompiledGraph) else list(compiled)
        self.compiled = self.parts[0]
        self.summary, self.proto = summary, Summary
        self.file = EventFile(Path(log_dir))
        self.steps = 0
        self.last_epoch = 0
        self.histogram_epoch = 0
        self.histograms_cost = 0.0
        self.histograms_at = -float("inf")
        self.flushed_at = time.perf_counter()

    @classmethod
    def for_run(cls, run_path: str | Path, compiled: CompiledGraph | Sequence[CompiledGraph],
                data: PreparedData | None, emit: Emit) -> TensorBoardLog | None:
        """The log of a run directory, its graph traced on ``data`` (None: no graph); None (with a warning event)
        when it cannot be written."""
        try:
            log = cls(Path(run_path) / LOG_DIR, compiled)
        except OSError as e:
            emit(LogEvent(level="warning", message=f"tensorboard: cannot write the event files ({e})"))
            return None
        if data is not None:
            log.add_graph(data.inputs({k: v[:2] for k, v in data.train.items()}), emit)
        return log

    def add_graph(self, inputs: Sequence[torch.Tensor], emit: Emit) -> None:
        """The module's graph, traced once on ``inputs`` (a few samples), as ``SummaryWriter.add_graph`` writes it."""
        from tensorboard.compat.proto.event_pb2 import TaggedRunMetadata
        from torch.utils.tensorboard._pytorch_graph import graph

        module = self.compiled.module
        was_training = module.training
        try:
            module.eval()
            with torch.no_grad():
                graph_def, step_stats = graph(module, tuple(inputs))
        except Exception as e:  # tracing is best effort: the scalars and histograms do not depend on it
            first = (str(e).strip().splitlines() or [""])[0][:200]
            emit(LogEvent(level="warning", message=f"tensorboard: the graph could not be traced ({first})"))
            return
        finally:
            module.train(was_training)
        self.file.add(graph_def=graph_def.SerializeToString())
        self.file.add(tagged_run_metadata=TaggedRunMetadata(tag="step1", run_metadata=step_stats.SerializeToString()))
        self.file.flush()

    def scalar(self, tag: str, value: float, step: int) -> None:
        """As ``SummaryWriter.add_scalar`` writes one, without its trip through numpy."""
        self.scalars({tag: value}, step)

    def scalars(self, values: dict[str, float], step: int) -> None:
        """Several scalars at one step in one record (one summary with a value per tag, as TensorFlow's merged
        summaries are): one record and checksum instead of one each."""
        self.file.add(summary=self.proto(value=[self.proto.Value(tag=tag, simple_value=value)
                                                for tag, value in values.items()]), step=step)

    def wrap(self, emit: Emit) -> Emit:
        """``emit`` that also writes each event into the log."""
        def both(event: Event) -> None:
            self.write(event)
            emit(event)

        return both

    def write(self, event: Event) -> None:
        if isinstance(event, BatchEvent):
            self.steps = max(self.steps, event.steps)
            self.scalar("batch/loss", event.loss, (event.epoch - 1) * event.steps + event.step)
        elif isinstance(event, EpochEvent):
            self.scalars({**{tag_of(name): value for name, value in event.metrics.items()}, "lr": event.lr},
                         event.epoch)
            self.last_epoch = event.epoch
            if time.perf_counter() - self.histograms_at >= self.histograms_cost / SHARE:
                self.histograms(event.epoch)
            if time.perf_counter() - self.flushed_at >= FLUSH_S:
                self.file.flush()
                self.flushed_at = time.perf_counter()
        elif isinstance(event, DoneEvent):
            if self.last_epoch and self.histogram_epoch != self.last_epoch:
                self.histograms(self.last_epoch)
            if event.test_metrics:
                self.scalars({tag_of(name): value for name, value in event.test_metrics.items()},
                             event.best_epoch or self.last_epoch)
            self.file.flush()

    def histograms(self, epoch: int) -> None:
        started = time.perf_counter()
        for part in self.parts:
            for name, param in part.module.named_parameters():
                attr, _, rest = name.partition(".")
                label = f"{part.node_of_module(attr)}.{rest}" if rest else part.node_of_module(attr)
                for kind, values in (("weights", param), ("gradients", param.grad)):
                    if values is not None:
                        self.histogram(f"{kind}/{label}", values, epoch)
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
        self.file.add(summary=self.summary.histogram_raw(tag, low, high, values.numel(), total, squares, uppers,
                                                         counts), step=step)

    def close(self) -> None:
        self.file.close()
