"""`netcanvas ensemble`: an ensemble run from the command line, on the server's database (the web app shows it too)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from pydantic import ValidationError

from ..graph import field_errors
from ..search.console import describe
from ..settings import Settings
from ..store import Database, new_id
from ..store.ensembles import EnsembleRow


class EnsembleInputError(Exception):
    """An ensemble that cannot start: one line per problem, each naming its field."""


def metrics_text(metrics: dict[str, Any]) -> str:
    return "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} -" for k, v in metrics.items())


def run_ensemble(body: dict[str, Any], settings: Settings, echo: Callable[[str], None],
                 output: Path | None = None) -> str:
    """Validate and run an ensemble to its end, echoing each member as its run ends; write its ONNX file to
    ``output`` when it completes. Returns its final status. Ctrl+C stops it (and its members' runs)."""
    from ..api.ensembles import EnsembleCreate, _members, check_ensemble, complete_ensemble
    from ..runs import RunManager
    from .export import export_ensemble
    from .service import EnsembleService

    try:
        request = EnsembleCreate.model_validate(body)
    except ValidationError as e:
        raise EnsembleInputError("\n".join(f"{loc}: {msg}" for loc, msg in field_errors(e))) from None
    try:
        graph, dataset = check_ensemble(request, settings)
    except HTTPException as e:
        raise EnsembleInputError(describe(e.detail)) from None
    config = request.config
    if "num_threads" not in config.model_fields_set:
        config = config.model_copy(update={"num_threads": settings.worker_threads})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    db.migrate()
    manager = RunManager(db, settings.data_dir / "runs", max_concurrent=settings.max_concurrent_runs,
                         worker_threads=settings.worker_threads, standby=False)
    manager.runs_dir.mkdir(parents=True, exist_ok=True)
    # Present as a live server while it runs: a server on the same database then neither takes the ensemble over
    # nor fails the member runs this process trains.
    with manager.cluster.member():
        service = EnsembleService(db, manager)
        row = EnsembleRow(id=new_id(), name=request.name or f"{request.method}: {request.graph.name}", graph=graph,
                          dataset=dataset, config=config.model_dump(mode="json"), method=request.method,
                          members=request.members, seed=config.seed, status="running", owner=manager.cluster.id)
        with db.session() as s:
            s.add(row)
            ensemble_id = row.id
        echo(f"ensemble {ensemble_id}: {request.method}, {request.members} members")
        service.start(ensemble_id)
        shown: set[int] = set()
        try:
            while True:
                ended = service.wait(ensemble_id, 0.5)
                with db.session() as s:
                    for member in _members(s, ensemble_id):
                        scored = request.method != "boosting" or member.weight is not None or ended
                        ended_now = member.status in ("completed", "failed", "stopped")
                        if member.number not in shown and ended_now and scored:
                            shown.add(member.number)
                            weight = f"  weight {member.weight:.4f}" if member.weight is not None else ""
                            echo(f"member {member.number}  run {member.run_id}  {member.status}{weight}  "
                                 f"{metrics_text(member.test_metrics)}")
                if ended:
                    break
        except KeyboardInterrupt:
            echo("stopping the ensemble...")
            service.stop(ensemble_id)
            service.wait(ensemble_id, 30)
    asyncio.run(manager.close())  # and leave the cluster
    with db.session() as s:
        final = s.get(EnsembleRow, ensemble_id)
        status = final.status if final is not None else "failed"
        error, message = (final.error, final.message) if final is not None else (None, None)
        metrics = dict(final.test_metrics) if final is not None else {}
    if message:
        echo(message)
    if status != "completed":
        echo(f"ensemble {status}" + (f": {error}" if error else ""))
        db.close()
        return status
    echo(f"ensemble completed  {metrics_text(metrics)}")
    if output is not None:
        ensemble = complete_ensemble(db, settings, ensemble_id)
        path, report = export_ensemble(ensemble)
        shutil.copyfile(path, output)
        echo(f"wrote {output} ({output.stat().st_size:,} bytes); checked with onnx.checker and onnxruntime "
             f"({', '.join(report.checked)}): max abs diff {report.max_abs_diff:.2g}")
    db.close()
    return status
