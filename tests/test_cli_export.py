"""`netcanvas export GRAPH.json|RUN_DIR --format F -o FILE` and `Model.export(path, format=...)`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

from exporthelpers import sequence_run
from golden import GRAPHS_DIR, inputs_for, load
from netcanvas import Model
from netcanvas.cli import app
from netcanvas.compiler import compile_graph


def test_an_untrained_graph_exports_with_its_seeded_initial_weights(tmp_path: Path) -> None:
    graph_file = GRAPHS_DIR / "lstm_dynamic.json"
    result = CliRunner().invoke(app, ["export", str(graph_file), "--format", "onnx", "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    assert "checked with onnx.checker and onnxruntime (batch 1, length 9, batch 7, length 9, batch 7, length 17)" \
        in result.output
    # the same weights as compiling the graph after torch.manual_seed(0)
    torch.manual_seed(0)
    compiled = compile_graph(load("lstm_dynamic"))
    inputs = inputs_for(compiled, batch=2, length=5)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        want = compiled.module.eval()(*inputs).numpy()
    np.testing.assert_allclose(session.run(None, {"x": inputs[0].numpy()})[0], want, rtol=1e-4, atol=1e-5)
    again = CliRunner().invoke(app, ["export", str(graph_file), "-o", str(tmp_path / "again.onnx")])
    assert again.exit_code == 0 and (tmp_path / "again.onnx").stat().st_size == (tmp_path / "m.onnx").stat().st_size


def test_a_run_directory_exports_in_every_format(tmp_path: Path) -> None:
    run = sequence_run()
    for fmt, name in [("pytorch", "m.py"), ("onnx-int8", "m.int8.onnx"), ("bundle", "m.zip"), ("weights", "w.st"),
                      ("torchscript", "m.pt")]:
        result = CliRunner().invoke(app, ["export", str(run.path), "-f", fmt, "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).stat().st_size > 100 and f"wrote {tmp_path / name}" in result.output
        if fmt == "onnx-int8":  # the method and why, the speed against the float file, and a kept float's reason
            assert "recurrent layers: dynamic quantization; ran in onnxruntime (batch 1, length 9" in result.output
            assert re.search(r"[\d.]+x its speed at batch 64", result.output)
            assert ("kept float: dynamic int8 ran at" in result.output) == ("int8: the float model" in result.output)
    assert "class TokenClassifier(nn.Module)" in (tmp_path / "m.py").read_text()


def test_bad_requests_exit_with_a_message(tmp_path: Path) -> None:
    graph_file = GRAPHS_DIR / "mlp.json"
    bad_format = CliRunner().invoke(app, ["export", str(graph_file), "-f", "tflite"])
    assert bad_format.exit_code == 2 and "unknown format 'tflite'" in bad_format.output
    broken = json.loads(graph_file.read_text())
    broken["nodes"][1]["type"] = "Linearr"
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    invalid = CliRunner().invoke(app, ["export", str(tmp_path / "broken.json"), "-o", str(tmp_path / "x.onnx")])
    assert invalid.exit_code == 1 and broken["nodes"][1]["id"] in invalid.output
    assert not (tmp_path / "x.onnx").exists()
    not_a_run = CliRunner().invoke(app, ["export", str(tmp_path), "-o", str(tmp_path / "x.onnx")])
    assert not_a_run.exit_code == 2 and "not a run directory" in not_a_run.output


def test_model_export_from_python(tmp_path: Path) -> None:
    model = Model.from_json(GRAPHS_DIR / "mlp.json")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    model.fit(x, (x[:, 0] > 0).astype(np.int64), epochs=1, batch_size=8)
    report = model.export(tmp_path / "mlp.onnx")
    assert report["format"] == "onnx" and report["checked"][:2] == ["batch 1", "batch 7"]
    session = ort.InferenceSession(str(tmp_path / "mlp.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x})[0], model.predict(x), rtol=1e-4, atol=1e-5)
    code = model.export(tmp_path / "mlp.py", format="pytorch")
    assert code["checked"] == ["batch 1", "batch 7"] and "def load_weights" in (tmp_path / "mlp.py").read_text()


def test_the_default_output_file_is_named_after_the_graph_but_never_a_path(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    graph = json.loads((GRAPHS_DIR / "mlp.json").read_text())
    graph["name"] = "../../escaped\nname"
    cwd = tmp_path / "a" / "b"
    cwd.mkdir(parents=True)
    (cwd / "g.json").write_text(json.dumps(graph))
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, ["export", "g.json", "-f", "weights"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in cwd.iterdir()) == ["escaped_name.safetensors", "g.json"]
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        "a/b/escaped_name.safetensors", "a/b/g.json"]  # nothing written above the working directory


def test_the_seed_option_chooses_the_initial_weights(tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    graph_file = GRAPHS_DIR / "mlp.json"
    exported = {}
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        result = CliRunner().invoke(app, ["export", str(graph_file), "-f", "weights", "--seed", seed,
                                          "-o", str(tmp_path / f"{name}.safetensors")])
        assert result.exit_code == 0, result.output
        exported[name] = load_file(str(tmp_path / f"{name}.safetensors"))
    torch.manual_seed(3)
    first = next(iter(compile_graph(load("mlp")).module.state_dict().values())).numpy()
    assert any(np.array_equal(first, w) for w in exported["a"].values())
    assert all(np.array_equal(exported["a"][k], exported["b"][k]) for k in exported["a"])
    assert any(not np.array_equal(exported["a"][k], exported["c"][k]) for k in exported["a"])
