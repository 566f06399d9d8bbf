"""Training: config (compile + fit), losses, metrics, optimizers and the pure training loop."""

from __future__ import annotations

from typing import Any

from .config import LOSS_ALIASES, METRICS, OPTIMIZERS, SCHEDULES, TrainConfig
from .events import EVENT_ADAPTER, BatchEvent, DoneEvent, EpochEvent, ErrorEvent, Event, LogEvent, StatusEvent
from .loop import Evaluator, TrainingError, TrainResult, evaluate, predict, train
from .losses import LOSS_DOCS
from .metrics import METRIC_DIRECTIONS, METRIC_DOCS


def _option_entries(models: tuple[type, ...]) -> list[dict[str, Any]]:
    entries = []
    for model in models:
        schema = model.model_json_schema()  # type: ignore[attr-defined]
        entries.append({"type": schema["properties"]["type"]["default"], "doc": (model.__doc__ or "").strip(),
                        "params_schema": schema})
    return entries


def catalog_entries() -> dict[str, Any]:
    """Optimizers and schedules with their JSON Schemas, losses with their aliases, metrics with their
    direction, and the whole config's JSON Schema."""
    return {
        "optimizers": _option_entries(OPTIMIZERS),
        "schedules": _option_entries(SCHEDULES),
        "losses": [{"type": kind, "doc": doc,
                    "aliases": sorted(a for a, k in LOSS_ALIASES.items() if k == kind and a != kind)}
                   for kind, doc in LOSS_DOCS.items()],
        "metrics": [{"type": m, "doc": METRIC_DOCS[m], "direction": METRIC_DIRECTIONS[m]} for m in METRICS],
        "config_schema": TrainConfig.model_json_schema(),
    }


__all__ = ["EVENT_ADAPTER", "BatchEvent", "DoneEvent", "EpochEvent", "ErrorEvent", "Evaluator", "Event",
           "LogEvent", "StatusEvent", "TrainConfig", "TrainResult", "TrainingError", "catalog_entries",
           "evaluate", "predict", "train"]
