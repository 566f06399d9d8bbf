"""Every export format runs in its own runtime and gives the answers of the model in NetCanvas."""

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from golden import GOLDEN, inputs_for, load
from helpers import chain
from netcanvas import data
from netcanvas.artifacts import RunDir, RunInfo
from netcanvas.compiler import compile_graph
from netcanvas.export import ExportError, export_onnx, export_run, pytorch_code, run_code
from netcanvas.training import TrainConfig, train
from netcanvas.weights import load_weights, node_state_dict, save_weights


def outputs(module: Any, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        out = module(*inputs)
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("name", GOLDEN)
def test_every_golden_graph_exports_to_checked_onnx(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    compiled = compile_graph(load(name))
    path = tmp_path / "model.onnx"
    check = export_onnx(compiled, path, {"netcanvas.graph": load(name)})
    assert check.checked[:2] == ["batch 1", "batch 7"] or "dynamic axes=17" in check.checked[-1]
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == compiled.input_names
    assert [o.name for o in model.graph.output] == compiled.output_names
    assert json.loads({p.key: p.value for p in model.metadata_props}["netcanvas.graph"])["name"] == load(name)["name"]
    # Our own run at a batch size and length the exporter never saw:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = inputs_for(compiled, batch=5, length=13, seed=3)
    got = session.run(None, {n: t.numpy() for n, t in zip(compiled.input_names, inputs, strict=True)})
    for g, want in zip(got, outputs(compiled.module.eval(), inputs), strict=True):
        np.testing.assert_allclose(g, want.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", GOLDEN)
def test_pytorch_code_is_standalone_and_matches(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    compiled = compile_graph(load(name))
    source = pytorch_code(compiled)
    assert "netcanvas" not in source.split('"""', 2)[2].replace("NetCanvas", "")
    model_class = run_code(source)
    model = model_class()
    weights = tmp_path / "w.safetensors"
    save_weights(compiled, weights)
    namespace = vars(__import__("sys").modules[model_class.__module__]) if model_class.__module__ in \
        __import__("sys").modules else None
    loader = namespace["load_weights"] if namespace else None
    if loader is None:  # exec'd code lives in its own namespace: reach load_weights through the class's globals
        loader = model_class.forward.__globals__["load_weights"]
    loader(model, str(weights))
    inputs = inputs_for(compiled, seed=1)
    for a, b in zip(outputs(model.eval(), inputs), outputs(compiled.module.eval(), inputs), strict=True):
        torch.testing.assert_close(a, b)


def test_weights_reload_bit_exact(tmp_path: Path) -> None:
    a = compile_graph(load("normalizations"))  # includes weight_norm
    torch.manual_seed(123)
    b = compile_graph(load("normalizations"))
    save_weights(a, tmp_path / "w.safetensors")
    load_weights(b, tmp_path / "w.safetensors")
    for (ka, va), (kb, vb) in zip(node_state_dict(a).items(), node_state_dict(b).items(), strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_failed_check_is_an_error_not_a_file(tmp_path: Path) -> None:
    # dynamo fixes an LSTM's output length; a Transformer after it then breaks at other lengths
    graph = chain([None, 8], ("LSTM", {"return_sequences": True}), ("TransformerEncoderLayer", {"nhead": 4}),
                  ("Mean", {}))
    with pytest.raises(ExportError):
        export_onnx(compile_graph(graph), tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> RunDir:
    """A LeNet-style CNN trained on digits, written as a run directory like the server writes it."""
    graph = load("lenet_digits")
    config = TrainConfig.model_validate({"epochs": 8, "optimizer": {"type": "adam", "lr": 0.005}, "seed": 0})
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    prepared = data.prepare(data.load("digits"), compiled, seed=0, validation_split=0.2)
    result = train(compiled, prepared, config, lambda e: None)
    run = RunDir(tmp_path_factory.mktemp("data") / "runs" / "digitsrun")
    run.write_graph(graph)
    run.write_config(config.model_dump(mode="json"))
    run.write_info(RunInfo(id="digitsrun", dataset={"name": "digits"}, seed=0, metrics=result.metrics,
                           test_metrics=result.test_metrics))
    run.write_preprocessing(prepared.preprocessing)
    compiled.module.load_state_dict(result.best_state)
    run.write_weights(node_state_dict(compiled), "best")
    return run


def test_int8_keeps_accuracy_within_two_points(trained_run: RunDir) -> None:
    path, report = export_run(trained_run, "onnx-int8")
    assert path.is_file() and report["size_ratio"] < 1.0
    assert report["float_accuracy"] > 0.9
    assert abs(report["accuracy_change"]) <= 0.02


def test_onnx_of_a_trained_run_is_checked_on_real_samples(trained_run: RunDir) -> None:
    path, report = export_run(trained_run, "onnx")
    assert "64 real samples" in report["checked"]
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert {"netcanvas.graph", "netcanvas.version", "torch.version", "netcanvas.classes", "netcanvas.preprocessing",
            "netcanvas.config", "netcanvas.metrics"} <= set(props)
    assert json.loads(props["netcanvas.classes"])["y"][:3] == ["0", "1", "2"]
    again, _ = export_run(trained_run, "onnx")
    assert again == path  # cached


def test_torchscript_matches(trained_run: RunDir) -> None:
    path, report = export_run(trained_run, "torchscript")
    loaded = torch.jit.load(str(path))
    compiled = trained_run.load_model()
    x = torch.rand(6, 1, 8, 8)
    torch.testing.assert_close(loaded(x), compiled.module(x))
    assert report["max_abs_diff"] == 0.0


def test_bundle_has_everything_and_a_model_card(trained_run: RunDir) -> None:
    path, _ = export_run(trained_run, "bundle")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        card = zf.read("README.md").decode()
    assert {"model.onnx", "graph.json", "weights.safetensors", "model.py", "README.md"} <= names
    assert "digits" in card and "onnxruntime" in card and "test_accuracy" in card and "[batch, 1, 8, 8]" in card


@pytest.fixture(scope="module")
def client(trained_run: RunDir) -> Any:
    from fastapi.testclient import TestClient

    from netcanvas.api.app import create_app
    from netcanvas.settings import Settings

    with TestClient(create_app(Settings(data_dir=trained_run.path.parents[1]))) as c:
        yield c


@pytest.mark.parametrize("fmt,suffix", [("onnx", ".onnx"), ("onnx-int8", ".int8.onnx"), ("pytorch", ".py"),
                                        ("torchscript", ".pt"), ("weights", ".safetensors"), ("bundle", ".zip")])
def test_download_every_format(client: Any, fmt: str, suffix: str) -> None:
    r = client.get("/api/runs/digitsrun/export", params={"format": fmt})
    assert r.status_code == 200 and len(r.content) > 100
    assert f'filename="LeNet_digits-digitsrun{suffix}"' in r.headers["content-disposition"]


def test_downloaded_onnx_runs_in_onnxruntime(client: Any, tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(client.get("/api/runs/digitsrun/export").content)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    ds = data.load("digits")
    logits = session.run(None, {"x": ds.arrays["x"][:200]})[0]
    assert (logits.argmax(1) == ds.arrays["y"][:200]).mean() > 0.9


def test_predict_one_sample_and_a_batch(client: Any) -> None:
    ds = data.load("digits")
    one = client.post("/api/runs/digitsrun/predict", json={"inputs": {"x": ds.arrays["x"][0].tolist()}}).json()
    assert len(one["outputs"]["y"]) == 10
    assert one["classes"]["y"][0]["label"] == str(ds.arrays["y"][0])
    assert abs(sum(c["probability"] for c in one["classes"]["y"]) - 1) < 1e-5
    batch = client.post("/api/runs/digitsrun/predict", json={"inputs": {"x": ds.arrays["x"][:5].tolist()}}).json()
    assert len(batch["outputs"]["y"]) == 5 and len(batch["classes"]["y"]) == 5


@pytest.mark.parametrize("inputs,text", [({"x": [[1, 2]]}, "input 'x' expects shape [1, 8, 8]"),
                                         ({"img": [[[0.0] * 8] * 8]}, "inputs must be named 'x'"),
                                         ({"x": "not numbers"}, "input 'x' must be a nested list of numbers")])
def test_predict_bad_inputs_get_422_naming_the_input(client: Any, inputs: dict[str, Any], text: str) -> None:
    r = client.post("/api/runs/digitsrun/predict", json={"inputs": inputs})
    assert r.status_code == 422 and text in r.json()["detail"]


def test_unknown_run_is_404(client: Any) -> None:
    assert client.get("/api/runs/nope/export").status_code == 404
    assert client.post("/api/runs/nope/predict", json={"inputs": {}}).status_code == 404


def test_cli_exports_a_graph_and_a_run(trained_run: RunDir, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from netcanvas.cli import app

    graph_file = Path(__file__).parents[1] / "fixtures" / "graphs" / "mlp.json"
    result = CliRunner().invoke(app, ["export", str(graph_file), "--format", "onnx", "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    assert "checked with onnx.checker and onnxruntime" in result.output and (tmp_path / "m.onnx").is_file()
    result = CliRunner().invoke(app, ["export", str(trained_run.path), "-f", "pytorch", "-o", str(tmp_path / "m.py")])
    assert result.exit_code == 0 and "class LeNetDigits(nn.Module)" in (tmp_path / "m.py").read_text()
    bad = CliRunner().invoke(app, ["export", str(graph_file), "-f", "tflite"])
    assert bad.exit_code == 2 and "unknown format" in bad.output
