"""The child-process entry point of a server run (started with the ``spawn`` context).

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

from ..training.events import DoneEvent, ErrorEvent, Event, StatusEvent


@dataclass
class WorkerSpec:
    run_id: str
    graph: dict[str, Any]
    dataset: dict[str, Any]
    config: dict[str, Any]
    run_dir: str
    threads: int
    created_at: str | None = None


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
                run_id=spec.run_id, threads=spec.threads, created_at=created)
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
