"""Runs as Ray Core tasks on a Ray cluster (``NETCANVAS_EXECUTOR=ray``, ``NETCANVAS_RAY_ADDRESS``).

Each run is one task (``max_retries=0``: a run is not started twice) and one small actor, its channel, made on
the same node as the API server's driver. The task trains in a temporary directory on its node, pushes its
events to the channel every few tenths of a second and asks it whether to stop; when it ends it returns the
run directory's files and its ``done`` event. The manager sees a ``RayRun`` as it sees a worker process and
its pipe: it receives the events through ``poll``/``recv``, stops the run through ``set`` (the training loop
ends after its step, the run ends ``stopped`` with its best weights) and kills it with ``kill``
(``ray.cancel(force=True)``). The files are written into the server's run directory before the ``done``
event is handed over, so whoever sees ``done`` can export at once. A task that fails without a ``done`` (its
worker process or node lost, the task cancelled) ends the run ``failed`` with Ray's reason. A Ray run cannot
pause (its ``RunHandle`` has no pause flag: the API answers 409); pausing needs a local worker process. A run
asking for several ``workers`` is a task of another kind (runs/ray_train.py): it drives Ray Train's workers, and
rank 0 leaves the files and ``done`` event on the channel for it to return.

Ray nodes need the same NetCanvas and torch installed; built-in datasets travel with the package, uploaded
ones are read from the data directory, which Ray nodes must then mount at the same path.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from ..training.events import DoneEvent, ErrorEvent, Event, LogEvent, StatusEvent
from .worker import WorkerSpec

SEND_EVERY_S = 0.2
"""How often a task pushes its events to its channel (and at most how stale a stop request can be)."""
CONNECT_TIMEOUT_S = 5.0


class ExecutorError(RuntimeError):
    """The Ray cluster cannot be reached or used; the message is one line for the user."""


def address_parts(address: str) -> tuple[str, int] | None:
    """host and port of ``HOST:PORT`` or ``ray://HOST:PORT``; None for ``auto`` (Ray finds a local cluster)."""
    if address == "auto":
        return None
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ExecutorError(f"NETCANVAS_RAY_ADDRESS {address!r} is not HOST:PORT, ray://HOST:PORT or auto")
    return host.strip("[]"), int(port)


class Channel:
    """The actor between a task and the manager: events one way, the stop request the other."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.stop = False
        self.result: dict[str, Any] | None = None

    def push(self, events: list[dict[str, Any]]) -> bool:
        self.events.extend(events)
        return self.stop

    def take(self) -> list[dict[str, Any]]:
        events, self.events = self.events, []
        return events

    def request_stop(self) -> None:
        self.stop = True

    def stopping(self) -> bool:
        return self.stop

    def finish(self, result: dict[str, Any]) -> None:
        """A data-parallel run's rank 0 leaves its files and ``done`` event here (runs/ray_train.py)."""
        self.result = result

    def finished(self) -> dict[str, Any] | None:
        return self.result


class Outbox:
    """A task's side of its channel: events go out every SEND_EVERY_S (epochs and errors at once), the stop
    request comes back with each push. The ``done`` event is kept for the task to return with the files."""

    def __init__(self, channel: Any):
        self.channel = channel
        self.pending: list[dict[str, Any]] = []
        self.done: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sent_at = time.monotonic()

    def flush(self) -> None:
        import ray

        with self.lock:
            batch, self.pending[:] = list(self.pending), []
        self.sent_at = time.monotonic()
        if ray.get(self.channel.push.remote(batch)):
            self.stop.set()

    def send(self, event: Event) -> None:
        if isinstance(event, StatusEvent) and event.status == "running":
            return  # the server announced it when it sent the task
        if isinstance(event, DoneEvent):
            self.done.append(event.model_dump(mode="json"))  # handed over with the files
            return
        with self.lock:
            self.pending.append(event.model_dump(mode="json"))
        if time.monotonic() - self.sent_at >= SEND_EVERY_S or event.type in ("epoch", "error"):
            self.flush()

    def should_stop(self) -> bool:
        if not self.stop.is_set() and time.monotonic() - self.sent_at >= SEND_EVERY_S:
            self.flush()
        return self.stop.is_set()

    def result(self, run_dir: Path) -> dict[str, Any]:
        """What the task returns: the run directory's files and the ``done`` event (None when there was none)."""
        self.flush()
        files = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} if run_dir.is_dir() else {}
        return {"files": files, "done": self.done[-1] if self.done else None}


def train_task(spec: WorkerSpec, channel: Any) -> dict[str, Any]:
    """The Ray task: train one run into a temporary directory; return its files and its ``done`` event."""
    from datetime import datetime

    import ray

    from .execute import execute

    outbox = Outbox(channel)
    node = ray.get_runtime_context().get_node_id()
    with tempfile.TemporaryDirectory(prefix="netcanvas-ray-") as tmp:
        run_dir = Path(tmp) / spec.run_id
        outbox.send(LogEvent(message=f"training on Ray node {node[:12]} ({socket.gethostname()}), "
                                     f"worker pid {os.getpid()}"))
        created = datetime.fromisoformat(spec.created_at) if spec.created_at else None
        try:
            execute(spec.graph, spec.dataset, spec.config, run_dir, outbox.send, outbox.should_stop,
                    run_id=spec.run_id, threads=spec.threads, created_at=created, datasets_dir=spec.datasets_dir,
                    runs_dir=Path(spec.run_dir).parent)  # where config.init.run is (a shared file system)
        except Exception as e:  # a bug of ours still ends the run with a message, as in a local worker
            outbox.send(ErrorEvent(message=f"the training process crashed: {type(e).__name__}: {e}"))
            outbox.send(DoneEvent(status="failed"))
        return outbox.result(run_dir)


