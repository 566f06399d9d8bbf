"""The FastAPI application: API routers plus the built frontend at /."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..data.uploads import DatasetStore
from ..insight.jobs import Jobs
from ..runs import RunManager
from ..runs.ray_executor import ExecutorError, RayExecutor
from ..settings import Settings, get_settings
from ..store import Database, DatabaseError
from . import catalog, datasets, ensembles, export, graphs, insight, runs, studies, templates, validate
from .limits import error_responses, install_limits
from .security import document_security, install_security

log = logging.getLogger("netcanvas")


def warm_up() -> None:
    """The first shape inference in a process pays for imports and kernels, the catalog for
    loading the datasets: pay both at start, not on the first request.

    Then everything loaded so far (torch's and pydantic's hundreds of thousands of objects) is
    moved out of the garbage collector's sight: a request that allocates much (validating a
    5,000-node graph) would otherwise trigger full collections that walk them all, more than
    half of that validation's time."""
    from ..compiler import WARM_UP_GRAPH
    from ..shapes import validate_graph

    catalog.catalog()
    validate_graph(WARM_UP_GRAPH)
    gc.collect()
    gc.freeze()


class OneLineStartupErrors:
    """A start-up failure the user can fix (an unreachable database) reaches the server as its one-line message,
    not as the traceback Starlette would send: `netcanvas serve` logs that line and exits."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_one_line(message: Message) -> None:
            error = sys.exc_info()[1]  # Starlette sends "startup.failed" while handling the lifespan's exception
            if message["type"] == "lifespan.startup.failed" and isinstance(error, DatabaseError | ExecutorError):
                message = {**message, "message": str(error)}
            await send(message)

        await self.app(scope, receive, send_one_line if scope["type"] == "lifespan" else send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        db.migrate()  # the schema's Alembic migrations, up to the latest
        executor = RayExecutor(settings.ray_address) if settings.executor == "ray" else None
        if executor is not None:
            executor.connect()
        manager = RunManager(db, settings.data_dir / "runs", max_concurrent=settings.max_concurrent_runs,
                             worker_threads=settings.worker_threads, executor=executor)
        app.state.db, app.state.runs = db, manager
        await manager.start()
        warm_up()
        try:
            yield
        finally:
            await manager.close()
            db.close()
            if executor is not None:
                executor.close()

    app = FastAPI(title="NetCanvas", version=__version__, lifespan=lifespan,
                  description="Build, validate, train and export neural networks from a graph JSON.")
    app.state.settings = settings
    app.add_middleware(OneLineStartupErrors)
    app.include_router(catalog.router)
    app.include_router(validate.router)
    app.include_router(graphs.router)
    app.include_router(runs.router)
    app.include_router(export.router, responses=error_responses(404, 413, 422))
    app.include_router(templates.router)
    app.include_router(datasets.router)
    app.include_router(insight.router)
    app.include_router(studies.router)  # its lifespan resumes studies once the run manager is up
    app.include_router(ensembles.router)  # likewise for ensembles
    app.state.datasets = DatasetStore.of(settings)
    app.state.explain_jobs = Jobs()  # background explanations (its thread starts with the first job)

    @app.get("/api/health", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    mount_frontend(app, settings)
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = plain_openapi()
            validate.add_graph_schemas(schema.setdefault("components", {}).setdefault("schemas", {}))
            document_security(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    install_limits(app, settings)
    install_security(app, settings)  # last, so outermost: Host, Origin and token before anything else
    return app


def mount_frontend(app: FastAPI, settings: Settings) -> None:
    dist = settings.static_dir
    index = dist / "index.html"
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")

    @app.get("/", include_in_schema=False, response_model=None)
    def root() -> FileResponse | JSONResponse:
        if index.is_file():
            return FileResponse(index)
        return JSONResponse({"message": "NetCanvas API is running; the frontend is not built "
                                        "(run `make run`). API docs: /docs"})

    @app.get("/{path:path}", include_in_schema=False, response_model=None)
    def static_or_app(path: str) -> FileResponse | JSONResponse:
        if path.startswith("api/"):
            return JSONResponse({"detail": f"no such endpoint: /{path}"}, status_code=404)
        file = (dist / path).resolve()
        if file.is_file() and dist.resolve() in file.parents:
            return FileResponse(file)
        if index.is_file():
            return FileResponse(index)
        return JSONResponse({"detail": "not found"}, status_code=404)
