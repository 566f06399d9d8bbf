"""POST /api/graphs/validate: shapes, parameter counts and node-named errors."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..graph import Graph, Problem, size_problem
from ..settings import Settings
from ..shapes import ValidationReport, validate_graph
from ..training import TrainConfig
from .deps import SettingsDep
from .limits import SafeJSONRoute, error_responses
from .preflight import DatasetRef, preflight, training_context

router = APIRouter(prefix="/api", tags=["graphs"], route_class=SafeJSONRoute, responses=error_responses(413, 422))
log = logging.getLogger(__name__)

class PreflightRequest(BaseModel):
    """A graph with the dataset and training config it would be trained with (the body of POST /api/runs)."""

    graph: Graph
    dataset: DatasetRef | None = Field(default=None, description="Check the Outputs against its fields")
    config: TrainConfig | None = Field(default=None, description="Its batch size and optimizer size the estimates")


VALIDATE_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"anyOf": [
    {"$ref": "#/components/schemas/Graph"}, {"$ref": "#/components/schemas/PreflightRequest"}]}}}}}


def add_graph_schemas(schemas: dict[str, Any]) -> None:
    """Register the Graph JSON models and the pre-flight body as OpenAPI components (the validate body reads raw
    JSON)."""
    for model in (Graph, PreflightRequest):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas.setdefault(model.__name__, schema)


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


def checked(body: dict[str, Any], settings: Settings) -> ValidationReport:
    """The validation report with the pre-flight (estimates, size and dataset warnings, hints) of either body."""
    run_request = "nodes" not in body and isinstance(body.get("graph"), dict)
    graph = body["graph"] if run_request else body
    check_size(graph, settings)
    ref, config, problems = training_context(body) if run_request else (None, TrainConfig(), [])
    report = preflight(graph, validation_report(graph), ref, config, settings)
    return report.model_copy(update={"warnings": report.warnings + problems}) if problems else report


@router.post("/graphs/validate", response_model=ValidationReport, openapi_extra=VALIDATE_BODY)
async def validate(request: Request, settings: SettingsDep) -> ValidationReport:
    """Any JSON object within the limits gets a 200 answer; what is wrong is in `errors`, each naming its node.
    The body is a graph, or `{"graph", "dataset", "config"}` as for POST /api/runs: then the `estimates` are for
    that batch size and optimizer, and `warnings` also name an Output whose size does not fit the dataset (the
    refusals POST /api/runs would give, which never block anything here). `hints` are legal but often
    unintended constructs."""
    body = await json_object(request)
    return await run_in_threadpool(checked, body, settings)
