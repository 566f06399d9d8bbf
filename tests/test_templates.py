"""Every template validates, binds to its dataset and trains with a falling loss."""

from typing import Any

import pytest
import torch

from netcanvas import data
from netcanvas.compiler import compile_graph
from netcanvas.shapes import validate_graph
from netcanvas.templates import HERE as TEMPLATES_DIR
from netcanvas.templates import list_templates
from netcanvas.training import TrainConfig, train

TEMPLATES = {t["id"]: t for t in list_templates()}
FAMILIES = {"MLP", "CNN", "ResNet", "Inception", "MobileNet", "LSTM", "GRU", "Transformer",
            "Multi-input / multi-output", "Autoencoder"}


def test_a_template_for_every_family() -> None:
    assert {t["family"] for t in TEMPLATES.values()} == FAMILIES


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_template_is_complete_validates_and_binds_to_its_dataset(template_id: str) -> None:
    template: dict[str, Any] = TEMPLATES[template_id]
    assert set(template) == {"id", "name", "description", "family", "graph", "dataset", "config"}
    assert (TEMPLATES_DIR / f"{template_id}.json").is_file()
    assert template["name"] and template["description"] and template["graph"]["format"] == "netcanvas.graph/1"
    report = validate_graph(template["graph"])
    assert report.valid and report.warnings == [], (report.errors, report.warnings)
    TrainConfig.model_validate(template["config"])  # the config as written, not only the shortened one below
    compiled = compile_graph(template["graph"])
    dataset = data.load(template["dataset"]["name"])
    fields = {f.name for f in dataset.fields}
    data.bind(compiled, dataset)
    if len(compiled.input_names) > 1 or len(compiled.output_names) > 1:  # bound by name, not automatically
        assert set(compiled.input_names) | set(compiled.output_names) <= fields
    positions = {n["id"]: n["position"] for n in template["graph"]["nodes"]}
    for edge in template["graph"]["edges"]:  # laid out left to right on the canvas
        assert positions[edge["source"]]["x"] < positions[edge["target"]]["x"], edge


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


def test_template_files_ship_in_the_package() -> None:
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "templates/*.json" in pyproject["tool"]["setuptools"]["package-data"]["netcanvas"]
