"""The database: migrated on start, SQLite in WAL mode, any URL through the settings, UTC timestamps."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from netcanvas.settings import Settings
from netcanvas.store import Database, EventRow, GraphRow, RunRow
from runhelpers import app_client


def test_default_database_is_sqlite_in_wal_mode_under_the_data_dir(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        db: Database = client.app.state.db  # type: ignore[attr-defined]
        with db.session() as s:
            assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "netcanvas.db").is_file()
    assert Settings(data_dir=tmp_path).resolved_database_url.endswith(str(tmp_path / "netcanvas.db"))


def test_database_url_setting_picks_the_database(tmp_path: Path, monkeypatch: object) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("NETCANVAS_DATABASE_URL", url)  # type: ignore[attr-defined]
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.resolved_database_url == url
    with app_client(tmp_path / "data", database_url=url) as client:
        client.post("/api/graphs", json={"graph": {"name": "g", "nodes": [], "edges": []}})
    db = Database(url)
    with db.session() as s:
        assert [g.name for g in s.query(GraphRow)] == ["g"]
    assert not (tmp_path / "data" / "netcanvas.db").exists()


def test_rows_round_trip_with_utc_times_and_events_go_with_their_run(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    with db.session() as s:
        s.add(RunRow(id="r", graph={"nodes": []}, dataset={"name": "iris"}, config={"epochs": 1}))
        s.flush()
        s.add(EventRow(run_id="r", seq=1, type="status", payload={"seq": 1, "type": "status", "status": "queued"}))
    with db.session() as s:
        run = s.get(RunRow, "r")
        assert run is not None and run.status == "queued" and run.metrics == {}
        assert run.created_at.tzinfo is not None and run.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        s.delete(run)
    with db.session() as s:
        assert s.query(EventRow).count() == 0  # ON DELETE CASCADE
    db.close()


def test_long_names_from_users_fit_their_columns_on_every_database(tmp_path: Path, database_url: str) -> None:
    """PostgreSQL refuses text longer than a column (SQLite keeps it): names are cut to the column, not a 500."""
    long = "n" * 300
    with app_client(tmp_path, database_url=database_url) as client:
        r = client.post("/api/graphs", json={"graph": {"name": long, "nodes": [], "edges": []}})
        assert r.status_code == 201, r.text
        assert r.json()["name"] == long[:200]
        db: Database = client.app.state.db  # type: ignore[attr-defined]
        with db.session() as s:
            s.add(RunRow(id="r", name=long, graph={}, dataset={}, config={}, best_metric="val_" + long))
        with db.session() as s:
            run = s.get(RunRow, "r")
            assert run is not None and run.name == long[:200] and run.best_metric == ("val_" + long)[:100]
