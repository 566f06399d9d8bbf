"""Persistence with SQLAlchemy 2 and Alembic migrations: runs, events, artifacts and saved graphs."""

from .db import Database, DatabaseError
from .models import FINISHED, RUN_STATUSES, ArtifactRow, Base, EventRow, GraphRow, RunRow, ServerRow, new_id, utcnow

__all__ = ["FINISHED", "RUN_STATUSES", "ArtifactRow", "Base", "Database", "DatabaseError", "EventRow", "GraphRow",
           "RunRow", "ServerRow", "new_id", "utcnow"]
