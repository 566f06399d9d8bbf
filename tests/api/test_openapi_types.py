"""The frontend's API types are generated from this OpenAPI document: it must not be stale."""

import json
from pathlib import Path

from netcanvas.api.app import create_app
from netcanvas.training.config import LossSpec, TrainConfig

COMMITTED = Path(__file__).parents[2] / "frontend" / "src" / "api" / "openapi.json"


def test_committed_openapi_document_is_current() -> None:
    current = json.loads(json.dumps(create_app().openapi(), sort_keys=True))
    assert json.loads(COMMITTED.read_text()) == current, "API changed: run `make api-types` and commit the result"


def test_the_loss_shorthand_is_declared() -> None:
    """A config may name its loss ("mse") for the whole graph or per output: the schema says so, as the server
    accepts it, so the generated TrainConfig type takes it without a cast."""
    loss = create_app().openapi()["components"]["schemas"]["TrainConfig"]["properties"]["loss"]
    name, spec, per_output = loss["anyOf"]
    assert name["type"] == "string" and spec == {"$ref": "#/components/schemas/LossSpec"}
    assert per_output["type"] == "object" and per_output["additionalProperties"]["anyOf"] == [name, spec]
    for given in ("mse", {"type": "mse"}, {"y": "mse"}, {"y": {"type": "mse", "weight": 0.5}, "z": "mae"}):
        config = TrainConfig.model_validate({"loss": given})
        losses = config.loss.values() if isinstance(config.loss, dict) else [config.loss]
        assert all(isinstance(one, LossSpec) for one in losses)


def test_every_event_declares_its_seq() -> None:
    """The server sends each event with the seq it was stored with: the generated types need no `seq ?? 0`."""
    schemas = create_app().openapi()["components"]["schemas"]
    for name in ("StatusEvent", "BatchEvent", "EpochEvent", "LogEvent", "ErrorEvent", "DoneEvent"):
        assert schemas[name]["required"].count("seq") == 1, name