class RayRun:
    """One run on the cluster, seen by the manager as a worker process (``is_alive``, ``kill``, ``join``), its
    pipe (``poll``, ``recv``, ``close``) and its stop flag (``set``)."""

    pid: int | None = None
    exitcode: int | None = None

    def __init__(self, spec: WorkerSpec, channel: Any, ref: Any):
        self.spec, self.channel, self.ref = spec, channel, ref
        self.received: deque[dict[str, Any]] = deque()
        self.failure = "the Ray task ended before the run finished"
        self.collected = False

    # ---- the process -----------------------------------------------------------------------------------------
    def is_alive(self) -> bool:
        import ray

        ready, _ = ray.wait([self.ref], timeout=0)
        return not ready

    def kill(self) -> None:
        import ray

        ray.cancel(self.ref, force=True)

    def join(self, timeout: float | None = None) -> None:
        import ray

        ray.wait([self.ref], timeout=timeout)

    # ---- the pipe ---------------------------------------------------------------------------------------------
    def poll(self, timeout: float = 0.0) -> bool:
        import ray

        deadline = time.monotonic() + timeout
        while not self.received:
            ended = not self.is_alive()
            try:
                self.received.extend(ray.get(self.channel.take.remote()))
            except ray.exceptions.RayError:  # the channel is lost: the task fails on its next push and says why
                ray.wait([self.ref], timeout=max(0.0, deadline - time.monotonic()))
                ended = not self.is_alive()
            if not self.received and ended:
                self._collect()  # what is left: the files and the done event
            if self.received or ended or time.monotonic() >= deadline:
                break
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return bool(self.received)

    def recv(self) -> dict[str, Any]:
        if not self.received and not self.poll():
            raise EOFError
        return self.received.popleft()

    def close(self) -> None:
        import ray

        ray.kill(self.channel)

    # ---- the stop flag ----------------------------------------------------------------------------------------
    def set(self) -> None:
        self.channel.request_stop.remote()

    def _collect(self) -> None:
        """Once the task is over: its files into the run directory, then its done event; or why it failed."""
        import ray

        if self.collected:
            return
        self.collected = True
        try:
            result = ray.get(self.ref)
        except ray.exceptions.TaskCancelledError:
            self.failure = "the Ray task running this run was cancelled"
            return
        except ray.exceptions.RayError as e:
            first = next((line.strip() for line in str(e).splitlines() if line.strip()), "")
            self.failure = f"the Ray worker running this run was lost: {type(e).__name__}: {first}"[:2000]
            return
        run_dir = Path(self.spec.run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        for name, data in result["files"].items():
            part = run_dir / f".{name}.part"
            part.write_bytes(data)
            part.replace(run_dir / name)
        if result["done"] is not None:
            self.received.append(result["done"])


class RayExecutor:
    """The connection to the cluster; ``launch`` sends one run."""

    def __init__(self, address: str):
        self.address = address
        self.connected_here = False

    def connect(self) -> None:
        try:
            import ray
        except ImportError:
            raise ExecutorError("NETCANVAS_EXECUTOR=ray needs Ray: pip install 'netcanvas[ray]'") from None
        parts = address_parts(self.address)
        if parts is not None:
            try:
                socket.create_connection(parts, timeout=CONNECT_TIMEOUT_S).close()
            except OSError as e:
                raise ExecutorError(f"cannot reach the Ray cluster at {self.address}: {e.strerror or e}") from None
        if ray.is_initialized():  # this process is already a driver (tests, a notebook): use its connection
            return
        try:
            ray.init(address=self.address, namespace="netcanvas", log_to_driver=False, configure_logging=False)
        except Exception as e:  # ray raises ConnectionError, RuntimeError, ValueError ... with long texts
            first = next((line.strip() for line in str(e).splitlines() if line.strip()), type(e).__name__)
            raise ExecutorError(f"cannot connect to the Ray cluster at {self.address}: {first}") from None
        self.connected_here = True

    def launch(self, spec: WorkerSpec) -> RayRun:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
        channel = ray.remote(num_cpus=0)(Channel).options(scheduling_strategy=here).remote()
        if spec.config.workers > 1:  # the task only drives Ray Train's workers, which hold the CPUs (or GPUs)
            from .ray_train import train_parallel

            return RayRun(spec, channel, ray.remote(num_cpus=0, max_retries=0)(train_parallel).remote(spec, channel))
        task = ray.remote(num_cpus=1, max_retries=0)(train_task)
        return RayRun(spec, channel, task.remote(spec, channel))

    def close(self) -> None:
        if self.connected_here:
            import ray

            ray.shutdown()
