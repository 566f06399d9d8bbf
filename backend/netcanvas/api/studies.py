"""Hyperparameter studies: start one, list them, follow one (its trials, best and importances), stop one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from ..graph import Graph, field_errors
from ..search.space import Dimension, check_space, grid_size, grid_values
from ..search.study import SPACE_ADAPTER, Direction, Sampler, StudyService, TrialRejected, importances
from ..settings import Settings
from ..store import new_id
from ..store.studies import StudyRow, TrialRow
from ..training import TrainConfig
from ..training.metrics import direction as metric_direction
from .deps import DatabaseDep, SettingsDep, StudiesDep
from .limits import SafeJSONRoute, error_responses
from .runs import DatasetRef, RunCreate, check_request, unprocessable

TrialState = Literal["running", "complete", "pruned", "failed", "stopped", "interrupted"]
StudyStatus = Literal["running", "completed", "stopped", "failed"]


def preparer(settings: Settings) -> Any:
    """A trial's graph, dataset and config checked exactly as ``POST /api/runs`` checks a run."""

    def prepare(graph: dict[str, Any], dataset: dict[str, Any],
                config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], TrainConfig]:
        try:
            body = RunCreate.model_validate({"graph": graph, "dataset": dataset, "config": config})
        except ValidationError as e:
            raise TrialRejected("; ".join(f"{loc}: {msg}" for loc, msg in field_errors(e))) from None
        try:
            checked_graph, checked_dataset = check_request(body, settings)
        except HTTPException as e:
            detail = e.detail
            raise TrialRejected("; ".join(str(d.get("msg")) for d in detail) if isinstance(detail, list)
                                else str(detail)) from None
        train_config = body.config
        if "num_threads" not in train_config.model_fields_set:
            train_config = train_config.model_copy(update={"num_threads": settings.worker_threads})
        return checked_graph, checked_dataset, train_config

    return prepare


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Inside the app's own lifespan: the run manager is up before studies resume and still up when they let go."""
    service = StudyService(app.state.db, app.state.runs, preparer(app.state.settings))
    app.state.studies = service
    await run_in_threadpool(service.tend)  # takes over the running studies no live server drives, now and later
    try:
        yield
    finally:
        await run_in_threadpool(service.close)


router = APIRouter(prefix="/api/studies", tags=["studies"], route_class=SafeJSONRoute, lifespan=lifespan)


class StudyCreate(BaseModel):
    graph: Graph
    dataset: DatasetRef
    config: TrainConfig = Field(default_factory=TrainConfig)
    space: dict[str, Dimension] | None = Field(default=None, description="What to vary (docs/search.md); "
                                                                         "default: the graph's `search` marks")
    sampler: Sampler = Field(default="tpe", description="grid: every point once; random; tpe: Bayesian (optuna)")
    trials: int = Field(default=20, ge=1, le=1000, description="Trials to run (a grid runs each point once)")
    objective: str | None = Field(default=None, max_length=100,
                                  description="A metric the runs report each epoch; default: val_loss, else loss")
    direction: Direction | None = Field(default=None, description="Default: the objective metric's own direction")
    pruner: Literal["median"] | None = Field(default="median",
                                             description="median: stop a trial whose objective is worse than the "
                                                         "median of earlier trials at the same epoch")
    parallel: int = Field(default=1, ge=1, le=64,
                          description="Trials that run at once (at most NETCANVAS_MAX_CONCURRENT_RUNS)")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="The sampler's seed")
    name: str | None = Field(default=None, max_length=200, description="Default: search: the graph's name")


class StudyCreated(BaseModel):
    id: str


class TrialInfo(BaseModel):
    number: int
    state: TrialState = Field(description="pruned: stopped early by the pruner; interrupted: its server stopped "
                                          "(another trial took its place)")
    run_id: str | None = Field(description="The trial's run (null when its graph or config could not train)")
    params: dict[str, Any]
    value: float | None = Field(description="The best objective over the run's epochs")
    intermediate: list[tuple[int, float]] = Field(description="[epoch, objective] after each epoch")
    message: str | None
    created_at: datetime
    finished_at: datetime | None


