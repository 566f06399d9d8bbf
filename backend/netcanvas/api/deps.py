"""The app's state as FastAPI dependencies: the one place a route reads ``app.state``.

A route asks for what it needs by type (``settings: SettingsDep``, ``db: DatabaseDep``, ...), as the
full-stack-fastapi-template's ``deps.py`` does. Each dependency takes the ``HTTPConnection``, so the same ones
serve HTTP routes and websockets. They are ``async``: reading an attribute needs no thread.

What is on ``app.state`` is put there by ``app.create_app`` (settings, datasets, explain_jobs) and by the lifespans
(db and runs in ``app.py``, studies in ``studies.py``, ensembles in ``ensembles.py``). Code that runs outside a
route's dependencies may keep reading ``app.state`` (or be handed its settings): the lifespans, which fill it;
the ASGI middleware (``limits.BodySizeLimit``, ``security.py``), given their settings when installed; and
``limits.SafeJSONRequest``, the request class that reads JSON bodies with the app's limits before any dependency is
solved.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from ..data.uploads import DatasetStore
from ..ensembles.service import EnsembleService
from ..insight.jobs import Jobs
from ..runs import RunManager
from ..search.study import StudyService
from ..settings import Settings
from ..store import Database


async def get_settings_of(connection: HTTPConnection) -> Settings:
    """The settings the app was created with (not ``settings.get_settings()``: a test's app has its own)."""
    settings: Settings = connection.app.state.settings
    return settings


async def get_database(connection: HTTPConnection) -> Database:
    db: Database = connection.app.state.db
    return db


async def get_run_manager(connection: HTTPConnection) -> RunManager:
    manager: RunManager = connection.app.state.runs
    return manager


async def get_dataset_store(connection: HTTPConnection) -> DatasetStore:
    store: DatasetStore = connection.app.state.datasets
    return store


async def get_studies(connection: HTTPConnection) -> StudyService:
    service: StudyService = connection.app.state.studies
    return service


async def get_ensembles(connection: HTTPConnection) -> EnsembleService:
    service: EnsembleService = connection.app.state.ensembles
    return service


async def get_explain_jobs(connection: HTTPConnection) -> Jobs:
    jobs: Jobs = connection.app.state.explain_jobs
    return jobs


SettingsDep = Annotated[Settings, Depends(get_settings_of)]
DatabaseDep = Annotated[Database, Depends(get_database)]
RunManagerDep = Annotated[RunManager, Depends(get_run_manager)]
DatasetStoreDep = Annotated[DatasetStore, Depends(get_dataset_store)]
StudiesDep = Annotated[StudyService, Depends(get_studies)]
ExplainJobsDep = Annotated[Jobs, Depends(get_explain_jobs)]
EnsemblesDep = Annotated[EnsembleService, Depends(get_ensembles)]
