"""``netcanvas train`` in a terminal: a progress bar per epoch with the live loss, then a metrics table."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..training.events import BatchEvent, DoneEvent, EpochEvent, Event, LogEvent
from .execute import RunOutcome, execute


def fmt_metrics(metrics: dict[str, float], per_split: int = 2) -> str:
    """The first few metrics and their validation twins (the table at the end has them all)."""
    train = [k for k in metrics if not k.startswith("val_")][:per_split]
    shown = train + [f"val_{k}" for k in train if f"val_{k}" in metrics]
    return "  ".join(f"{k} {metrics[k]:.4g}" for k in shown)


class EpochBars:
    """Receives training events and draws them: one bar per epoch, finished bars stay with their metrics."""

    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[info]}"), console=console)
        self.tasks: dict[int, TaskID] = {}

    def _task(self, epoch: int, epochs: int | None, steps: int | None) -> TaskID:
        if epoch not in self.tasks:
            label = f"epoch {epoch}/{epochs}" if epochs else f"epoch {epoch}"
            self.tasks[epoch] = self.progress.add_task(label, total=steps, info="")
        return self.tasks[epoch]

    def __call__(self, event: Event) -> None:
        if isinstance(event, BatchEvent):
            self.steps = event.steps  # the same every epoch; batch events are throttled, some epochs get none
            task = self._task(event.epoch, self.epochs, event.steps)
            self.progress.update(task, total=event.steps, completed=event.step, info=f"loss {event.loss:.4g}")
        elif isinstance(event, EpochEvent):
            self.epochs = event.epochs
            task = self._task(event.epoch, event.epochs, self.steps)
            total = self.progress.tasks[task].total or 1
            self.progress.update(task, description=f"epoch {event.epoch}/{event.epochs}", total=total,
                                 completed=total, info=fmt_metrics(event.metrics))
        elif isinstance(event, LogEvent) and event.level != "info":
            self.progress.console.print(f"[yellow]{event.level}:[/] {event.message}")
        elif isinstance(event, DoneEvent):
            self.progress.stop()

    epochs: int | None = None
    steps: int | None = None


@contextmanager
def stop_on_interrupt() -> Iterator[threading.Event]:
    """The first Ctrl+C asks the loop to stop after the current step (best weights are saved); a second one
    interrupts at once."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame: Any) -> None:
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def metrics_table(outcome: RunOutcome) -> Table:
    table = Table(title="final metrics", title_justify="left")
    table.add_column("metric")
    table.add_column("train", justify="right")
    table.add_column("validation", justify="right")
    table.add_column("test", justify="right")
    names = [k for k in outcome.metrics if not k.startswith("val_")]
    for k in outcome.test_metrics:
        name = k.removeprefix("test_")
        if name not in names:
            names.append(name)

    def cell(values: dict[str, float], key: str) -> str:
        return f"{values[key]:.4f}" if key in values else "—"

    for name in names:
        table.add_row(name, cell(outcome.metrics, name), cell(outcome.metrics, f"val_{name}"),
                      cell(outcome.test_metrics, f"test_{name}"))
    return table


def train_in_console(graph: dict[str, Any], dataset: str | dict[str, Any], config: dict[str, Any], out: Path,
                     console: Console | None = None, datasets_dir: Path | None = None) -> RunOutcome:
    """Train on a built-in dataset (its name) or an upload (its spec: ``{"id": ..., "target": ...}`` in
    ``datasets_dir``)."""
    console = console or Console()
    bars = EpochBars(console)
    spec = {"name": dataset} if isinstance(dataset, str) else dataset
    with stop_on_interrupt() as stop, bars.progress:
        outcome = execute(graph, spec, config, out, bars, stop.is_set, datasets_dir=datasets_dir)
    if outcome.history:
        console.print(metrics_table(outcome))
    return outcome
