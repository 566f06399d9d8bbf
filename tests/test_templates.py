"""Every template validates, binds to its dataset and trains with a falling loss."""

from typing import Any

import pytest
import torch

from netcanvas import data
from netcanvas.compiler import compile_graph
from netcanvas.shapes import validate_graph
from netcanvas.templates import list_templates
from netcanvas.training import TrainConfig, train

TEMPLATES = {t["id"]: t for t in list_templates()}
FAMILIES = {"MLP", "CNN", "ResNet", "Inception", "MobileNet", "LSTM", "GRU", "Transformer",
            "Multi-input / multi-output", "Autoencoder"}


def test_a_template_for_every_family() -> None:
    assert {t["family"] for t in TEMPLATES.values()} == FAMILIES


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_template_trains_briefly_with_falling_loss(template_id: str) -> None:
    template: dict[str, Any] = TEMPLATES[template_id]
    assert validate_graph(template["graph"]).valid
    config = TrainConfig.model_validate({**template["config"], "epochs": 3, "early_stopping": None})
    torch.manual_seed(0)
    compiled = compile_graph(template["graph"])
    prepared = data.prepare(data.load(template["dataset"]["name"]), compiled, seed=0, validation_split=0.2)
    result = train(compiled, prepared, config, lambda e: None)
    assert result.status == "completed", result.error
    losses = [h["metrics"]["loss"] for h in result.history]
    assert losses[-1] < losses[0]


def test_templates_endpoint(tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from netcanvas.api.app import create_app
    from netcanvas.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        body = client.get("/api/templates").json()
    assert {t["id"] for t in body} == set(TEMPLATES)
    assert all(t["graph"]["nodes"] and t["dataset"]["name"] for t in body)
