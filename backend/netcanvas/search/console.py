"""`netcanvas search`: a study run from the command line, on the server's database (the web app shows it too)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException
from pydantic import ValidationError
from sqlalchemy import select

from ..graph import field_errors
from ..settings import Settings
from ..store import Database, new_id
from ..store.studies import StudyRow, TrialRow


class SearchError(Exception):
    """A study that cannot start: one line per problem, each naming its field."""


def describe(detail: Any) -> str:
    if isinstance(detail, list):
        return "\n".join(f"{'.'.join(str(p) for p in d['loc'][1:])}: {d['msg']}" for d in detail)
    return str(detail)


def trial_line(row: TrialRow) -> str:
    params = ", ".join(f"{k.split('.', 1)[1]}={v:.4g}" if isinstance(v, float) else f"{k.split('.', 1)[1]}={v}"
                       for k, v in row.params.items())
    value = f"{row.value:.4f}" if row.value is not None else "-"
    return f"trial {row.number:>3}  {row.state:<11} {value:>8}  {params}" + (f"  ({row.message})"
                                                                            if row.message else "")


def run_search(body: dict[str, Any], settings: Settings, echo: Callable[[str], None]) -> tuple[str, int]:
    """Validate and run a study to its end, echoing each trial as it ends; returns the study id and how many trials
    completed. Ctrl+C stops the study (its running trials are stopped) and returns."""
    from ..api.studies import StudyCreate, check_study, preparer
    from ..runs import RunManager
    from .study import StudyService

    try:
        request = StudyCreate.model_validate(body)
    except ValidationError as e:
        raise SearchError("\n".join(f"{loc}: {msg}" for loc, msg in field_errors(e))) from None
    try:
        graph, dataset, config, space, objective, direction, trials = check_study(request, settings)
    except HTTPException as e:
        raise SearchError(describe(e.detail)) from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    db.migrate()
    manager = RunManager(db, settings.data_dir / "runs", max_concurrent=request.parallel,
                         worker_threads=settings.worker_threads, standby=False)
    manager.runs_dir.mkdir(parents=True, exist_ok=True)
    # Present as a live server while it runs: a server on the same database then neither takes the study over nor
    # fails the trial runs this process trains.
    with manager.cluster.member():
        service = StudyService(db, manager, preparer(settings))
        row = StudyRow(id=new_id(), name=request.name or f"search: {request.graph.name}", graph=graph, dataset=dataset,
                       config=config, space=space, sampler=request.sampler, pruner=request.pruner, objective=objective,
                       direction=direction, trials=trials, parallel=request.parallel, seed=request.seed)
        with db.session() as s:
            s.add(row)
            study_id = row.id
        echo(f"study {study_id}: {trials} trials ({request.sampler}), objective {objective} ({direction})")
        service.start(study_id)
        shown: set[int] = set()
        try:
            while True:
                ended = service.wait(study_id, 0.5)
                with db.session() as s:
                    for trial in s.scalars(select(TrialRow).where(TrialRow.study_id == study_id,
                                                                  TrialRow.state != "running")):
                        if trial.number not in shown:
                            shown.add(trial.number)
                            echo(trial_line(trial))
                if ended:
                    break
        except KeyboardInterrupt:
            echo("stopping the study...")
            service.stop(study_id)
            service.wait(study_id, 30)
    asyncio.run(manager.close())
    with db.session() as s:
        study = s.get(StudyRow, study_id)
        rows = list(s.scalars(select(TrialRow).where(TrialRow.study_id == study_id)))
        done = [t for t in rows if t.state == "complete" and t.value is not None]
        status = study.status if study is not None else "failed"
        if done:
            best = (max if direction == "maximize" else min)(done, key=lambda t: float(t.value or 0.0))
            echo(f"study {status}; best: {trial_line(best)}; run {best.run_id}")
        else:
            echo(f"study {status}; no trial completed")
    db.close()
    return study_id, len(done)
