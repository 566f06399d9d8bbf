"""POST /api/graphs/validate: shapes, parameter counts and node-named errors."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from ..graph import Graph, Problem
from ..shapes import ValidationReport, validate_graph

router = APIRouter(prefix="/api", tags=["graphs"])
log = logging.getLogger(__name__)
_lock = threading.Lock()  # the per-node shape cache is shared

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
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise HTTPException(422, f"the body is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise HTTPException(422, f"the body must be a JSON object (a graph), got {type(data).__name__}")
    return data


def _validate(graph: dict[str, Any]) -> ValidationReport:
    with _lock:
        try:
            return validate_graph(graph)
        except Exception as e:  # a bug of ours must still not become a 500 for the canvas
            log.exception("validation crashed")
            return ValidationReport(valid=False, nodes={}, edges=[], total_params=0, warnings=[],
                                    errors=[Problem(message=f"internal error while validating: {e}")])


@router.post("/graphs/validate", response_model=ValidationReport, openapi_extra=GRAPH_BODY)
async def validate(request: Request) -> ValidationReport:
    """Any JSON object gets a 200 answer; what is wrong is in `errors`, each naming its node."""
    return await run_in_threadpool(_validate, await json_object(request))
