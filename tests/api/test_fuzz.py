"""Property-based fuzzing: whatever is sent, the answer is a report or a clean 4xx, never a 5xx or a crash.

hypothesis drives graph parsing and the run request with arbitrary JSON; schemathesis drives every other
operation of the app's own OpenAPI document and checks each answer against it. Both are seeded and bounded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from netcanvas.api.app import create_app
from netcanvas.catalog import REGISTRY
from netcanvas.graph import parse_graph
from netcanvas.settings import Settings
from netcanvas.shapes import validate_graph
from runhelpers import IRIS_MLP

BOUNDED = settings(max_examples=40, derandomize=True, database=None, deadline=None,
                   suppress_health_check=list(HealthCheck))

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(st.characters(codec=None), max_size=20))
"""Any JSON scalar, NaN, infinities and lone surrogates included."""
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
ids = st.sampled_from(["x", "a", "b", "y", ""]) | st.text(max_size=5)
params = st.dictionaries(st.sampled_from(["out_features", "shape", "kernel_size", "p", "name", "dim", "units"]),
                         json_values | st.integers(-3, 70) | st.lists(st.integers(-1, 40), max_size=4), max_size=3)
nodes = st.fixed_dictionaries({"id": ids, "type": st.sampled_from(sorted(REGISTRY)) | st.text(max_size=6)},
                              optional={"params": params | json_values, "position": json_values})
edges = st.fixed_dictionaries({"source": ids, "target": ids},
                              optional={"source_port": st.sampled_from(["out", "in", "weights", "x"]),
                                        "target_port": st.sampled_from(["in", "out", "1", "b"])})
graphs = st.fixed_dictionaries({"nodes": st.lists(nodes, max_size=6), "edges": st.lists(edges, max_size=6)},
                               optional={"name": json_values, "format": json_values, "ui": json_values})
"""Graph-shaped JSON: catalog types and plausible params, with anything anywhere."""


def body(value: Any) -> bytes:
    """JSON text as a hostile client could send it: NaN, Infinity and lone surrogates (as \\ud800 escapes)."""
    return json.dumps(value, allow_nan=True).encode()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("fuzz")))) as c:
        yield c


@BOUNDED
@given(graphs | json_values)
def test_parse_graph_reads_any_json_object_without_raising(raw: Any) -> None:
    if isinstance(raw, dict):
        parsed = parse_graph(raw)
        assert all(p.message for p in parsed.errors)


@BOUNDED
@given(graphs)
def test_validate_graph_reports_on_any_graph_shaped_object(raw: dict[str, Any]) -> None:
    report = validate_graph(raw)
    assert report.valid == (not report.errors)
    json.dumps(report.model_dump(mode="json"), allow_nan=False)  # the answer can always be sent


@BOUNDED
@given(graphs | json_values)
def test_validate_endpoint_answers_a_report_or_a_clean_422(client: TestClient, raw: Any) -> None:
    r = client.post("/api/graphs/validate", content=body(raw), headers={"content-type": "application/json"})
    assert r.status_code in (200, 422), r.text
    answer = r.json()
    assert "valid" in answer if r.status_code == 200 else isinstance(answer["detail"], str)


@BOUNDED
@given(graph=st.just(IRIS_MLP) | graphs | json_values,
       dataset=st.sampled_from([{"name": "iris"}, {"name": "nope"}, {}]) | json_values,
       config=st.fixed_dictionaries({}, optional={"epochs": st.integers(-1, 2) | json_values,
                                                  "batch_size": st.integers(-1, 10**7) | json_values,
                                                  "optimizer": st.sampled_from(["adam", "sgd", "x"]) | json_values,
                                                  "loss": json_values}) | json_values)
def test_run_requests_are_queued_or_get_a_clean_4xx(client: TestClient, graph: Any, dataset: Any,
                                                     config: Any) -> None:
    r = client.post("/api/runs", content=body({"graph": graph, "dataset": dataset, "config": config}),
                    headers={"content-type": "application/json"})
    assert r.status_code in (201, 422), r.text
    if r.status_code == 201:  # a valid request: stop and remove it at once, so fuzzing trains nothing
        assert client.delete(f"/api/runs/{r.json()['id']}").status_code == 204
    else:
        assert r.json()["detail"]


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
"""No 5xx; every status, content type and body as the document declares. (Not "invalid data is rejected":
in a multipart form every value is text, so schemathesis's "integer instead of string" is still valid there.)"""


def test_every_operation_answers_within_its_openapi_document(tmp_path: Path) -> None:
    # the dataset mirror is a loopback port where nothing listens: a fetch of a downloadable dataset fails at once
    # (a 424, declared), never reaching the internet
    app = create_app(Settings(data_dir=tmp_path, dataset_mirror="http://127.0.0.1:9"))
    # POST /api/runs starts training: its bodies are fuzzed by hypothesis above, and each run is removed there.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(method="POST", path="/api/runs")
    cases = schema.as_strategy(GenerationMode.POSITIVE) | schema.as_strategy(GenerationMode.NEGATIVE)

    @settings(max_examples=150, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(cases)
    def answers_conform(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    try:
        answers_conform()
    finally:
        shutdown_lifespans()
