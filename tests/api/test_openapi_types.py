"""The frontend's API types are generated from this OpenAPI document: it must not be stale."""

import json
from pathlib import Path

from netcanvas.api.app import create_app

COMMITTED = Path(__file__).parents[2] / "frontend" / "src" / "api" / "openapi.json"


def test_committed_openapi_document_is_current() -> None:
    current = json.loads(json.dumps(create_app().openapi(), sort_keys=True))
    assert json.loads(COMMITTED.read_text()) == current, "API changed: run `make api-types` and commit the result"
