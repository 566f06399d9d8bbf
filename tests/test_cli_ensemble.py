"""`netcanvas ensemble`: members trained as runs in the data directory, the combined ONNX file written, bad input
one error line per field with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import onnxruntime as ort
import pytest
from typer.testing import CliRunner

from netcanvas.cli import app
from runhelpers import IRIS_MLP

runner = CliRunner()


def test_a_bagging_ensemble_from_the_command_line_writes_its_onnx_file(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETCANVAS_DATA_DIR", str(tmp_path / "data"))
    graph = tmp_path / "mlp.json"
    graph.write_text(json.dumps(IRIS_MLP))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"batch_size": 16, "optimizer": {"type": "adam", "lr": 0.05}}))
    out = tmp_path / "ensemble.onnx"
    result = runner.invoke(app, ["ensemble", str(graph), "--dataset", "iris", "--method", "bagging", "--members", "2",
                                 "--config", str(config), "--epochs", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "member 0  run" in result.output and "member 1  run" in result.output
    assert "ensemble completed  test_loss" in result.output and f"wrote {out}" in result.output
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x"]
    assert len(list((tmp_path / "data" / "runs").iterdir())) == 2  # the members are runs the server shows


def test_bad_input_is_one_error_line_per_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETCANVAS_DATA_DIR", str(tmp_path / "data"))
    graph = tmp_path / "mlp.json"
    graph.write_text(json.dumps(IRIS_MLP))
    result = runner.invoke(app, ["ensemble", str(graph), "--dataset", "iris", "--members", "1", "--method", "vote"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert any(line.startswith("error: members:") for line in lines)
    assert any(line.startswith("error: method:") for line in lines)
