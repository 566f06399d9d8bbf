"""`netcanvas search`: a study from the command line, its trials runs in the data directory, the process a live
server while it runs; bad input one error line per field with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from netcanvas.cli import app
from netcanvas.store import Database
from netcanvas.store.studies import StudyRow, TrialRow
from runhelpers import IRIS_MLP

runner = CliRunner()


def test_a_random_search_from_the_command_line_runs_its_trials_and_names_the_best(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("NETCANVAS_DATA_DIR", str(data))
    graph = tmp_path / "mlp.json"
    graph.write_text(json.dumps(IRIS_MLP))
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"config.optimizer.lr": {"type": "float", "low": 0.001, "high": 0.1, "log": True}}))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"epochs": 2, "batch_size": 16}))
    result = runner.invoke(app, ["search", str(graph), "--dataset", "iris", "--space", str(space), "--config",
                                 str(config), "--sampler", "random", "--trials", "2", "--pruner", "none"])
    assert result.exit_code == 0, result.output
    assert "2 trials (random), objective val_loss (minimize)" in result.output
    assert result.output.count("complete") >= 2 and "study completed; best: trial" in result.output
    db = Database(f"sqlite:///{data / 'netcanvas.db'}")
    try:
        with db.session() as s:
            study = s.scalars(select(StudyRow)).one()
            trials = list(s.scalars(select(TrialRow).where(TrialRow.study_id == study.id)))
            assert study.status == "completed"
            assert sorted(t.state for t in trials) == ["complete", "complete"]
            assert len({t.params["config.optimizer.lr"] for t in trials}) == 2
    finally:
        db.close()
    assert len(list((data / "runs").iterdir())) == 2  # every trial is a run the web app shows


def test_bad_input_is_one_error_line_per_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETCANVAS_DATA_DIR", str(tmp_path / "data"))
    graph = tmp_path / "mlp.json"
    graph.write_text(json.dumps(IRIS_MLP))
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"nodes.nope.out_features": {"type": "int", "low": 4, "high": 8}}))
    result = runner.invoke(app, ["search", str(graph), "--dataset", "iris", "--space", str(space), "--trials", "2"])
    assert result.exit_code == 2, result.output
    assert any(line.startswith("error: ") and "nope" in line for line in result.output.splitlines()), result.output
