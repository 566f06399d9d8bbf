"""Several API servers on one database: who is alive, who runs which queued run, and stop requests.

Every server has a row in ``servers`` and refreshes its ``seen_at`` every few seconds. Queued runs wait in
the database, not in one server's memory: a server with a free slot claims the oldest with an atomic
``UPDATE runs SET owner = me WHERE id = ... AND owner IS NULL AND status = 'queued'`` (the same statement on
SQLite and PostgreSQL; of two servers racing for one run, exactly one updates a row). From then on only the
owner writes the run's events. A stop asked of another server sets ``stop_requested``; the owner notices it
within a second and stops its worker.

A server is dead when its heartbeat is older than ``dead_after`` seconds, or at once when it ran on this
machine and its process is gone. Its runs are failed by the first live server that notices (the failing
server claims them first, so they are failed once). A study that a dead server drove is taken over by one
live server: ``ownerless`` is the condition of the one ``UPDATE`` that claims it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute

from ..store import Database, RunRow, ServerRow, new_id, utcnow

HEARTBEAT_S = 1.0
DEAD_AFTER_S = 15.0


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class Cluster:
    """This server's place among the servers sharing the database."""

    def __init__(self, db: Database, dead_after: float = DEAD_AFTER_S):
        self.db = db
        self.id = new_id()
        self.host = socket.gethostname()[:255]
        self.pid = os.getpid()
        self.dead_after = dead_after

    def join(self) -> None:
        with self.db.session() as s:
            s.add(ServerRow(id=self.id, host=self.host, pid=self.pid))

    def heartbeat(self) -> None:
        """Say this server is alive (again, should another have taken it for dead and removed its row)."""
        with self.db.session() as s:
            row = s.get(ServerRow, self.id)
            if row is None:
                s.add(ServerRow(id=self.id, host=self.host, pid=self.pid))
            else:
                row.seen_at = utcnow()

    def leave(self) -> None:
        with self.db.session() as s:
            s.execute(delete(ServerRow).where(ServerRow.id == self.id))

    @contextlib.contextmanager
    def member(self) -> Iterator[None]:
        """Count as a live server while the block runs, with a heartbeat from a thread: for a command-line process
        (``netcanvas search``, ``netcanvas ensemble``) that drives runs on a server's database, so a server there
        neither takes its study or ensemble over nor fails the runs it trains."""
        self.join()
        done = threading.Event()

        def beat() -> None:
            while not done.wait(HEARTBEAT_S):
                with contextlib.suppress(SQLAlchemyError):
                    self.heartbeat()

        thread = threading.Thread(target=beat, name="netcanvas-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(10)
            with contextlib.suppress(SQLAlchemyError):
                self.leave()

    def live_servers(self) -> set[str]:
        """The ids of the servers alive now, this one included; the rows of dead ones are removed."""
        oldest = utcnow() - timedelta(seconds=self.dead_after)
        live, dead = {self.id}, []
        with self.db.session() as s:
            for server in s.scalars(select(ServerRow)):
                if server.id == self.id:
                    continue
                here = server.host == self.host
                if server.seen_at >= oldest and (not here or (server.pid != self.pid and process_exists(server.pid))):
                    live.add(server.id)
                else:
                    dead.append(server.id)
            if dead:
                s.execute(delete(ServerRow).where(ServerRow.id.in_(dead)))
        return live

    def ownerless(self, owner: InstrumentedAttribute[str | None]) -> ColumnElement[bool]:
        """SQL for "``owner`` is nobody, or a server that is gone" (by ``live_servers``' rule): the condition of an
        ``UPDATE ... SET owner = me`` that takes over a row no live server drives; of servers racing, one wins."""
        return or_(owner.is_(None), owner.not_in(self.live_servers()))

    def claim_next(self) -> str | None:
        """Take the oldest queued run nobody runs yet; None when there is none."""
        while True:
            with self.db.session() as s:
                run_id = s.scalar(select(RunRow.id).where(RunRow.status == "queued", RunRow.owner.is_(None))
                                  .order_by(RunRow.created_at, RunRow.id).limit(1))
            if run_id is None:
                return None
            if self.claim(run_id):
                return run_id
            # another server took it meanwhile: try the next one

    def claim(self, run_id: str, owner: str | None = None) -> bool:
        """Make this server the owner of an unfinished run that ``owner`` held (None: a queued run nobody holds).
        True for the one server whose update went through."""
        held = RunRow.owner.is_(None) if owner is None else RunRow.owner == owner
        statuses = ("queued",) if owner is None else ("queued", "running")
        with self.db.session() as s:
            result = s.execute(update(RunRow).where(RunRow.id == run_id, held, RunRow.status.in_(statuses))
                               .values(owner=self.id).execution_options(synchronize_session=False))
            return bool(getattr(result, "rowcount", 0) == 1)

    def request_stop(self, run_id: str) -> None:
        with self.db.session() as s:
            s.execute(update(RunRow).where(RunRow.id == run_id).values(stop_requested=True)
                      .execution_options(synchronize_session=False))

    def stop_requests(self, run_ids: list[str]) -> tuple[set[str], set[str]]:
        """Of these runs (this server's), those asked to stop, and those deleted through another server."""
        if not run_ids:
            return set(), set()
        with self.db.session() as s:
            rows = s.execute(select(RunRow.id, RunRow.stop_requested).where(RunRow.id.in_(run_ids))).all()
        return {run_id for run_id, asked in rows if asked}, set(run_ids) - {run_id for run_id, _ in rows}
