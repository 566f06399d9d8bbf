"""Training runs: start, list, inspect, stop, delete, and the live event websocket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from ..data import LOADERS, DataError, Dataset, bind, load
from ..data.errors import UploadError
from ..data.uploads import DatasetStore
from ..graph import Graph
from ..runs.execute import parallel_problem
from ..runs.manager import RunConflict
from ..settings import Settings
from ..store import ArtifactRow, Database, RunRow
from ..training import Event, TrainConfig
from ..training.devices import device_problem
from .deps import DatabaseDep, RunManagerDep, SettingsDep
from .gan import gan_signature
from .limits import SafeJSONRoute, error_responses, size_problem
from .preflight import DatasetRef, GraphSignature, class_problems, signature
from .transfer import check_init
from .validate import check_size, validation_report

router = APIRouter(prefix="/api/runs", tags=["runs"], route_class=SafeJSONRoute)
log = logging.getLogger(__name__)

RunStatus = Literal["queued", "running", "paused", "completed", "failed", "stopped"]


class RunCreate(BaseModel):
    graph: Graph
    dataset: DatasetRef
    config: TrainConfig = Field(default_factory=TrainConfig)
    name: str | None = Field(default=None, max_length=200, description="Default: the graph's name")


class RunCreated(BaseModel):
    id: str


class BestMetric(BaseModel):
    name: str = Field(description="The monitored metric (early stopping's, else val_loss, else loss)")
    value: float
    epoch: int | None


class RunSummary(BaseModel):
    id: str
    name: str
    status: RunStatus
    dataset: dict[str, Any]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    epochs: int = Field(description="Epochs asked for")
    epochs_done: int
    best: BestMetric | None
    metrics: dict[str, float | None] = Field(description="Last epoch's metrics (final once done); null = undefined")
    test_metrics: dict[str, float | None]


class EpochRecord(BaseModel):
    epoch: int
    metrics: dict[str, float | None]
    lr: float
    seconds: float


class ArtifactInfo(BaseModel):
    kind: str = Field(description="best_weights, last_weights, preprocessing, history")
    path: str = Field(description="Inside the run directory")
    size: int


class RunDetail(RunSummary):
    graph: Graph
    config: dict[str, Any] = Field(description="The training config as validated (docs/training-config.md)")
    seed: int
    torch_version: str | None
    netcanvas_version: str | None
    history: list[EpochRecord]
    artifacts: list[ArtifactInfo]


def summary(row: RunRow) -> RunSummary:
    best = (BestMetric(name=row.best_metric, value=row.best_value, epoch=row.best_epoch)
            if row.best_metric is not None and row.best_value is not None else None)
    return RunSummary(id=row.id, name=row.name, status=row.status,  # type: ignore[arg-type]
                      dataset=row.dataset, error=row.error, created_at=row.created_at, started_at=row.started_at,
                      finished_at=row.finished_at, epochs=int(row.config.get("epochs", 0)),
                      epochs_done=row.epochs_done, best=best, metrics=row.metrics, test_metrics=row.test_metrics)


def unprocessable(problems: list[dict[str, Any]]) -> HTTPException:
    """A 422 shaped like FastAPI's own: a list of {loc, msg, type}, plus the node where there is one."""
    return HTTPException(422, detail=problems)


def check_classes(sig: GraphSignature, targets: dict[str, str], dataset: Dataset, config: TrainConfig) -> None:
    """A 422 for an Output whose class scores do not match the dataset's classes (``preflight.class_problems``)."""
    for p in class_problems(sig, targets, dataset, config):
        raise unprocessable([{"loc": ["body", "graph", "nodes", p.node], "type": "dataset", "node": p.node,
                              "msg": p.message}])


