"""The tables of ensembles (docs/ensembles.md): an ensemble and its members, each member an ordinary run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from .models import Base, new_id, utcnow

ENSEMBLE_STATUSES = ("running", "completed", "failed", "stopped")


class EnsembleRow(Base):
    __tablename__ = "ensembles"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), default="")
    graph: Mapped[dict[str, Any]]
    dataset: Mapped[dict[str, Any]]
    config: Mapped[dict[str, Any]]
    method: Mapped[str] = mapped_column(String(20))
    members: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    """The seed of the splits every member shares; member i trains with seed + i."""
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    """A note on how it went (boosting that ended early, members trained again after a restart)."""
    combiner: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """``ensembles.combine.Combiner`` once every member is done."""
    sample_weights: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    """Boosting: the sample weights for the next member (kept for a restart)."""
    test_metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    owner: Mapped[str | None] = mapped_column(String(32), default=None)
    """The server (``ServerRow.id``) that drives it; another server takes it over only once that one is gone."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    @validates("name")
    def _clip(self, key: str, value: str | None) -> str | None:
        return self.clip(key, value)


class EnsembleMemberRow(Base):
    __tablename__ = "ensemble_members"

    ensemble_id: Mapped[str] = mapped_column(String(32), ForeignKey("ensembles.id", ondelete="CASCADE"),
                                             primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str | None] = mapped_column(String(32), default=None)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    samples: Mapped[int] = mapped_column(Integer, default=0)
    """How many training samples it was given (with repeats)."""
    weight: Mapped[float | None] = mapped_column(default=None)
    """Boosting: its SAMME weight."""
    error: Mapped[float | None] = mapped_column(default=None)
    """Boosting: its weighted error on the training split."""
    message: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
