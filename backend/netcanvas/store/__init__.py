"""Persistence with SQLAlchemy 2: runs, events, artifacts and saved graphs."""

from .db import Database
from .models import FINISHED, RUN_STATUSES, ArtifactRow, Base, EventRow, GraphRow, RunRow, new_id, utcnow

__all__ = ["FINISHED", "RUN_STATUSES", "ArtifactRow", "Base", "Database", "EventRow", "GraphRow", "RunRow",
           "new_id", "utcnow"]