class StudySummary(BaseModel):
    id: str
    name: str
    status: StudyStatus
    sampler: Sampler
    pruner: Literal["median"] | None
    objective: str
    direction: Direction
    budget: int = Field(description="Trials asked for")
    parallel: int
    counts: dict[str, int] = Field(description="Trials per state")
    best: TrialInfo | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class StudyDetail(StudySummary):
    graph: Graph
    dataset: dict[str, Any]
    config: dict[str, Any]
    space: dict[str, Any]
    trials: list[TrialInfo]
    importances: dict[str, float] | None = Field(description="optuna's parameter importances (fANOVA), once two "
                                                             "trials are complete and a parameter varied")


def problem(loc: list[str | int], msg: str) -> HTTPException:
    return unprocessable([{"loc": ["body", *loc], "msg": msg, "type": "search", "node": None}])


def metric_names(graph: Graph, config: TrainConfig) -> list[str]:
    """The names an epoch event reports for this graph and config (as the training loop names them)."""
    outputs = [n.output_name for n in graph.nodes if n.type == "Output"]
    multi = len(outputs) > 1
    names = ["loss"]
    for output in outputs:
        tag = f"{output}_" if multi else ""
        if multi:
            names.append(f"{tag}loss")
        names += [f"{tag}{m}" for m in config.metrics_for(output)]
    return names + ([f"val_{n}" for n in names] if config.validation_split > 0 else [])


def check_study(body: StudyCreate, settings: Settings) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any],
                                                                dict[str, Any], str, Direction, int]:
    """Everything wrong with a study, before anything is stored; returns what to store."""
    graph, dataset = check_request(RunCreate(graph=body.graph, dataset=body.dataset, config=body.config), settings)
    config = body.config.model_dump(mode="json", exclude_unset=True)
    config["optimizer"] = body.config.optimizer.model_dump(mode="json")  # its type, whatever a trial changes
    if body.space is not None:
        space, where = body.space, ["space"]
    else:
        where = ["graph", "search"]
        raw = graph.get("search")
        if not raw:
            raise problem(["space"], "give a search space, or mark params to tune in the graph's `search`")
        try:
            space = SPACE_ADAPTER.validate_python(raw)
        except ValidationError as e:
            loc, msg = field_errors(e)[0]
            raise problem([*where, *loc.split(".")], msg) from None
    _, problems = check_space(space, graph, config)
    if problems:
        raise unprocessable([{"loc": ["body", *where, p.key] if p.key else ["body", *where], "msg": p.message,
                              "type": "search", "node": None} for p in problems])
    trials = body.trials
    if body.sampler == "grid":
        for key, dim in space.items():
            if grid_values(dim) is None:
                raise problem([*where, key], "a grid needs a step for a float range (or a list of choices)")
        size = grid_size(space)
        if size > body.trials:
            raise problem(["trials"], f"the grid has {size:,} points, more than the {body.trials} trials asked "
                                      "for; give trials >= the grid size or fewer grid points")
        trials = size
    names = metric_names(body.graph, body.config)
    objective = body.objective or ("val_loss" if body.config.validation_split > 0 else "loss")
    if objective not in names:
        raise problem(["objective"], f"the runs do not report '{objective}'; they report {', '.join(names)}")
    limit = settings.max_concurrent_runs
    if body.parallel > limit:
        raise problem(["parallel"], f"{body.parallel} parallel trials is more than the {limit} runs that may run at "
                                    "once (NETCANVAS_MAX_CONCURRENT_RUNS)")
    direction: Direction = body.direction or ("maximize" if metric_direction(objective) == "max" else "minimize")
    dumped = {key: dim.model_dump(exclude_none=True) for key, dim in space.items()}
    return graph, dataset, config, dumped, objective, direction, trials


