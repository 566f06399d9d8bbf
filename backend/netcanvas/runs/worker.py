"""The child-process entry points of server runs (started with the ``spawn`` context).

``run_worker`` trains one run. ``standby_worker`` is the same, started ahead of time:
it pays for the imports and the first compile (2–3 s on a small machine) while no run
needs it, then waits for its run's spec, so pressing Train starts training at once.

Events go to the parent through a one-way pipe as plain dicts; the parent numbers,
stores and fans them out. The parent holds the other end of ``stop``: setting it asks
the training loop to end after the current step (the run ends ``stopped`` with the
best weights so far on disk); setting ``pause`` asks it to write a checkpoint before its next
step and end ``paused`` (``WorkerSpec.resume`` starts a run from that checkpoint).
"""

from __future__ import annotations

import math
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as StopFlag
from typing import Any

from ..training.config import TrainConfig
from ..training.events import DoneEvent, ErrorEvent, Event, StatusEvent

FLAG_S = 0.01
"""How often the worker reads the stop and pause flags: a stop or pause waits at most this much longer."""


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
    resume: bool = False
    """Start from the run directory's pause checkpoint (training/pause.py)."""


def at_most_every(is_set: Callable[[], bool], seconds: float) -> Callable[[], bool]:
    """``is_set`` asked at most once per ``seconds`` (the first time at once), its last answer given in between;
    once it says True, True from then on. The loop asks before every step, and a multiprocessing Event's
    ``is_set`` (a lock and a semaphore shared with the parent) costs 5-15 µs: several percent of a small step."""
    asked_at = -math.inf
    answer = False

    def check() -> bool:
        nonlocal asked_at, answer
        if not answer and time.perf_counter() - asked_at >= seconds:
            answer, asked_at = is_set(), time.perf_counter()
        return answer

    return check


def run_worker(spec: WorkerSpec, conn: Connection, stop: StopFlag, pause: StopFlag | None = None) -> None:
    def send(event: Event) -> None:
        # The parent announced "running" when it started this process.
        if isinstance(event, StatusEvent) and event.status == "running":
            return
        conn.send(event.model_dump(mode="json"))

    try:
        from datetime import datetime

        from .execute import execute

        created = datetime.fromisoformat(spec.created_at) if spec.created_at else None
        execute(spec.graph, spec.dataset, spec.config, spec.run_dir, send, at_most_every(stop.is_set, FLAG_S),
                run_id=spec.run_id, threads=spec.threads, created_at=created, datasets_dir=spec.datasets_dir,
                should_pause=at_most_every(pause.is_set, FLAG_S) if pause is not None else None, resume=spec.resume)
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
    """Import what a run needs and train a tiny graph for an epoch through the real loop: the first of each in
    a process is slow (the first optimizer alone imports for about a second, the built-in datasets' loader,
    scikit-learn's, about half a second; the first step, metrics and events each pay for their kernels)."""
    import numpy as np
    import sklearn.datasets  # noqa: F401  (what the built-in datasets load with)
    import torch.utils.tensorboard  # noqa: F401  (a run's event files: a third of a second the first time)

    from ..compiler import WARM_UP_GRAPH, compile_graph
    from ..data import from_arrays, prepare
    from ..training import TrainConfig, train
    from ..training.tensorboard import TensorBoardLog

    compiled = compile_graph(WARM_UP_GRAPH)
    rng = np.random.default_rng(0)
    samples = from_arrays(rng.normal(size=(16, 1, 4, 4)).astype(np.float32), rng.integers(0, 2, 16), compiled)
    data = prepare(samples, compiled, seed=0, validation_split=0.25)
    train(compiled, data, TrainConfig(epochs=1, batch_size=8, device="cpu"), lambda event: None)
    with tempfile.TemporaryDirectory() as logs:  # the first graph traced for TensorBoard in a process: about 1 s
        log = TensorBoardLog(logs, compiled)
        log.add_graph(data.inputs(data.train), lambda event: None)
        log.close()  # before the folder goes: its writer thread would write into a folder that is gone


def standby_worker(specs: Connection, conn: Connection, stop: StopFlag, pause: StopFlag | None = None) -> None:
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
    run_worker(spec, conn, stop, pause)
