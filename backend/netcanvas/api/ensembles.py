"""Ensembles: start one, list them, follow one (its member runs and metrics), stop one, download its ONNX file and
predict with it (docs/ensembles.md)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from ..artifacts import RunDir
from ..compiler import GraphInvalid, compile_graph
from ..ensembles import Combiner, Method, output_kinds
from ..ensembles.export import Ensemble, ensemble_predictor, export_ensemble
from ..ensembles.service import EnsembleService
from ..export import ExportError, ExportReport, PredictError
from ..export.files import content_disposition, file_stem
from ..graph import Graph
from ..settings import Settings
from ..store import Database, RunRow, new_id
from ..store.ensembles import EnsembleMemberRow, EnsembleRow
from ..training import TrainConfig
from .deps import DatabaseDep, EnsemblesDep, RunManagerDep, SettingsDep
from .export import PredictRequest, PredictResponse
from .limits import SafeJSONRoute, error_responses
from .runs import DatasetRef, RunCreate, RunStatus, check_request, unprocessable

EnsembleStatus = Literal["running", "completed", "failed", "stopped"]
MAX_MEMBERS = 50


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Inside the app's own lifespan: the run manager is up before ensembles resume and still up when they let go."""
    service = EnsembleService(app.state.db, app.state.runs)
    app.state.ensembles = service
    await run_in_threadpool(service.tend)
    try:
        yield
    finally:
        await run_in_threadpool(service.close)


router = APIRouter(prefix="/api/ensembles", tags=["ensembles"], route_class=SafeJSONRoute, lifespan=lifespan)


class EnsembleCreate(BaseModel):
    graph: Graph
    dataset: DatasetRef
    config: TrainConfig = Field(default_factory=TrainConfig)
    method: Method = Field(description="bagging: bootstrap samples, a seed per member, the mean of their outputs; "
                                       "boosting: SAMME, members one after another on reweighted samples; "
                                       "stacking: K folds, a meta-learner on the out-of-fold predictions")
    members: int = Field(default=5, ge=2, le=MAX_MEMBERS, description="Member runs (stacking: also the folds)")
    name: str | None = Field(default=None, max_length=200, description="Default: the method and the graph's name")


class EnsembleCreated(BaseModel):
    id: str


class MemberInfo(BaseModel):
    number: int
    run_id: str | None = Field(description="The member's run: an ordinary run, watchable and exportable")
    status: RunStatus | None = Field(description="Its run's status (null before it is submitted)")
    seed: int
    samples: int = Field(description="Training samples it was given (a bootstrap or weighted sample repeats some)")
    weight: float | None = Field(description="Boosting: its SAMME weight in the vote")
    error: float | None = Field(description="Boosting: its weighted error on the training split")
    test_metrics: dict[str, float | None] = Field(description="Its run's metrics on the test split")


class EnsembleSummary(BaseModel):
    id: str
    name: str
    status: EnsembleStatus
    method: Method
    members: int = Field(description="Members asked for")
    dataset: dict[str, Any]
    error: str | None
    message: str | None = Field(description="How it went: boosting that ended early, members trained again")
    test_metrics: dict[str, float | None] = Field(description="The combined model's metrics on the test split "
                                                            "(the same split as every member's)")
    created_at: datetime
    finished_at: datetime | None


class EnsembleDetail(EnsembleSummary):
    graph: Graph
    config: dict[str, Any]
    seed: int = Field(description="The seed of the splits; member i trains with seed + i")
    member_runs: list[MemberInfo]
    combiner: dict[str, Any] | None = Field(description="How the members are combined (weights, meta-learner)")


def problem(loc: list[str | int], msg: str, node: str | None = None) -> HTTPException:
    return unprocessable([{"loc": ["body", *loc], "msg": msg, "type": "ensemble", "node": node}])