@router.post("", response_model=StudyCreated, status_code=201, responses=error_responses(413, 422))
def create_study(body: StudyCreate, settings: SettingsDep, db: DatabaseDep, service: StudiesDep) -> StudyCreated:
    """Start a study: every trial is an ordinary run. A space naming a node or param that does not exist, a range
    with low > high, a categorical without choices, a grid larger than the trials, an objective the runs do not
    report: a 422 naming the field; nothing is queued."""
    graph, dataset, config, space, objective, direction, trials = check_study(body, settings)
    row = StudyRow(id=new_id(), name=body.name or f"search: {body.graph.name}", graph=graph, dataset=dataset,
                   config=config, space=space, sampler=body.sampler, pruner=body.pruner, objective=objective,
                   direction=direction, trials=trials, parallel=body.parallel, seed=body.seed, status="running",
                   owner=service.server)
    with db.session() as s:
        s.add(row)
        study_id = row.id
    service.start(study_id)
    return StudyCreated(id=study_id)


def trial_info(row: TrialRow) -> TrialInfo:
    return TrialInfo(number=row.number, state=row.state,  # type: ignore[arg-type]
                     run_id=row.run_id, params=row.params, value=row.value,
                     intermediate=[(int(e), float(v)) for e, v in row.intermediate], message=row.message,
                     created_at=row.created_at, finished_at=row.finished_at)


def best_trial(study: StudyRow, trials: list[TrialRow]) -> TrialInfo | None:
    done = [t for t in trials if t.state == "complete" and t.value is not None]
    if not done:
        return None
    pick = max if study.direction == "maximize" else min
    return trial_info(pick(done, key=lambda t: float(t.value or 0.0)))


def summary(study: StudyRow, trials: list[TrialRow]) -> StudySummary:
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state] = counts.get(t.state, 0) + 1
    return StudySummary(id=study.id, name=study.name, status=study.status,  # type: ignore[arg-type]
                        sampler=study.sampler, pruner=study.pruner,  # type: ignore[arg-type]
                        objective=study.objective, direction=study.direction,  # type: ignore[arg-type]
                        budget=study.trials, parallel=study.parallel, counts=counts, best=best_trial(study, trials),
                        error=study.error, created_at=study.created_at, finished_at=study.finished_at)


def _trials(s: Any, study_id: str) -> list[TrialRow]:
    return list(s.scalars(select(TrialRow).where(TrialRow.study_id == study_id).order_by(TrialRow.number)))


def _study(s: Any, study_id: str) -> StudyRow:
    row: StudyRow | None = s.get(StudyRow, study_id)
    if row is None:
        raise HTTPException(404, f"no study with id '{study_id}'")
    return row


@router.get("", response_model=list[StudySummary])
def list_studies(db: DatabaseDep) -> list[StudySummary]:
    """All studies, newest first."""
    with db.session() as s:
        rows = s.scalars(select(StudyRow).order_by(StudyRow.created_at.desc())).all()
        return [summary(r, _trials(s, r.id)) for r in rows]


_importance_cache: dict[tuple[str, int], dict[str, float] | None] = {}


@router.get("/{study_id}", response_model=StudyDetail, responses=error_responses(404))
def get_study(study_id: str, db: DatabaseDep) -> StudyDetail:
    """One study: its trials (each an ordinary run), the best so far and the parameter importances."""
    with db.session() as s:
        study = _study(s, study_id)
        trials = _trials(s, study_id)
        base = summary(study, trials)
        complete = sum(1 for t in trials if t.state == "complete")
        key = (study_id, complete)
        if key not in _importance_cache:
            if len(_importance_cache) > 256:
                _importance_cache.clear()
            _importance_cache[key] = importances(study, trials)
        detail = StudyDetail(**base.model_dump(), graph=Graph.model_validate(study.graph), dataset=study.dataset,
                             config=study.config, space=study.space, trials=[trial_info(t) for t in trials],
                             importances=_importance_cache[key])
    return detail


@router.post("/{study_id}/stop", response_model=StudySummary, responses=error_responses(404))
def stop_study(study_id: str, db: DatabaseDep, service: StudiesDep) -> StudySummary:
    """Stop a running study: no new trials start and the running ones are stopped. A finished study is left as
    it is."""
    with db.session() as s:
        _study(s, study_id)
    service.stop(study_id)
    with db.session() as s:
        return summary(_study(s, study_id), _trials(s, study_id))

