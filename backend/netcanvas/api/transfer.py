"""Checks of a run's ``config.init`` (transfer learning) before it is queued: the source run exists, has finished
and has weights; every frozen id is a node of the graph, and something is left to train."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from ..graph import parse_graph
from ..runs import RunManager
from ..store import FINISHED, Database, RunRow
from ..training import TrainConfig
from .validate import validation_report


def unprocessable(problems: list[dict[str, Any]]) -> HTTPException:
    """A 422 shaped like FastAPI's own (as ``runs.unprocessable``, which imports this module)."""
    return HTTPException(422, detail=problems)


def _problem(loc: list[str | int], msg: str, node: str | None = None) -> dict[str, Any]:
    field = "config." + ".".join(str(p) for p in loc[:2]) + "".join(f"[{p}]" for p in loc[2:])
    return {"loc": ["body", "config", *loc], "type": "config", "node": node, "msg": f"{field}: {msg}"}


def check_init(config: TrainConfig, graph: dict[str, Any], db: Database, manager: RunManager) -> None:
    """Raise a 422 naming ``config.init.run`` or ``config.init.freeze[i]`` when the init cannot work."""
    init = config.init
    if init is None:
        return
    ids = [n.id for n in parse_graph(graph).graph.nodes]
    unknown = [_problem(["init", "freeze", i], f"the graph has no node '{node}'")
               for i, node in enumerate(init.freeze) if node not in ids]
    if unknown:
        raise unprocessable(unknown)
    if init.freeze:
        report = validation_report(graph)
        trainable = [n for n, info in report.nodes.items() if info.params > 0 and n not in init.freeze]
        if not trainable:
            raise unprocessable([_problem(["init", "freeze"], "every node with weights is frozen, so there is "
                                                              "nothing to train; unlock at least one")])
    if init.run is None:
        return
    with db.session() as s:
        row = s.get(RunRow, init.run)
        status = row.status if row is not None else None
    if status is None:
        raise unprocessable([_problem(["init", "run"], f"no run with id '{init.run}'")])
    if status not in FINISHED:
        raise unprocessable([_problem(["init", "run"], f"run '{init.run}' is {status}; start from a finished run")])
    if manager.run_dir(init.run).weights_path() is None:
        raise unprocessable([_problem(["init", "run"], f"run '{init.run}' has no weights ({status} before its "
                                                       "first epoch ended)")])
