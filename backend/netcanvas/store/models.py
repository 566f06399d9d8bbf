"""The database tables: runs, their events and artifacts, saved graphs, and the API servers sharing them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

RUN_STATUSES = ("queued", "running", "paused", "completed", "failed", "stopped")
FINISHED = frozenset({"completed", "failed", "stopped"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex[:12]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out, whatever the backend keeps (SQLite keeps naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}

    def clip(self, key: str, value: str | None) -> str | None:
        """Text from users (names) cut to its column's length: PostgreSQL refuses longer text, SQLite keeps it."""
        length = getattr(self.__table__.c[key].type, "length", None)
        return value[:length] if value is not None and length is not None else value


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), default="")
    graph: Mapped[dict[str, Any]]
    dataset: Mapped[dict[str, Any]]
    config: Mapped[dict[str, Any]]
    seed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    torch_version: Mapped[str | None] = mapped_column(String(64), default=None)
    netcanvas_version: Mapped[str | None] = mapped_column(String(64), default=None)
    epochs_done: Mapped[int] = mapped_column(Integer, default=0)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The last epoch's metrics while running; the final metrics once done."""
    test_metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    best_metric: Mapped[str | None] = mapped_column(String(100), default=None)
    best_value: Mapped[float | None] = mapped_column(default=None)
    best_epoch: Mapped[int | None] = mapped_column(Integer, default=None)
    owner: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    """The server (``ServerRow.id``) that claimed the run from the queue and runs it; null while it waits."""
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    """Set by whichever server was asked to stop the run; its owner stops it."""

    @validates("name", "best_metric")
    def _clip(self, key: str, value: str | None) -> str | None:
        return self.clip(key, value)


class EventRow(Base):
    __tablename__ = "events"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]]
    """The whole event as sent on the websocket (seq and type included)."""
    at: Mapped[datetime] = mapped_column(default=utcnow)
    """When the server stored it."""


class ArtifactRow(Base):
    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    """best_weights, last_weights, preprocessing, history, …"""
    path: Mapped[str] = mapped_column(Text)
    """Relative to the run's directory."""
    size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServerRow(Base):
    """An API server sharing this database: it claims queued runs and runs them; ``seen_at`` is its heartbeat."""

    __tablename__ = "servers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class GraphRow(Base):
    __tablename__ = "graphs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), default="untitled")
    graph: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    @validates("name")
    def _clip(self, key: str, value: str | None) -> str | None:
        return self.clip(key, value)
