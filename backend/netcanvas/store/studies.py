"""The tables of hyperparameter studies (docs/search.md): a study and its trials, each trial an ordinary run.

Optuna's own RDB storage cannot share this database: it keeps its schema version in ``alembic_version``, the
table that holds ours. A study is therefore kept here (tables prefixed ``search_``, apart from optuna's names)
and replayed into an in-memory optuna study when it resumes after a server restart, which gives the sampler
and the pruner the same history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, new_id, utcnow

STUDY_STATUSES = ("running", "completed", "stopped", "failed")
TRIAL_STATES = ("running", "complete", "pruned", "failed", "stopped", "interrupted")
"""interrupted: its run ended with a server that stopped; it does not count against the budget."""


class StudyRow(Base):
    __tablename__ = "search_studies"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), default="")
    graph: Mapped[dict[str, Any]]
    dataset: Mapped[dict[str, Any]]
    config: Mapped[dict[str, Any]]
    space: Mapped[dict[str, Any]]
    sampler: Mapped[str] = mapped_column(String(20))
    pruner: Mapped[str | None] = mapped_column(String(20), default=None)
    objective: Mapped[str] = mapped_column(String(100))
    direction: Mapped[str] = mapped_column(String(8))
    trials: Mapped[int] = mapped_column(Integer)
    parallel: Mapped[int] = mapped_column(Integer, default=1)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    owner: Mapped[str | None] = mapped_column(String(32), default=None)
    """The server that drives the study (``servers.id``); None once it let go."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class TrialRow(Base):
    __tablename__ = "search_trials"

    study_id: Mapped[str] = mapped_column(String(32), ForeignKey("search_studies.id", ondelete="CASCADE"),
                                          primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str | None] = mapped_column(String(32), default=None)
    state: Mapped[str] = mapped_column(String(20), default="running")
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    value: Mapped[float | None] = mapped_column(default=None)
    intermediate: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """[[epoch, value], ...]: the objective after each epoch, as reported to the pruner."""
    message: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
