"""Runs: the manager (processes, queue, stop, fan-out), the worker entry point, and one run's execution."""

from .execute import RunOutcome, execute
from .manager import RunManager, Watcher

__all__ = ["RunManager", "RunOutcome", "Watcher", "execute"]
