"""`netcanvas train`: a run directory, a metrics table, one-line errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from netcanvas.artifacts import RunDir
from netcanvas.cli import app
from runhelpers import DIGITS_MLP

runner = CliRunner()


def test_train_writes_the_run_directory_and_prints_metrics(tmp_path: Path) -> None:
    graph = tmp_path / "digits.json"
    graph.write_text(json.dumps(DIGITS_MLP))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"optimizer": "adam", "epochs": 50, "batch_size": 64, "seed": 1}))
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", str(graph), "--dataset", "digits", "--config", str(config),
                                 "--epochs", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "epoch 3/3" in result.output and "final metrics" in result.output and "accuracy" in result.output
    run = RunDir(out)
    assert run.info().status == "completed" and run.info().seed == 1
    assert len(run.history()) == 3 and run.config()["epochs"] == 3
    assert run.weights_path("best") is not None and "test_accuracy" in run.info().test_metrics
    assert run.load_model().output_names == ["y"]


def test_train_fails_with_one_line_errors(tmp_path: Path) -> None:
    graph = tmp_path / "digits.json"
    graph.write_text(json.dumps(DIGITS_MLP))
    (tmp_path / "broken.json").write_text("{nope")
    (tmp_path / "bad-config.json").write_text(json.dumps({"batch_size": 0}))
    cases = [
        (["train", str(tmp_path / "missing.json"), "--dataset", "digits"], 2, "graph file not found"),
        (["train", str(tmp_path / "broken.json"), "--dataset", "digits"], 2, "is not valid JSON: line 1"),
        (["train", str(graph), "--dataset", "digits", "--config", str(tmp_path / "bad-config.json")], 2,
         "config.batch_size"),
        (["train", str(graph), "--dataset", "mnist"], 2, "unknown dataset 'mnist'"),
        (["train", str(graph), "--dataset", "iris", "--out", str(tmp_path / "r")], 1, "Input 'x' expects [1, 8, 8]"),
    ]
    for args, code, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == code, (args, result.output)
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and message in errors[0], result.output
