"""Saved graphs on the server: list, open, save, rename, delete (``POST /api/graphs/validate`` is in validate.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from ..graph import Graph
from ..settings import Settings
from ..store import GraphRow, utcnow
from .deps import DatabaseDep, SettingsDep
from .limits import SafeJSONRoute, error_responses
from .validate import check_size

router = APIRouter(prefix="/api/graphs", tags=["graphs"], route_class=SafeJSONRoute,
                   responses=error_responses(413, 422))


class GraphSummary(BaseModel):
    id: str
    name: str
    nodes: int = Field(description="Number of nodes")
    created_at: datetime
    updated_at: datetime


class GraphRecord(BaseModel):
    id: str
    name: str
    graph: Graph
    created_at: datetime
    updated_at: datetime


class GraphCreate(BaseModel):
    graph: Graph
    name: str | None = Field(default=None, min_length=1, max_length=200,
                             description="Name to list it under; default: the graph's own name")


class GraphUpdate(BaseModel):
    graph: Graph | None = Field(default=None, description="New contents; omit to keep them")
    name: str | None = Field(default=None, min_length=1, max_length=200, description="New name; omit to keep it")


def graph_json(graph: Graph, name: str, settings: Settings) -> dict[str, Any]:
    """The graph as the canvas sent it (unknown keys kept, no defaults added), under its saved name;
    a 422 past the node or edge limit."""
    data = graph.model_dump(mode="json", exclude_unset=True)
    data["format"] = graph.format
    data["name"] = name
    check_size(data, settings)
    return data


def record(row: GraphRow) -> GraphRecord:
    return GraphRecord(id=row.id, name=row.name, graph=Graph.model_validate(row.graph),
                       created_at=row.created_at, updated_at=row.updated_at)


@router.get("", response_model=list[GraphSummary])
def list_graphs(db: DatabaseDep) -> list[GraphSummary]:
    """Saved graphs, most recently updated first."""
    with db.session() as s:
        rows = s.scalars(select(GraphRow).order_by(GraphRow.updated_at.desc())).all()
        return [GraphSummary(id=r.id, name=r.name, nodes=len(r.graph.get("nodes") or []),
                             created_at=r.created_at, updated_at=r.updated_at) for r in rows]


@router.post("", response_model=GraphRecord, status_code=201)
def create_graph(body: GraphCreate, db: DatabaseDep, settings: SettingsDep) -> GraphRecord:
    """Save a graph (valid or not: work in progress can be saved)."""
    name = body.name or body.graph.name
    with db.session() as s:
        now = utcnow()
        row = GraphRow(name=name, graph=graph_json(body.graph, name, settings), created_at=now, updated_at=now)
        s.add(row)
        s.flush()
        return record(row)


def _get(s: Any, graph_id: str) -> GraphRow:
    row: GraphRow | None = s.get(GraphRow, graph_id)
    if row is None:
        raise HTTPException(404, f"no saved graph with id '{graph_id}'")
    return row


@router.get("/{graph_id}", response_model=GraphRecord, responses=error_responses(404))
def get_graph(graph_id: str, db: DatabaseDep) -> GraphRecord:
    with db.session() as s:
        return record(_get(s, graph_id))


@router.put("/{graph_id}", response_model=GraphRecord, responses=error_responses(404))
def update_graph(graph_id: str, body: GraphUpdate, db: DatabaseDep, settings: SettingsDep) -> GraphRecord:
    """Replace the contents, rename, or both (the saved name is the graph's name)."""
    with db.session() as s:
        row = _get(s, graph_id)
        name = body.name or row.name
        if body.graph is not None:
            row.graph = graph_json(body.graph, name, settings)
        elif name != row.name:
            row.graph = {**row.graph, "name": name}
        row.name = name
        row.updated_at = utcnow()
        s.flush()
        return record(row)


@router.delete("/{graph_id}", status_code=204, response_class=Response, responses=error_responses(404))
def delete_graph(graph_id: str, db: DatabaseDep) -> Response:
    with db.session() as s:
        s.delete(_get(s, graph_id))
    return Response(status_code=204)