def check_ensemble(body: EnsembleCreate, settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Everything wrong with an ensemble before anything is stored or queued; returns the graph and dataset."""
    graph, dataset = check_request(RunCreate(graph=body.graph, dataset=body.dataset, config=body.config), settings)
    try:
        compiled = compile_graph(graph)
    except GraphInvalid as e:  # checked above; kept for safety
        raise problem(["graph"], e.errors[0].message, e.errors[0].node) from None
    kinds = output_kinds(compiled, body.config)
    output_nodes = {n.output_name: n.id for n in body.graph.nodes if n.type == "Output"}
    for name, kind in kinds.items():
        shape = compiled.outputs[name].shape
        if kind == "classes" and (len(shape) != 1 or shape[0] is None or shape[0] < 2):
            raise problem(["graph"], f"Output '{name}' gives {list(shape)}; an ensemble combines class scores of "
                                     "shape [classes] (two or more)", output_nodes.get(name))
        if body.method == "stacking" and kind == "values" and (len(shape) != 1 or shape[0] is None):
            raise problem(["method"], f"stacking fits a regression on Output '{name}', which gives {list(shape)}; "
                                      "it needs values of shape [n]: use bagging", output_nodes.get(name))
        if body.method == "stacking" and kind == "binary":
            raise problem(["method"], f"stacking has no meta-learner for the binary Output '{name}' "
                                      "(binary_crossentropy): use bagging, or two classes with "
                                      "sparse_categorical_crossentropy", output_nodes.get(name))
    if body.method == "boosting" and (len(kinds) != 1 or next(iter(kinds.values())) != "classes"):
        raise problem(["method"], "boosting (SAMME) needs one classification Output trained with "
                                  "(sparse_)categorical_crossentropy; use bagging or stacking for this graph")
    return graph, dataset


@router.post("", response_model=EnsembleCreated, status_code=201, responses=error_responses(413, 422))
def create_ensemble(body: EnsembleCreate, settings: SettingsDep, db: DatabaseDep, manager: RunManagerDep,
                    service: EnsemblesDep) -> EnsembleCreated:
    """Start an ensemble: its members are ordinary runs. 0 or 1,000 members, an unknown method, a graph, dataset
    or config that cannot train, a graph the method cannot combine: a 422 naming the field; nothing is queued."""
    graph, dataset = check_ensemble(body, settings)
    config = body.config
    if "num_threads" not in config.model_fields_set:
        config = config.model_copy(update={"num_threads": settings.worker_threads})
    row = EnsembleRow(id=new_id(), name=body.name or f"{body.method}: {body.graph.name}", graph=graph,
                      dataset=dataset, config=config.model_dump(mode="json"), method=body.method,
                      members=body.members, seed=config.seed, status="running", owner=manager.cluster.id)
    with db.session() as s:
        s.add(row)
        ensemble_id = row.id
    service.start(ensemble_id)
    return EnsembleCreated(id=ensemble_id)


def _row(s: Any, ensemble_id: str) -> EnsembleRow:
    row: EnsembleRow | None = s.get(EnsembleRow, ensemble_id)
    if row is None:
        raise HTTPException(404, f"no ensemble with id '{ensemble_id}'")
    return row


def _members(s: Any, ensemble_id: str) -> list[MemberInfo]:
    rows = s.scalars(select(EnsembleMemberRow).where(EnsembleMemberRow.ensemble_id == ensemble_id)
                     .order_by(EnsembleMemberRow.number)).all()
    out = []
    for m in rows:
        run = s.get(RunRow, m.run_id) if m.run_id is not None else None
        out.append(MemberInfo(number=m.number, run_id=m.run_id, status=run.status if run is not None else None,
                              seed=m.seed, samples=m.samples, weight=m.weight, error=m.error,
                              test_metrics=run.test_metrics if run is not None else {}))
    return out


def summary(row: EnsembleRow) -> EnsembleSummary:
    return EnsembleSummary(id=row.id, name=row.name, status=row.status,  # type: ignore[arg-type]
                           method=row.method, members=row.members, dataset=row.dataset,  # type: ignore[arg-type]
                           error=row.error, message=row.message, test_metrics=row.test_metrics,
                           created_at=row.created_at, finished_at=row.finished_at)


def detail(s: Any, row: EnsembleRow) -> EnsembleDetail:
    return EnsembleDetail(**summary(row).model_dump(), graph=Graph.model_validate(row.graph), config=row.config,
                          seed=row.seed, member_runs=_members(s, row.id), combiner=row.combiner)


@router.get("", response_model=list[EnsembleSummary])
def list_ensembles(db: DatabaseDep) -> list[EnsembleSummary]:
    """All ensembles, newest first."""
    with db.session() as s:
        return [summary(r) for r in s.scalars(select(EnsembleRow).order_by(EnsembleRow.created_at.desc()))]


@router.get("/{ensemble_id}", response_model=EnsembleDetail, responses=error_responses(404))
def get_ensemble(ensemble_id: str, db: DatabaseDep) -> EnsembleDetail:
    """One ensemble: its member runs with their status and test metrics, the combined model's test metrics and
    how the members are combined."""
    with db.session() as s:
        return detail(s, _row(s, ensemble_id))


@router.post("/{ensemble_id}/stop", response_model=EnsembleSummary, responses=error_responses(404))
def stop_ensemble(ensemble_id: str, db: DatabaseDep, service: EnsemblesDep) -> EnsembleSummary:
    """Stop a running ensemble and its members' runs. A finished ensemble is left as it is."""
    with db.session() as s:
        _row(s, ensemble_id)
    service.stop(ensemble_id)
    with db.session() as s:
        return summary(_row(s, ensemble_id))


def complete_ensemble(db: Database, settings: Settings, ensemble_id: str) -> Ensemble:
    """A complete ensemble as its export needs it; 404 for an unknown one, 409 for one that is not complete."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", ensemble_id):
        raise HTTPException(404, f"no ensemble with id '{ensemble_id}'")
    with db.session() as s:
        row = _row(s, ensemble_id)
        if row.status != "completed" or row.combiner is None:
            raise HTTPException(409, f"ensemble '{ensemble_id}' is {row.status}: only a completed ensemble has a "
                                     "combined model")
        combiner = Combiner.model_validate(row.combiner)
        members = _members(s, ensemble_id)
        metrics = dict(row.test_metrics)
    used = members[:len(combiner.weights)] if combiner.weights is not None else members
    runs = [RunDir(settings.data_dir / "runs" / m.run_id) for m in used if m.run_id is not None]
    return Ensemble(id=ensemble_id, directory=Path(settings.data_dir) / "ensembles" / ensemble_id, members=runs,
                    combiner=combiner, test_metrics=metrics)


EXPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    **error_responses(404), 409: {"description": "the ensemble is not complete"},
    422: {"description": "the export failed its check; the message names the member layer at fault"}}


async def _export(ensemble: Ensemble) -> tuple[Path, ExportReport]:
    try:
        return await run_in_threadpool(export_ensemble, ensemble)
    except ExportError as e:
        raise HTTPException(422, {"message": str(e), "node": e.node}) from e


@router.get("/{ensemble_id}/export", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "the ONNX file"},
                       **EXPORT_ERRORS})
async def download(ensemble_id: str, db: DatabaseDep, settings: SettingsDep,
                   format: Literal["onnx"] = "onnx") -> FileResponse:
    """The combined model as one ONNX file (every member inside), checked with onnx.checker and against the
    PyTorch ensemble in ONNX Runtime."""
    ensemble = await run_in_threadpool(complete_ensemble, db, settings, ensemble_id)
    path, _ = await _export(ensemble)
    stem = file_stem(ensemble.members[0].graph().get("name"))
    return FileResponse(path, media_type="application/octet-stream",
                        headers={"Content-Disposition": content_disposition(stem, f"-ensemble-{ensemble_id}.onnx")})


@router.get("/{ensemble_id}/export/report", response_model=ExportReport, response_model_exclude_none=True,
            responses=EXPORT_ERRORS)
async def report(ensemble_id: str, db: DatabaseDep, settings: SettingsDep,
                 format: Literal["onnx"] = "onnx") -> ExportReport:
    """How the ensemble's ONNX file was checked (makes it if needed)."""
    ensemble = await run_in_threadpool(complete_ensemble, db, settings, ensemble_id)
    _, result = await _export(ensemble)
    return result


@router.post("/{ensemble_id}/predict", response_model=PredictResponse, response_model_exclude_none=True,
             responses=EXPORT_ERRORS)
async def predict(ensemble_id: str, body: PredictRequest, db: DatabaseDep, settings: SettingsDep) -> dict[str, Any]:
    """Inference on the combined model (its ONNX file in ONNX Runtime); inputs by Input id, raw values, as for a
    run."""
    ensemble = await run_in_threadpool(complete_ensemble, db, settings, ensemble_id)
    try:
        model = await run_in_threadpool(ensemble_predictor, ensemble)
        return await run_in_threadpool(model.predict, body.inputs)
    except PredictError as e:
        raise HTTPException(422, str(e)) from e
    except ExportError as e:
        raise HTTPException(422, {"message": str(e), "node": e.node}) from e
