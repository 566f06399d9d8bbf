"""`netcanvas train --init RUN --freeze a,b`: the two-step recipe from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from helpers import trunk_cnn
from netcanvas.artifacts import RunDir
from netcanvas.cli import app

runner = CliRunner()


def test_train_from_a_run_with_frozen_nodes(tmp_path: Path) -> None:
    graph = tmp_path / "trunk.json"
    graph.write_text(json.dumps(trunk_cnn(5)))
    first = runner.invoke(app, ["train", str(graph), "--dataset", "digits_0_4", "--epochs", "2",
                                "--out", str(tmp_path / "runs" / "first")])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["train", str(graph), "--dataset", "digits_5_9", "--epochs", "2", "--init", "first",
                                 "--freeze", "c1,bn1", "--lr-scale", "0.5", "--out", str(tmp_path / "runs" / "second")])
    assert second.exit_code == 0, second.output
    assert RunDir(tmp_path / "runs" / "second").config()["init"] == {"run": "first", "freeze": ["c1", "bn1"],
                                                                      "lr_scale": 0.5}
    before = load_file(str(tmp_path / "runs" / "first" / "best.safetensors"))
    after = load_file(str(tmp_path / "runs" / "second" / "best.safetensors"))
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith(("c1.", "bn1.")))

    bad = runner.invoke(app, ["train", str(graph), "--dataset", "digits_5_9", "--epochs", "1", "--init",
                              str(tmp_path / "nowhere"), "--out", str(tmp_path / "runs" / "third")])
    assert bad.exit_code == 1 and "error: config.init.run: no run or weights file" in bad.output
    bad = runner.invoke(app, ["train", str(graph), "--dataset", "digits_5_9", "--epochs", "1", "--freeze", "c9",
                              "--out", str(tmp_path / "runs" / "fourth")])
    assert bad.exit_code == 1 and "error: config.init.freeze[0]: the graph has no node 'c9'" in bad.output
