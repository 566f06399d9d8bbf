"""The database connection: any SQLAlchemy URL; SQLite (WAL mode) under the data directory by default.

The schema is Alembic's (``store/migrations``): ``Database.migrate`` brings any database to the latest revision on
start, a new one and one made before migrations existed alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"
"""The schema every database had before migrations (``create_all`` of runs, events, artifacts and graphs)."""
MIGRATION_LOCK = 0x6E6574636E76
"""PostgreSQL advisory lock held while migrating, so that servers starting together migrate one at a time."""
CONNECT_TIMEOUT_S = 10


class DatabaseError(RuntimeError):
    """The database cannot be opened, reached or brought up to date; the message is one line for the user."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while a run's events are being written; NORMAL is durable across app crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def normalize_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` name no driver: use psycopg (v3), the one NetCanvas installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def describe(url: URL) -> str:
    """Where the database is, for messages (never the password)."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        return f"SQLite database {url.database or ':memory:'}"
    host = url.host or str(url.query.get("host") or "localhost")
    port = f":{url.port}" if url.port else ""
    return f"{backend} database '{url.database or ''}' on {host}{port}"


def reason(error: BaseException) -> str:
    """The driver's own first line ("connection refused", "password authentication failed", ...)."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


class Database:
    """One engine and its session factory; ``migrate`` on start."""

    def __init__(self, url: str):
        self.url = normalize_url(url)
        try:
            parsed = make_url(self.url)
        except (ArgumentError, ValueError):  # not echoed: it may hold a password
            raise DatabaseError("the database URL is not one SQLAlchemy can read: it should look like "
                                "postgresql+psycopg://user:password@host:5432/netcanvas or "
                                "sqlite:///path/netcanvas.db") from None
        self.where = describe(parsed)
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs["pool_pre_ping"] = True  # a database server may have restarted since a pooled connection was made
            if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
                kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
        except (NoSuchModuleError, ImportError) as e:
            raise DatabaseError(f"no driver for the {self.where} ({e}); for PostgreSQL install psycopg and use "
                                "postgresql+psycopg://") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the latest migration, in one transaction where the database allows (PostgreSQL).

        A database made before migrations existed (tables, no ``alembic_version``) is first marked as holding the
        baseline schema; then every later migration applies to it, keeping its rows.
        """
        from alembic import command
        from alembic.util import CommandError

        try:
            conn = self.engine.connect()
        except SQLAlchemyError as e:
            raise DatabaseError(f"cannot connect to the {self.where}: {reason(e)}") from None
        with conn:
            try:
                with conn.begin():
                    if conn.dialect.name == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                    config = alembic_config(conn)
                    tables = set(inspect(conn).get_table_names())
                    if "alembic_version" not in tables and "runs" in tables:
                        command.stamp(config, BASELINE)
                    command.upgrade(config, "head")
            except (SQLAlchemyError, CommandError) as e:
                raise DatabaseError(f"cannot bring the {self.where} up to date: {reason(e)}") from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()
