"""The run manager: one child process per run, a FIFO queue, stop, crash detection, event fan-out.

Threads and loops:

- ``submit``/``stop``/``delete`` are called from request threads; process bookkeeping is
  guarded by one lock.
- Each running run has a reader thread that receives the child's events from a pipe,
  numbers them (``seq``), stores them with the run's new state in one transaction, and
  only then hands them to the event loop for fan-out. A pipe that reaches end-of-file
  without a ``done`` event means the worker died: the run becomes ``failed`` (or
  ``stopped`` when a stop was asked for) with a message.
- Fan-out runs on the event loop: each websocket watcher has its own bounded queue.
  ``batch`` events beyond the bound are skipped for that watcher only; ``status``,
  ``epoch``, ``log``, ``error`` and ``done`` are always queued. Nothing a watcher does
  can block the reader thread or the worker.
- ``pause`` asks a running run's worker to write a checkpoint before its next step and end; the run becomes
  ``paused`` (its worker gone, its slot free). ``resume`` queues it again and the worker that takes it starts
  from the checkpoint, with the events numbered on from where they stopped. A server that starts leaves paused
  runs paused: they are resumed by a request, on any server sharing the database and the data directory. A pause
  asked of a server that does not own the run leaves ``pause.request`` in the run directory for its owner.
- Several servers may share one database (``cluster.py``): queued runs wait in the database
  and a server with a free slot claims the oldest; only a run's owner writes its events.
  A tending thread keeps the heartbeat, claims runs submitted elsewhere, passes on stop
  requests and deletions made through other servers, fails the runs of dead servers, and
  brings the events other servers store to this server's watchers (it polls the events
  table every ``FOLLOW_S``: the same on SQLite and PostgreSQL). Each watched run's events
  reach its watchers in contiguous, increasing ranges, whichever server stored them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import shutil
import signal
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as StopFlag
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .. import __version__
from ..artifacts import RunDir, RunInfo
from ..store import FINISHED, ArtifactRow, Database, EventRow, RunRow, new_id, utcnow
from ..training import TrainConfig
from ..training.events import EVENT_ADAPTER, DoneEvent, EpochEvent, ErrorEvent, Event, LogEvent, StatusEvent
from ..training.pause import PAUSE_FILE, CheckpointError, load_paused
from .cluster import HEARTBEAT_S, Cluster
from .execute import validation_message
from .ray_executor import RayExecutor, RayRun
from .worker import WorkerSpec, run_worker, standby_worker

log = logging.getLogger(__name__)

WATCHER_BATCH_LIMIT = 256
"""Events a watcher may have pending before further ``batch`` events are skipped for it."""
FOLLOW_S = 0.2
"""How often the events other servers store are looked for (only for runs this server's watchers follow)."""
RECOVER_S = 5.0
"""How often the runs of dead servers are looked for."""
WATCHER_HARD_LIMIT = 20_000
"""Pending events at which a watcher is disconnected (it can resume with ``?after=``)."""
PAUSE_REQUEST = "pause.request"
"""A file in a run's directory by which a server asks the run's owner to pause it (servers share the data directory)."""
ARTIFACT_FILES = {"best_weights": "best.safetensors", "last_weights": "last.safetensors",
                  "preprocessing": "preprocessing.json", "history": "history.json"}


class RunConflict(Exception):
    """A request the run's status does not allow (pausing a run that is not running, ...); the message names
    the run and its status."""


def finite(value: Any) -> Any:
    """NaN and infinities become null: JSON has no word for them (browsers reject ``NaN``)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def exit_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (it may have run out of memory)" if name == "SIGKILL" else ""
        return f"the training process was killed by {name}{hint}"
    if exitcode:
        return f"the training process exited with code {exitcode} before the run finished"
    return "the training process ended before the run finished"


class Watcher:
    """One websocket's view of a run's live events."""

    def __init__(self, run_id: str, limit: int = WATCHER_BATCH_LIMIT):
        self.run_id = run_id
        self.limit = limit
        self.items: deque[dict[str, Any]] = deque()
        self.ready = asyncio.Event()
        self.closed: str | None = None
        self.close_code = 1000
        self.skipped = 0

    def offer(self, event: dict[str, Any]) -> None:
        if self.closed is not None:
            return
        if event["type"] == "batch" and len(self.items) >= self.limit:
            self.skipped += 1
            return
        if len(self.items) >= WATCHER_HARD_LIMIT:
            self.close("this watcher fell too far behind; reconnect with ?after=SEQ", 1013)
            return
        self.items.append(event)
        self.ready.set()

    def close(self, reason: str, code: int = 1000) -> None:
        """End the stream; ``code`` is the websocket close code its client will see."""
        if self.closed is None:
            self.closed, self.close_code = reason, code
        self.ready.set()

    async def next(self) -> dict[str, Any] | None:
        """The next event, or None once the watcher is closed and drained."""
        while not self.items:
            if self.closed is not None:
                return None
            self.ready.clear()
            await self.ready.wait()
        return self.items.popleft()


@dataclass
class Standby:
    """A worker process started ahead of time, waiting for its run."""

    process: BaseProcess
    specs: Connection
    conn: Connection
    stop: StopFlag
    pause: StopFlag

    def discard(self) -> None:
        self.process.kill()  # it holds nothing yet
        self.process.join(5)
        self.specs.close()
        self.conn.close()


@dataclass
class RunHandle:
    run_id: str
    process: BaseProcess | RayRun
    conn: Connection | RayRun
    stop: StopFlag | RayRun
    stop_requested_at: float | None = None
    deleted: bool = False
    finished: threading.Event = field(default_factory=threading.Event)
    spec: WorkerSpec | None = None
    """Still to be sent to a standby worker over ``specs``."""
    specs: Connection | None = None
    pause: StopFlag | None = None
    """Set to pause the run (local workers only)."""


class RunManager:
    def __init__(self, db: Database, runs_dir: str | Path, *, max_concurrent: int = 1, worker_threads: int = 1,
                 stop_grace: float = 15.0, watcher_limit: int = WATCHER_BATCH_LIMIT, standby: bool = True,
                 executor: RayExecutor | None = None):
        self.db = db
        self.runs_dir = Path(runs_dir)
        self.datasets_dir = self.runs_dir.parent / "datasets"  # the data directory holds runs/ and datasets/
        self.max_concurrent = max_concurrent
        self.worker_threads = worker_threads
        self.stop_grace = stop_grace
        self.watcher_limit = watcher_limit
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.RLock()
        self._active: dict[str, RunHandle] = {}
        self._next_seq: dict[str, int] = {}
        self._watchers: dict[str, set[Watcher]] = {}
        self._delivered: dict[str, int] = {}
        """Watched run -> the last seq handed to this server's watchers (guarded by the lock)."""
        self.cluster = Cluster(db)
        self._halt = threading.Event()
        self._tender: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self.executor = executor
        """Where runs train: None for local worker processes, else a Ray cluster."""
        self._use_standby = standby and executor is None
        self._standby: Standby | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self.cluster.join)
        await asyncio.to_thread(self.recover, True)
        with self._lock:
            self._replenish()
            self._schedule()  # runs other servers queued while all of theirs were busy
        self._tender = threading.Thread(target=self._tend, name="netcanvas-tend", daemon=True)
        self._tender.start()

    def recover(self, starting: bool = False) -> list[str]:
        """Mark as failed the runs left ``running`` or ``queued`` by a server process that is gone. Starting as the
        only live server, the queue's runs are failed too (the server that queued them stopped)."""
        live = self.cluster.live_servers()
        with self.db.session() as s:
            rows = s.execute(select(RunRow.id, RunRow.status, RunRow.owner)
                             .where(RunRow.status.in_(("queued", "running")))).all()
        failed = []
        for run_id, status, owner in rows:
            if owner in live or (owner is None and status == "queued" and not (starting and live == {self.cluster.id})):
                continue
            if owner is not None and owner != self.cluster.id and not self.cluster.claim(run_id, owner):
                continue  # another live server got there first
            if owner is None and status == "queued" and not self.cluster.claim(run_id):
                continue
            message = (f"the server stopped while this run was {status}; it was marked failed when the server "
                       "started again" if starting else
                       f"the server running this run stopped while it was {status}; another server marked it failed")
            if self._fail_orphan(run_id, message):
                failed.append(run_id)
        if failed:
            log.warning("marked %d orphaned run(s) failed", len(failed))
        return failed

    def _fail_orphan(self, run_id: str, message: str) -> bool:
        """Fail a run that no server goes on with; True. A resumed run still waiting for a worker (queued, its
        checkpoint on disk) is paused again instead, to be resumed later; False."""
        with self.db.session() as s:
            row = s.execute(select(RunRow.status, RunRow.started_at).where(RunRow.id == run_id)).first()
        checkpoint = self.run_dir(run_id).path / PAUSE_FILE
        if row is not None and row.status == "queued" and row.started_at is not None and checkpoint.is_file():
            self._record(run_id, [StatusEvent(status="paused", message="the server stopped before this resumed run "
                                                                      "got a worker; resume it again")])
            return False
        self._record(run_id, [ErrorEvent(message=message), DoneEvent(status="failed")])
        return True

    async def close(self, grace: float = 5.0) -> None:
        """Stop every run (gracefully, then by force), fail the queued ones, release the watchers."""
        self._closing = True
        self._halt.set()
        if self._tender is not None:
            await asyncio.to_thread(self._tender.join, 10)
        await asyncio.to_thread(self._shutdown, grace)
        for watchers in self._watchers.values():
            for w in watchers:
                w.close("the server is shutting down", 1012)

    def _shutdown(self, grace: float) -> None:
        with self._lock:
            handles = list(self._active.values())
        for handle in handles:
            self._record(handle.run_id, [LogEvent(level="warning", message="the server is shutting down: "
                                                                            "stopping this run")])
            handle.stop_requested_at = time.monotonic()
            handle.stop.set()
        deadline = time.monotonic() + grace
        for handle in handles:
            if not handle.finished.wait(max(0.0, deadline - time.monotonic())):
                handle.process.kill()
        for handle in handles:
            handle.finished.wait(10)
        try:
            if self.cluster.live_servers() == {self.cluster.id}:  # the last server: nobody else will run the queue
                while (run_id := self.cluster.claim_next()) is not None:
                    self._fail_orphan(run_id, "the server shut down before this run started")
            self.cluster.leave()
        except SQLAlchemyError as e:
            log.warning("could not hand over the queue on shutdown: %s", e)
        with self._lock:
            standby, self._standby = self._standby, None
        if standby is not None:
            standby.discard()

    # ---- requests ----------------------------------------------------------------------------------------------

    def run_dir(self, run_id: str) -> RunDir:
        return RunDir(self.runs_dir / run_id)

    def submit(self, graph: dict[str, Any], dataset: dict[str, Any], config: TrainConfig,
               name: str | None = None) -> str:
        """Store a new run as ``queued`` and start it when a slot is free; returns its id. The worker writes
        the run directory when the run starts."""
        run_id = new_id()
        row = RunRow(id=run_id, name=name or self.default_name(graph), graph=graph, dataset=dataset,
                     config=config.model_dump(mode="json"), seed=config.seed, status="queued",
                     torch_version=torch.__version__, netcanvas_version=__version__)
        self._record(run_id, [StatusEvent(status="queued")], new_row=row)  # in one transaction: no server can
        with self._lock:                                                  # claim it before it is "queued"
            self._schedule()
        return run_id

    def default_name(self, graph: dict[str, Any]) -> str:
        """``<graph name> #N``, N one more than the highest of the runs so named: the runs of one graph are told
        apart in the Runs list and in comparisons (two runs submitted at the same instant may still share one)."""
        prefix = f"{str(graph.get('name') or 'untitled')[:180]} #"
        with self.db.session() as s:
            names = s.scalars(select(RunRow.name).where(RunRow.name.startswith(prefix, autoescape=True))).all()
        numbers = [int(n[len(prefix):]) for n in names if n[len(prefix):].isdigit()]
        return f"{prefix}{max(numbers, default=0) + 1}"

    def stop(self, run_id: str) -> bool:
        """Ask a run to stop; False when it has already finished (or does not exist)."""
        self._settle_paused(run_id)
        with self._lock:
            handle = self._active.get(run_id)
            if handle is not None:
                self._stop_local(handle)
                return True
            with self.db.session() as s:
                status = s.scalar(select(RunRow.status).where(RunRow.id == run_id))
            if status is None or status in FINISHED:
                return False
            if status == "paused" and self._record(run_id, [LogEvent(message="stopped while paused"),
                                                            DoneEvent(status="stopped")], expect="paused"):
                self.run_dir(run_id).path.joinpath(PAUSE_FILE).unlink(missing_ok=True)
                return True
            if status == "queued" and self.cluster.claim(run_id):  # nobody runs it yet: it is this server's to end
                self._record(run_id, [LogEvent(message="stopped before it started"), DoneEvent(status="stopped")])
                return True
            self.cluster.request_stop(run_id)  # another server runs it: its owner stops it
            return True

    def _stop_local(self, handle: RunHandle) -> None:
        if handle.stop_requested_at is None:
            handle.stop_requested_at = time.monotonic()
            handle.stop.set()
            self._record(handle.run_id, [LogEvent(message="stop requested")])

    def pause(self, run_id: str) -> None:
        """Ask a running run to pause before its next step; it becomes ``paused`` once its checkpoint is written.
        Raises KeyError for an unknown run, RunConflict naming the status of a run that is not running or saying
        that a run on Ray cannot pause."""
        status = self._status(run_id)
        with self._lock:
            handle = self._active.get(run_id)
            if status == "running" and handle is not None and handle.stop_requested_at is None and not handle.deleted:
                if handle.pause is None:
                    raise RunConflict(f"run '{run_id}' runs on Ray; pausing needs the local executor "
                                      "(NETCANVAS_EXECUTOR=local)")
                self._pause_local(handle)
                return
        if status == "running" and handle is None:  # another server trains it: it looks for this file
            run_dir = self.run_dir(run_id).path
            if not run_dir.is_dir():
                raise RunConflict(f"run '{run_id}' trains on another server, which does not share this server's "
                                  "data directory; pause it through that server")
            (run_dir / PAUSE_REQUEST).touch()
            return
        if status == "running":
            raise RunConflict(f"run '{run_id}' is stopping; only a running run can be paused")
        raise RunConflict(f"run '{run_id}' is {status}; only a running run can be paused")

    def _pause_local(self, handle: RunHandle) -> None:
        if handle.pause is not None and not handle.pause.is_set():
            handle.pause.set()
            self._record(handle.run_id, [LogEvent(message="pause requested: the run pauses after its current step")])

    def resume(self, run_id: str) -> None:
        """Queue a paused run again; the worker that takes it starts from its checkpoint. Raises KeyError for an
        unknown run, RunConflict when it is not paused or its checkpoint is missing or cannot be read (the run
        then stays paused: it can still be stopped or deleted)."""
        status = self._status(run_id)
        if status != "paused":
            raise RunConflict(f"run '{run_id}' is {status}; only a paused run can be resumed")
        self._settle_paused(run_id)
        try:
            load_paused(self.run_dir(run_id).path / PAUSE_FILE)
        except CheckpointError as e:
            raise RunConflict(f"cannot resume run '{run_id}': {e}") from None
        (self.run_dir(run_id).path / PAUSE_REQUEST).unlink(missing_ok=True)  # one that came too late
        with self._lock:
            if not self._record(run_id, [StatusEvent(status="queued", message="resumed: waiting for a free "
                                                                              "worker")], expect="paused"):
                raise RunConflict(f"run '{run_id}' is {self._status(run_id)}; only a paused run can be resumed")
            self._schedule()

    def _settle_paused(self, run_id: str) -> None:
        """Wait for the worker of a run that has just paused to end: ``paused`` is its last event, but until the
        process is gone its handle is active, and a stop or resume would be taken for a running run's."""
        with self._lock:
            handle = self._active.get(run_id)
        if handle is not None and self._status(run_id) == "paused":
            handle.finished.wait(30)

    def _status(self, run_id: str) -> str:
        with self.db.session() as s:
            status = s.scalar(select(RunRow.status).where(RunRow.id == run_id))
        if status is None:
            raise KeyError(run_id)
        return str(status)

    def delete(self, run_id: str) -> bool:
        """Stop the run if it is running, then remove it, its events, artifacts and files."""
        with self._lock:
            handle = self._active.get(run_id)
            if handle is not None:
                handle.deleted = True
                handle.process.kill()
        if handle is not None:
            handle.finished.wait(30)
        with self._lock, self.db.session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                return False
            s.execute(delete(EventRow).where(EventRow.run_id == run_id))
            s.execute(delete(ArtifactRow).where(ArtifactRow.run_id == run_id))
            s.delete(row)
            self._next_seq.pop(run_id, None)
        shutil.rmtree(self.run_dir(run_id).path, ignore_errors=True)
        self._call_in_loop(self._close_watchers, run_id, "the run was deleted")
        return True

    def worker_pid(self, run_id: str) -> int | None:
        with self._lock:
            handle = self._active.get(run_id)
            return handle.process.pid if handle is not None else None

    # ---- reading -------------------------------------------------------------------------------------------------

    def events_after(self, run_id: str, after: int = 0, types: Sequence[str] | None = None) -> list[dict[str, Any]]:
        with self.db.session() as s:
            query = select(EventRow.payload).where(EventRow.run_id == run_id, EventRow.seq > after)
            if types:
                query = query.where(EventRow.type.in_(types))
            return [dict(p) for p in s.scalars(query.order_by(EventRow.seq))]

    # ---- watchers (event-loop thread only) ------------------------------------------------------------------------

    def subscribe(self, run_id: str) -> Watcher:
        """A watcher of the events stored from now on (the caller then reads the stored ones: overlaps are
        possible, gaps are not)."""
        watcher = Watcher(run_id, self.watcher_limit)
        if self._closing:
            watcher.close("the server is shutting down", 1012)
        with self._lock:
            if run_id not in self._delivered:
                self._delivered[run_id] = self._last_seq(run_id)
        self._watchers.setdefault(run_id, set()).add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        watchers = self._watchers.get(watcher.run_id)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[watcher.run_id]
                with self._lock:
                    self._delivered.pop(watcher.run_id, None)

    def _last_seq(self, run_id: str) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.max(EventRow.seq)).where(EventRow.run_id == run_id)) or 0)

    def _deliver(self, run_id: str, payloads: list[dict[str, Any]], s: Session | None = None) -> None:
        """Hand newly stored events of a watched run to its watchers, after any stored before them that they have
        not had (those another server stored). Caller holds the lock."""
        last = self._delivered.get(run_id)
        if last is None or not payloads:
            return
        if payloads[0]["seq"] > last + 1:
            with contextlib.ExitStack() as stack:
                session = s if s is not None else stack.enter_context(self.db.session())
                missed = [dict(p) for p in session.scalars(
                    select(EventRow.payload).where(EventRow.run_id == run_id, EventRow.seq > last,
                                                   EventRow.seq < payloads[0]["seq"]).order_by(EventRow.seq))]
            payloads = missed + payloads
        fresh = [p for p in payloads if p["seq"] > last]
        if fresh:
            self._delivered[run_id] = fresh[-1]["seq"]
            self._call_in_loop(self._fan_out, run_id, fresh)

    def _fan_out(self, run_id: str, events: list[dict[str, Any]]) -> None:
        for watcher in list(self._watchers.get(run_id, ())):
            for event in events:
                watcher.offer(event)

    def _close_watchers(self, run_id: str, reason: str) -> None:
        for watcher in list(self._watchers.get(run_id, ())):
            watcher.close(reason, 4410)

    def _call_in_loop(self, fn: Any, *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is watching any more
            loop.call_soon_threadsafe(fn, *args)

    # ---- processes -------------------------------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Claim and start queued runs, oldest first, while slots are free (caller holds the lock)."""
        while not self._closing and len(self._active) < self.max_concurrent:
            run_id = self.cluster.claim_next()
            if run_id is None:
                return
            self._launch(run_id)

    def _tend(self) -> None:
        """The tending thread: follow other servers' events, keep the heartbeat, take queued runs, pass on stops."""
        beat = recovered = time.monotonic()
        while not self._halt.wait(FOLLOW_S):
            try:
                self._follow_others()
                if time.monotonic() - beat >= HEARTBEAT_S:
                    beat = time.monotonic()
                    self.cluster.heartbeat()
                    self._take_requests()
                    with self._lock:
                        self._schedule()
                if time.monotonic() - recovered >= RECOVER_S:
                    recovered = time.monotonic()
                    self.recover()
            except SQLAlchemyError as e:
                log.warning("could not reach the database: %s", str(e).splitlines()[0])
            except Exception:
                log.exception("tending the runs failed")

    def _follow_others(self) -> None:
        """Bring watched runs' events stored by other servers (or by this one outside a worker) to the watchers."""
        with self._lock:
            followed = [run_id for run_id in self._delivered if run_id not in self._active]
        for run_id in followed:
            with self._lock, self.db.session() as s:
                last = self._delivered.get(run_id)
                if last is None or run_id in self._active:
                    continue
                if s.get(RunRow, run_id) is None:
                    self._call_in_loop(self._close_watchers, run_id, "the run was deleted")
                    continue
                payloads = [dict(p) for p in s.scalars(select(EventRow.payload).where(
                    EventRow.run_id == run_id, EventRow.seq > last).order_by(EventRow.seq))]
                self._deliver(run_id, payloads, s)

    def _take_requests(self) -> None:
        """Stop this server's runs that another server was asked to stop; end those deleted through another."""
        with self._lock:
            active = [run_id for run_id, h in self._active.items() if h.stop_requested_at is None and not h.deleted]
        stops, deleted = self.cluster.stop_requests(active)
        with self._lock:
            for run_id in stops | deleted:
                handle = self._active.get(run_id)
                if handle is None:
                    continue
                if run_id in deleted:
                    handle.deleted = True
                    handle.process.kill()
                else:
                    self._stop_local(handle)
            for run_id, handle in self._active.items():  # pauses asked through other servers
                request = self.run_dir(run_id).path / PAUSE_REQUEST
                if handle.pause is not None and handle.stop_requested_at is None and request.exists():
                    request.unlink(missing_ok=True)
                    self._pause_local(handle)

    def _launch(self, run_id: str) -> None:
        with self.db.session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                return
            graph, dataset, stored, created = row.graph, row.dataset, row.config, row.created_at.isoformat()
            asked = row.stop_requested  # of another server, between the claim and now
            resume = row.started_at is not None  # a queued run that ran before was paused and resumed
        if asked:
            self._record(run_id, [LogEvent(message="stopped before it started"), DoneEvent(status="stopped")])
            return
        try:
            config = TrainConfig.model_validate(stored)
        except ValidationError as e:  # stored by another version of the server
            self._record(run_id, [ErrorEvent(message=validation_message(e, "config")), DoneEvent(status="failed")])
            return
        spec = WorkerSpec(run_id=run_id, graph=graph, dataset=dataset, config=config,
                          run_dir=str(self.run_dir(run_id).path), threads=self.worker_threads, created_at=created,
                          datasets_dir=str(self.datasets_dir), resume=resume)
        with contextlib.suppress(OSError):  # before "running": a server asked to pause it leaves its request there
            Path(spec.run_dir).mkdir(parents=True, exist_ok=True)
        self._record(run_id, [StatusEvent(status="running", message="resumed" if resume else None)])
        try:
            if self.executor is not None:
                run = self.executor.launch(spec)
                handle = RunHandle(run_id, run, run, run)
            else:
                handle = self._from_standby(run_id, spec) or self._start_process(run_id, spec)
        except Exception as e:
            log.exception("could not start the worker of run %s", run_id)
            self._record(run_id, [ErrorEvent(message=f"could not start the training process: {e}"),
                                  DoneEvent(status="failed")])
            return
        self._active[run_id] = handle
        threading.Thread(target=self._follow, args=(handle,), name=f"netcanvas-run-{run_id}", daemon=True).start()

    def _start_process(self, run_id: str, spec: WorkerSpec) -> RunHandle:
        reader, writer = self._ctx.Pipe(duplex=False)
        stop, pause = self._ctx.Event(), self._ctx.Event()
        process = self._ctx.Process(target=run_worker, args=(spec, writer, stop, pause),
                                    name=f"netcanvas-run-{run_id}", daemon=True)
        try:
            process.start()
        except BaseException:
            reader.close()
            raise
        finally:
            writer.close()  # the child holds the only writer: end-of-file means it is gone
        return RunHandle(run_id, process, reader, stop, pause=pause)

    def _from_standby(self, run_id: str, spec: WorkerSpec) -> RunHandle | None:
        """Hand the run to the waiting worker (even one still warming up: that is no slower than a new one)."""
        standby, self._standby = self._standby, None
        if standby is None:
            return None
        if standby.process.is_alive():
            # The reader thread sends the spec: a big graph may not fit the pipe until the worker has warmed up.
            return RunHandle(run_id, standby.process, standby.conn, standby.stop, spec=spec, specs=standby.specs,
                             pause=standby.pause)
        standby.discard()
        return None

    def _replenish(self) -> None:
        """Start a waiting worker if there is none (caller holds the lock)."""
        if not self._use_standby or self._closing or self._standby is not None:
            return
        specs_reader, specs_writer = self._ctx.Pipe(duplex=False)
        reader, writer = self._ctx.Pipe(duplex=False)
        stop, pause = self._ctx.Event(), self._ctx.Event()
        process = self._ctx.Process(target=standby_worker, args=(specs_reader, writer, stop, pause),
                                    name="netcanvas-standby", daemon=True)
        try:
            process.start()
        except Exception:
            log.exception("could not start a standby worker")
            specs_writer.close()
            reader.close()
            return
        finally:
            specs_reader.close()
            writer.close()
        self._standby = Standby(process, specs_writer, reader, stop, pause)

    def _follow(self, handle: RunHandle) -> None:
        """Reader thread: store and fan out the child's events until it ends; turn a silent death into a failure."""
        done = False
        if handle.specs is not None:
            try:
                handle.specs.send(handle.spec)
            except OSError as e:  # the worker is gone; the pipe's end-of-file below reports it
                log.warning("could not hand run %s to its worker: %s", handle.run_id, e)
            finally:
                handle.specs.close()
        try:
            done = self._pump(handle)
        except Exception:
            log.exception("lost the event stream of run %s", handle.run_id)
        process = handle.process
        process.join(10 if done else 2)
        if process.is_alive():
            process.kill()
            process.join(10)
        handle.conn.close()
        if handle.deleted:
            shutil.rmtree(self.run_dir(handle.run_id).path, ignore_errors=True)  # also when deleted elsewhere
        if not done and not handle.deleted:
            if handle.stop_requested_at is not None:
                events: list[Event] = [LogEvent(level="warning", message="the training process did not stop in "
                                                                          "time and was ended by force"),
                                       DoneEvent(status="stopped")]
            else:
                ended = process.failure if isinstance(process, RayRun) else exit_message(process.exitcode)
                events = [ErrorEvent(message=ended), DoneEvent(status="failed")]
            self._record(handle.run_id, events)
        with self._lock:
            self._active.pop(handle.run_id, None)
            self._next_seq.pop(handle.run_id, None)
            handle.finished.set()
            self._replenish()  # while the machine is not training: a queued run takes it as it is
            self._schedule()

    def _pump(self, handle: RunHandle) -> bool:
        """Receive until end-of-file, ``done`` or the ``paused`` status (the worker's last event when it pauses);
        True when one of those arrived."""
        conn = handle.conn
        while True:
            received: list[Event] = []
            ended = False
            try:
                if conn.poll(0.25):
                    received.append(self._parse(conn.recv()))
                    while len(received) < 500 and conn.poll():
                        received.append(self._parse(conn.recv()))
            except (EOFError, OSError):
                ended = True
            done = any(isinstance(e, DoneEvent) or (isinstance(e, StatusEvent) and e.status == "paused")
                       for e in received)
            if received and not handle.deleted:
                self._record(handle.run_id, received)
            if done or ended:
                return done
            since = handle.stop_requested_at
            if since is not None and time.monotonic() - since > self.stop_grace and handle.process.is_alive():
                log.warning("run %s did not stop within %.0f s: killing its worker", handle.run_id, self.stop_grace)
                handle.process.kill()
            if not handle.process.is_alive() and not conn.poll(1.0):
                return False

    @staticmethod
    def _parse(message: Any) -> Event:
        try:
            return EVENT_ADAPTER.validate_python(message)
        except ValidationError as e:
            return LogEvent(level="warning", message=f"unreadable event from the worker: {e}")

    # ---- storing events --------------------------------------------------------------------------------------------

    def _record(self, run_id: str, events: Iterable[Event], new_row: RunRow | None = None,
                expect: str | None = None) -> list[dict[str, Any]]:
        """Number, store (with the run's new state; with ``new_row``, the new run itself) and then fan out events,
        in that order. With ``expect``, only while the run's status is that one (nothing is stored otherwise): the
        check and the events are one transaction, and the run is left to no server (a resumed run is queued)."""
        with self._lock:
            payloads: list[dict[str, Any]] = []
            with self.db.session() as s:
                if new_row is not None:
                    s.add(new_row)
                    s.flush()
                if expect is not None:
                    moved = s.execute(update(RunRow).where(RunRow.id == run_id, RunRow.status == expect)
                                      .values(owner=None, stop_requested=False)
                                      .execution_options(synchronize_session=False))
                    if getattr(moved, "rowcount", 0) != 1:
                        return []
                row = s.get(RunRow, run_id)
                if row is None:
                    return []
                # The seq is counted here only while this server's worker runs the run: only then is it the one writer
                seq = self._next_seq.get(run_id) if run_id in self._active else None
                if seq is None:
                    seq = int(s.scalar(select(func.max(EventRow.seq)).where(EventRow.run_id == run_id)) or 0)
                for event in events:
                    if row.status in FINISHED:
                        break  # nothing follows done
                    seq += 1
                    event.seq = seq
                    self._apply(s, row, event)
                    payload = finite(event.model_dump(mode="json"))
                    s.add(EventRow(run_id=run_id, seq=seq, type=event.type, payload=payload))
                    payloads.append(payload)
            if run_id in self._active:
                self._next_seq[run_id] = seq
            self._deliver(run_id, payloads)
            return payloads

    def _apply(self, s: Session, row: RunRow, event: Event) -> None:
        if isinstance(event, StatusEvent):
            row.status = event.status
            if event.status == "running" and row.started_at is None:
                row.started_at = utcnow()
        elif isinstance(event, EpochEvent):
            row.epochs_done = event.epoch
            row.metrics = finite(event.metrics)
            if event.best is not None:  # training decides the best epoch; it is recorded as the event says
                row.best_metric, row.best_value, row.best_epoch = (event.best.name, finite(event.best.value),
                                                                   event.best.epoch)
        elif isinstance(event, ErrorEvent):
            if row.error is None:
                row.error = event.message
        elif isinstance(event, DoneEvent):
            row.status = event.status
            row.finished_at = utcnow()
            if event.metrics:
                row.metrics = finite(event.metrics)
            if event.test_metrics:
                row.test_metrics = finite(event.test_metrics)
            if event.best_epoch is not None:
                row.best_epoch = event.best_epoch
            if not event.metrics and row.metrics:
                event.metrics = {k: v for k, v in row.metrics.items() if v is not None}
            self._finish_files(s, row, event.runtime.model_dump() if event.runtime is not None else None)

    def _finish_files(self, s: Session, row: RunRow, runtime: dict[str, Any] | None = None) -> None:
        """Record the artifacts the worker wrote; bring run.json and history.json in line with the database."""
        run_dir = self.run_dir(row.id)
        try:
            history = [{"epoch": p["epoch"], "metrics": p["metrics"], "lr": p["lr"], "seconds": p["seconds"]}
                       for p in s.scalars(select(EventRow.payload).where(EventRow.run_id == row.id,
                                                                         EventRow.type == "epoch")
                                          .order_by(EventRow.seq))]
            run_dir.write_history(history)
            run_dir.write_info(RunInfo(id=row.id, dataset=row.dataset, seed=row.seed, status=row.status,
                                       error=row.error,
                                       metrics={k: v for k, v in row.metrics.items() if v is not None},
                                       test_metrics={k: v for k, v in row.test_metrics.items() if v is not None},
                                       created_at=row.created_at.isoformat(),
                                       finished_at=row.finished_at.isoformat() if row.finished_at else None,
                                       netcanvas_version=row.netcanvas_version, torch_version=row.torch_version,
                                       runtime=runtime))
        except OSError as e:
            log.warning("could not write the files of run %s: %s", row.id, e)
        s.execute(delete(ArtifactRow).where(ArtifactRow.run_id == row.id))
        for kind, name in ARTIFACT_FILES.items():
            file = run_dir.path / name
            if file.is_file():
                s.add(ArtifactRow(run_id=row.id, kind=kind, path=name, size=file.stat().st_size))
