"""POST /api/graphs/validate: shapes, parameter counts and node-named errors."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from ..graph import Graph, Problem, size_problem
from ..settings import Settings
from ..shapes import ValidationReport, validate_graph
from .deps import SettingsDep
from .limits import SafeJSONRoute, error_responses

router = APIRouter(prefix="/api", tags=["graphs"], route_class=SafeJSONRoute, responses=error_responses(413, 422))
log = logging.getLogger(__name__)

GRAPH_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Graph"}}}}}


def add_graph_schemas(schemas: dict[str, Any]) -> None:
    """Register the Graph JSON models as OpenAPI components (the validate body reads raw JSON)."""
    graph = Graph.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in graph.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.setdefault("Graph", graph)


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, whatever Content-Type was sent (curl -d sends a form type)."""
    data = await request.json()  # read_json: a 422 for anything that is not safe to read
    if not isinstance(data, dict):
        raise HTTPException(422, f"the body must be a JSON object (a graph), got {type(data).__name__}")
    return data


def check_size(graph: dict[str, Any], settings: Settings) -> None:
    """A 422 for a graph past the node or edge limit."""
    problem = size_problem(graph, settings.max_nodes, settings.max_edges)
    if problem:
        raise HTTPException(422, problem)


def validation_report(graph: dict[str, Any]) -> ValidationReport:
    """The validation report of a graph JSON object; never raises. Validations run side by side
    (the shape cache locks itself only while it is read or written)."""
    try:
        return validate_graph(graph)
    except Exception as e:  # a bug of ours must still not become a 500 for the canvas
        log.exception("validation crashed")
        return ValidationReport(valid=False, nodes={}, edges=[], total_params=0, warnings=[],
                                errors=[Problem(message=f"internal error while validating: {e}")])


@router.post("/graphs/validate", response_model=ValidationReport, openapi_extra=GRAPH_BODY)
async def validate(request: Request, settings: SettingsDep) -> ValidationReport:
    """Any JSON object within the limits gets a 200 answer; what is wrong is in `errors`, each naming its node."""
    graph = await json_object(request)
    check_size(graph, settings)
    return await run_in_threadpool(validation_report, graph)
