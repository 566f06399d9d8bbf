"""The child-process entry points of server runs (started with the ``spawn`` context).

``run_worker`` trains one run. ``standby_worker`` is the same, started ahead of time:
it pays for the imports and the first compile (2–3 s on a small machine) while no run
needs it, then waits for its run's spec, so pressing Train starts training at once.

Events go to the parent through a one-way pipe as plain dicts; the parent numbers,
stores and fans them out. The parent holds the other end of ``stop``: setting it asks
the training loop to end after the current step (the run ends ``stopped`` with the
best weights so far on disk).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as StopFlag
from typing import Any

from ..training.config import TrainConfig
from ..training.events import DoneEvent, ErrorEvent, Event, StatusEvent


@dataclass
class WorkerSpec:
    run_id: str
    graph: dict[str, Any]
    dataset: dict[str, Any]
    config: TrainConfig
    run_dir: str
    threads: int
    created_at: str | None = None
    datasets_dir: str | None = None


def run_worker(spec: WorkerSpec, conn: Connection, stop: StopFlag) -> None:
    def send(event: Event) -> None:
        # The parent announced "running" when it started this process.
        if isinstance(event, StatusEvent) and event.status == "running":
            return
        conn.send(event.model_dump(mode="json"))

    try:
        from datetime import datetime

        from .execute import execute

        created = datetime.fromisoformat(spec.created_at) if spec.created_at else None
        execute(spec.graph, spec.dataset, spec.config, spec.run_dir, send, stop.is_set,
                run_id=spec.run_id, threads=spec.threads, created_at=created, datasets_dir=spec.datasets_dir)
    except BaseException as e:  # a bug of ours still ends the run with a message, not a silent exit
        message = f"the training process crashed: {type(e).__name__}: {e}"
        try:
            send(ErrorEvent(message=message))
            send(DoneEvent(status="failed"))
        except OSError:
            pass
        traceback.print_exc()
    finally:
        conn.close()


def warm_up() -> None:
    """Import what a run needs, compile a tiny graph and take one optimizer step: the first of each in a
    process is slow (the first optimizer alone imports for about a second)."""
    import torch

    from ..compiler import WARM_UP_GRAPH, compile_graph
    from . import execute  # noqa: F401  (torch, the catalog, datasets, the training loop)

    compiled = compile_graph(WARM_UP_GRAPH)
    optimizer = torch.optim.Adam(compiled.module.parameters())
    compiled.module(torch.zeros(2, 1, 4, 4)).sum().backward()
    optimizer.step()


def standby_worker(specs: Connection, conn: Connection, stop: StopFlag) -> None:
    """Warm up, then wait for a WorkerSpec on ``specs`` and run it; end quietly if none comes."""
    try:
        warm_up()
    except Exception:
        traceback.print_exc()  # the run itself will report what is broken
    try:
        spec = specs.recv()
    except (EOFError, OSError):
        conn.close()
        return
    finally:
        specs.close()
    run_worker(spec, conn, stop)