def check_request(body: RunCreate, settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Everything that can be known wrong before training starts; returns the graph and dataset to store."""
    graph = body.graph.model_dump(mode="json", exclude_unset=True)
    graph["format"] = body.graph.format
    check_size(graph, settings)
    report = validation_report(graph)
    if not report.valid:
        raise unprocessable([{"loc": ["body", "graph", "nodes", p.node] if p.node else ["body", "graph"],
                              "msg": p.message, "type": "graph", "node": p.node} for p in report.errors])
    ref = body.dataset
    if ref.id is not None:
        try:
            uploaded = DatasetStore.of(settings).fields_of(ref.model_dump(exclude_unset=True))
        except UploadError as e:
            raise unprocessable([{"loc": ["body", "dataset"], "type": "dataset", "node": None,
                                  "msg": str(e)}]) from None
    elif ref.name not in LOADERS:
        raise unprocessable([{"loc": ["body", "dataset", "name"], "type": "dataset", "node": None,
                              "msg": f"unknown dataset '{ref.name}'; built-in datasets: {', '.join(LOADERS)}"}])
    outputs = [n.output_name for n in body.graph.nodes if n.type == "Output"]
    config = body.config
    if problem := device_problem(config.device, config.precision):
        raise unprocessable([{"loc": ["body", "config", problem[0]], "msg": problem[1], "type": "config",
                              "node": None}])
    if config.workers > 1 and (refused := parallel_problem(config, settings.executor == "ray")):
        raise unprocessable([{"loc": ["body", "config", "workers"], "msg": refused, "type": "config",
                              "node": None}])
    if isinstance(config.loss, dict):
        unknown = sorted(set(config.loss) - set(outputs))
        missing = [o for o in outputs if o not in config.loss]
        if unknown or missing:
            msg = (f"the loss names outputs {', '.join(unknown)} that the graph does not have" if unknown else
                   f"no loss given for output {', '.join(missing)}")
            raise unprocessable([{"loc": ["body", "config", "loss"], "type": "config",
                                  "node": missing[0] if missing else None,
                                  "msg": f"{msg} (outputs: {', '.join(outputs)})"}])
    if isinstance(config.metrics, dict) and (unknown := sorted(set(config.metrics) - set(outputs))):
        raise unprocessable([{"loc": ["body", "config", "metrics"], "type": "config", "node": None,
                              "msg": f"metrics are given for {', '.join(unknown)}, which the graph does not output "
                                     f"(outputs: {', '.join(outputs)})"}])
    if too_big := size_problem(report, config.optimizer.type, config.batch_size, settings):
        raise unprocessable([{"loc": ["body", "graph"], "msg": too_big, "type": "limit", "node": None}])
    sig, dataset = signature(graph, report), uploaded if ref.id is not None else load(str(ref.name))
    if config.gan is not None:
        sig = gan_signature(graph, report, config.gan, sig)
    try:
        binding = bind(sig, dataset, ref.binding)
    except DataError as e:
        raise unprocessable([{"loc": ["body", "dataset"], "msg": str(e), "type": "dataset", "node": None}]) from None
    check_classes(sig, binding.targets, dataset, config)
    return graph, ref.model_dump(exclude_none=True, exclude_unset=True)


@router.post("", response_model=RunCreated, status_code=201, responses=error_responses(413, 422))
def create_run(body: RunCreate, settings: SettingsDep, manager: RunManagerDep, db: DatabaseDep) -> RunCreated:
    """Start training (queued while all worker slots are busy). A graph, dataset or config that cannot train,
    or a run past the limits (parameters, estimated training memory), gets a 422 whose `detail` names the node,
    field or limit at fault."""
    graph, dataset = check_request(body, settings)
    check_init(body.config, graph, db, manager)
    config = body.config
    if "num_threads" not in config.model_fields_set:
        config = config.model_copy(update={"num_threads": settings.worker_threads})
    run_id = manager.submit(graph, dataset, config, body.name)
    return RunCreated(id=run_id)


@router.get("", response_model=list[RunSummary])
def list_runs(db: DatabaseDep) -> list[RunSummary]:
    """All runs, newest first."""
    with db.session() as s:
        return [summary(r) for r in s.scalars(select(RunRow).order_by(RunRow.created_at.desc()))]


def _row(s: Any, run_id: str) -> RunRow:
    row: RunRow | None = s.get(RunRow, run_id)
    if row is None:
        raise HTTPException(404, f"no run with id '{run_id}'")
    return row


@router.get("/{run_id}", response_model=RunDetail, responses=error_responses(404))
def get_run(run_id: str, db: DatabaseDep, manager: RunManagerDep) -> RunDetail:
    """One run with its graph, config, per-epoch metric history and artifacts."""
    with db.session() as s:
        row = _row(s, run_id)
        artifacts = s.scalars(select(ArtifactRow).where(ArtifactRow.run_id == run_id)).all()
        base = summary(row)
        graph, config, seed = row.graph, row.config, row.seed
        versions = row.torch_version, row.netcanvas_version
        infos = [ArtifactInfo(kind=a.kind, path=a.path, size=a.size) for a in artifacts]
    history = [EpochRecord.model_validate(e) for e in manager.events_after(run_id, 0, ["epoch"])]
    return RunDetail(**base.model_dump(), graph=Graph.model_validate(graph), config=config, seed=seed,
                     torch_version=versions[0], netcanvas_version=versions[1], history=history, artifacts=infos)


@router.get("/{run_id}/events", response_model=list[Event], responses=error_responses(404, 422))
def list_events(run_id: str, db: DatabaseDep, manager: RunManagerDep,
                after: int = Query(default=0, ge=0)) -> Response:
    """The stored events after `after` (the websocket sends the same, then streams live).
    Metrics that are undefined (NaN) are null."""
    with db.session() as s:
        _row(s, run_id)
    return JSONResponse(manager.events_after(run_id, after))


@router.post("/{run_id}/stop", response_model=RunSummary, responses=error_responses(404))
def stop_run(run_id: str, db: DatabaseDep, manager: RunManagerDep) -> RunSummary:
    """Stop a queued or running run: it ends `stopped`, keeping its best weights so far.
    A finished run is left as it is."""
    with db.session() as s:
        _row(s, run_id)
    manager.stop(run_id)
    with db.session() as s:
        return summary(_row(s, run_id))


@router.post("/{run_id}/pause", response_model=RunSummary, responses=error_responses(404, 409))
def pause_run(run_id: str, db: DatabaseDep, manager: RunManagerDep) -> RunSummary:
    """Pause a running run: its worker writes a checkpoint (weights, optimizer, schedule, early stopping, the
    epoch's order and the random states) after its current step and ends; the run becomes `paused`, which the
    answer may not show yet (watch for the `status` event). 409 names the status of a run that is not running."""
    return _change(run_id, db, manager.pause)


@router.post("/{run_id}/resume", response_model=RunSummary, responses=error_responses(404, 409))
def resume_run(run_id: str, db: DatabaseDep, manager: RunManagerDep) -> RunSummary:
    """Resume a paused run, also one paused before the server restarted: it is queued and goes on from its
    checkpoint as if it had never paused. 409 when the run is not paused, or its checkpoint is missing or cannot
    be read (the run stays paused)."""
    return _change(run_id, db, manager.resume)


def _change(run_id: str, db: Database, change: Callable[[str], object]) -> RunSummary:
    """Pause or resume: 404 for an unknown run, 409 with the manager's reason, else the run as it is now."""
    with db.session() as s:
        _row(s, run_id)
    try:
        change(run_id)
    except KeyError:
        raise HTTPException(404, f"no run with id '{run_id}'") from None
    except RunConflict as e:
        raise HTTPException(409, str(e)) from None
    with db.session() as s:
        return summary(_row(s, run_id))


@router.delete("/{run_id}", status_code=204, response_class=Response, responses=error_responses(404))
def delete_run(run_id: str, manager: RunManagerDep) -> Response:
    """Delete a run with its events and files (a running one is stopped first)."""
    if not manager.delete(run_id):
        raise HTTPException(404, f"no run with id '{run_id}'")
    return Response(status_code=204)


def _exists(db: Database, run_id: str) -> bool:
    with db.session() as s:
        return s.get(RunRow, run_id) is not None


@router.websocket("/{run_id}/events")
async def run_events(websocket: WebSocket, run_id: str, db: DatabaseDep, manager: RunManagerDep) -> None:
    """Replays the stored events after `?after=SEQ` (default: all), then streams live ones, without gaps or
    duplicates; closes after `done`. Under load a watcher may miss `batch` events, never the others."""
    await websocket.accept()
    try:
        after = int(websocket.query_params.get("after", "0"))
    except ValueError:
        await websocket.close(code=1008, reason="after must be an integer (the last seq you received)")
        return
    if not await run_in_threadpool(_exists, db, run_id):
        await websocket.close(code=4404, reason=f"no run with id '{run_id}'")
        return
    watcher = manager.subscribe(run_id)  # before reading the store: what is stored later arrives here

    async def notice_disconnect() -> None:
        with contextlib.suppress(Exception):
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass
        watcher.close("disconnected")

    listener = asyncio.create_task(notice_disconnect())
    last = after
    try:
        for event in await run_in_threadpool(manager.events_after, run_id, after):
            await websocket.send_json(event)
            last = event["seq"]
            if event["type"] == "done":
                await websocket.close()
                return
        if await run_in_threadpool(manager.events_after, run_id, 0, ["done"]):
            await websocket.close()  # the run ended at or before `after`: nothing more will come
            return
        while (live := await watcher.next()) is not None:
            if live["seq"] <= last:
                continue
            await websocket.send_json(live)
            last = live["seq"]
            if live["type"] == "done":
                await websocket.close()
                return
        if watcher.closed != "disconnected":
            await websocket.close(code=watcher.close_code, reason=watcher.closed or "")
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        listener.cancel()
        manager.unsubscribe(watcher)
