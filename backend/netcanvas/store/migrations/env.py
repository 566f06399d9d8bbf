"""Alembic's environment: the models' metadata, and the connection the app hands over (or the configured URL)."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from netcanvas.store.ensembles import EnsembleRow  # noqa: F401  (the ensemble tables join Base.metadata)
from netcanvas.store.models import Base, UTCDateTime
from netcanvas.store.studies import StudyRow  # noqa: F401  (the search tables join Base.metadata)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Migrations use plain SQLAlchemy types: UTCDateTime is a DateTime with a time zone in the database."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_item=render_item,
                      # SQLite alters tables by copying them: "batch" operations do that for later migrations
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    from netcanvas.settings import Settings

    if context.is_offline_mode():  # `alembic upgrade head --sql`: the SQL for a database administrator
        context.configure(url=Settings().resolved_database_url, target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:  # Database.migrate: the app's own connection, inside its transaction
        run(connection)
        return
    # The alembic command line (alembic.ini at the repository root): the database the settings name
    engine = create_engine(Settings().resolved_database_url)
    try:
        with engine.connect() as conn:
            run(conn)
            conn.commit()
    finally:
        engine.dispose()


main()
