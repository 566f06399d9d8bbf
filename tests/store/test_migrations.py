"""Alembic migrations on SQLite and PostgreSQL: applied on start, in step with the models, upgrading old databases."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from netcanvas.store import Base, Database, DatabaseError
from netcanvas.store.db import BASELINE, MIGRATIONS, alembic_config
from runhelpers import IRIS_MLP, app_client, watch


def head() -> str:
    with Database("sqlite://").engine.connect() as conn:
        revision = ScriptDirectory.from_config(alembic_config(conn)).get_current_head()
    assert revision is not None
    return revision


def revision_of(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_the_migrations_build_exactly_the_models_schema(database_url: str) -> None:
    """A model changed without a migration fails here: autogenerate would find something to write."""
    db = Database(database_url)
    db.migrate()
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert revision_of(db) == head()
    db.migrate()  # at the latest revision already: nothing to do
    assert revision_of(db) == head()
    db.close()


def test_the_baseline_is_the_first_migration_and_there_is_one_line_of_them() -> None:
    script = ScriptDirectory(str(MIGRATIONS))
    revisions = list(script.walk_revisions())
    assert revisions[-1].revision == BASELINE and revisions[-1].down_revision is None
    assert len(script.get_heads()) == 1


# The schema as `create_all` made it before migrations existed (the models of that time, frozen here).
OLD = sa.MetaData()
TZ = sa.DateTime(timezone=True)


def _column(name: str, type_: Any, *args: Any, null: bool = False, **kwargs: Any) -> sa.Column[Any]:
    return sa.Column(name, type_, *args, nullable=null, **kwargs)


sa.Table("runs", OLD,
         _column("id", sa.String(32), primary_key=True), _column("name", sa.String(200)),
         _column("graph", sa.JSON), _column("dataset", sa.JSON), _column("config", sa.JSON),
         _column("seed", sa.Integer), _column("status", sa.String(16), index=True),
         _column("error", sa.Text, null=True), _column("created_at", TZ, index=True),
         _column("started_at", TZ, null=True), _column("finished_at", TZ, null=True),
         _column("torch_version", sa.String(64), null=True), _column("netcanvas_version", sa.String(64), null=True),
         _column("epochs_done", sa.Integer), _column("metrics", sa.JSON), _column("test_metrics", sa.JSON),
         _column("best_metric", sa.String(100), null=True), _column("best_value", sa.Double, null=True),
         _column("best_epoch", sa.Integer, null=True))
sa.Table("events", OLD,
         _column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
         _column("seq", sa.Integer, primary_key=True), _column("type", sa.String(16)),
         _column("payload", sa.JSON), _column("at", TZ))
sa.Table("artifacts", OLD,
         _column("id", sa.Integer, primary_key=True, autoincrement=True),
         _column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True),
         _column("kind", sa.String(32)), _column("path", sa.Text), _column("size", sa.Integer),
         _column("created_at", TZ))
sa.Table("graphs", OLD,
         _column("id", sa.String(32), primary_key=True), _column("name", sa.String(200)),
         _column("graph", sa.JSON), _column("created_at", TZ), _column("updated_at", TZ, index=True))


def test_a_database_from_before_migrations_is_upgraded_in_place_keeping_its_rows(tmp_path: Path,
                                                                                database_url: str) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    engine = sa.create_engine(database_url)
    OLD.create_all(engine)
    with engine.begin() as conn:
        conn.execute(OLD.tables["runs"].insert().values(
            id="old", name="old run", graph=IRIS_MLP, dataset={"name": "iris"}, config={"epochs": 1}, seed=0,
            status="completed", created_at=at, started_at=at, finished_at=at, epochs_done=1,
            metrics={"loss": 0.5}, test_metrics={}, best_metric="loss", best_value=0.5, best_epoch=1))
        conn.execute(OLD.tables["events"].insert(), [
            {"run_id": "old", "seq": 1, "type": "status", "at": at,
             "payload": {"seq": 1, "type": "status", "status": "running", "message": None}},
            {"run_id": "old", "seq": 2, "type": "done", "at": at,
             "payload": {"seq": 2, "type": "done", "status": "completed", "test_metrics": {}, "error": None}}])
        conn.execute(OLD.tables["graphs"].insert().values(id="g", name="kept", graph=IRIS_MLP, created_at=at,
                                                          updated_at=at))
    assert "alembic_version" not in sa.inspect(engine).get_table_names()
    engine.dispose()

    with app_client(tmp_path, database_url=database_url) as client:  # start-up migrates
        run = client.get("/api/runs/old").json()
        assert run["name"] == "old run" and run["status"] == "completed" and run["best"]["value"] == 0.5
        assert run["created_at"].startswith("2026-01-02T03:04:05")
        assert [e["type"] for e in watch(client, "old")] == ["status", "done"]
        assert [(g["id"], g["name"]) for g in client.get("/api/graphs").json()] == [("g", "kept")]
    db = Database(database_url)
    assert revision_of(db) == head()
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    db.close()


def test_servers_starting_together_migrate_one_at_a_time(postgres_url: str) -> None:
    """On PostgreSQL the whole upgrade is one transaction under an advisory lock: the second finds it done."""
    dbs = [Database(postgres_url) for _ in range(3)]
    errors: list[BaseException] = []

    def migrate(db: Database) -> None:
        try:
            db.migrate()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=migrate, args=(db,)) for db in dbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert {revision_of(db) for db in dbs} == {head()}
    for db in dbs:
        db.close()


def test_a_database_from_a_newer_netcanvas_is_refused_with_one_line(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(DatabaseError) as caught:
        db.migrate()
    assert "up to date" in str(caught.value) and "f00d" in str(caught.value) and "\n" not in str(caught.value)
    db.close()


def test_an_unreachable_database_is_one_line_naming_the_host(tmp_path: Path) -> None:
    url = "postgresql+psycopg://netcanvas:s3cret@127.0.0.1:1/netcanvas"
    with pytest.raises(DatabaseError) as caught, app_client(tmp_path, database_url=url):
        pass
    message = str(caught.value)
    assert message.startswith("cannot connect to the postgresql database 'netcanvas' on 127.0.0.1:1: ")
    assert "\n" not in message and "s3cret" not in message


@pytest.mark.parametrize(("url", "expected"), [
    ("nonsense", "the database URL is not one SQLAlchemy can read"),
    ("postgresql+psycopg://u:s3cret@h:notaport/db", "the database URL is not one SQLAlchemy can read"),
    ("nosuchdb://u:s3cret@h/db", "no driver for the nosuchdb database 'db' on h"),
])
def test_bad_database_urls_are_one_line_without_the_password(url: str, expected: str) -> None:
    with pytest.raises(DatabaseError) as caught:
        Database(url)
    assert str(caught.value).startswith(expected) and "s3cret" not in str(caught.value)


def test_postgres_urls_without_a_driver_use_psycopg() -> None:
    assert Database("postgres://u@h/db").url == "postgresql+psycopg://u@h/db"
    assert Database("postgresql://u@h:5433/db").engine.dialect.driver == "psycopg"


def test_serve_with_an_unreachable_database_says_so_in_one_line_and_exits(tmp_path: Path) -> None:
    env = {**os.environ, "NETCANVAS_DATA_DIR": str(tmp_path), "NETCANVAS_PORT": "1",
           "NETCANVAS_DATABASE_URL": "postgresql+psycopg://netcanvas:s3cret@127.0.0.1:1/netcanvas"}
    done = subprocess.run([sys.executable, "-m", "netcanvas.cli", "serve"], env=env, capture_output=True, text=True,
                          timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "cannot connect to the postgresql database 'netcanvas' on 127.0.0.1:1: " in output
    assert "Traceback" not in output and "s3cret" not in output
