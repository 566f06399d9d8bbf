"""Alembic migrations of the NetCanvas database, applied on start (``Database.migrate``).

A change to ``store/models.py`` needs a migration here: tests/store checks that the models and the migrations
agree. Write one with Alembic's autogenerate (``alembic.ini`` at the repository root points here), against a
scratch database brought to the latest revision first:

    export NETCANVAS_DATABASE_URL=sqlite:///scratch.db
    .venv/bin/alembic upgrade head
    .venv/bin/alembic revision --autogenerate -m "what changed"

then read what it wrote (name the file after the next number, check every operation) before committing.
"""
