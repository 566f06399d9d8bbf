"""The other formats: weights, standalone PyTorch code, TorchScript, int8 ONNX, the bundle, and the cache."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch

from exporthelpers import sequence_run, trained_digits_run
from golden import GOLDEN, inputs_for, load
from helpers import chain
from netcanvas import data
from netcanvas.compiler import compile_graph
from netcanvas.export import ExportError, export_pytorch_code, export_run, export_torchscript, pytorch_code
from netcanvas.weights import load_weights, node_state_dict, save_weights


def outputs(module: Any, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        out = module(*inputs)
    return out if isinstance(out, tuple) else (out,)


def test_weights_reload_bit_exact(tmp_path: Path) -> None:
    a = compile_graph(load("normalizations"))  # weight_norm, BatchNorm running statistics
    torch.manual_seed(123)
    b = compile_graph(load("normalizations"))
    save_weights(a, tmp_path / "w.safetensors")
    load_weights(b, tmp_path / "w.safetensors")
    for (ka, va), (kb, vb) in zip(node_state_dict(a).items(), node_state_dict(b).items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    x = inputs_for(a, seed=2)
    assert all(torch.equal(p, q) for p, q in zip(outputs(a.module.eval(), x), outputs(b.module.eval(), x), strict=True))


@pytest.mark.parametrize("name", GOLDEN)
def test_pytorch_code_is_standalone_and_gives_the_same_answers(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    compiled = compile_graph(load(name))
    source = pytorch_code(compiled)
    body = source.split('"""', 2)[2]  # after the module docstring
    assert "netcanvas" not in body.replace("NetCanvas", "") and "import netcanvas" not in source
    assert re.search(r"^class \w+\(nn\.Module\):\n    def __init__\(self\) -> None:", source, re.M)
    assert "    def forward(self, " in source and "= None\n" not in body.split("def forward")[-1].split("MODEL")[0]
    # the export imports the file in a separate process where netcanvas cannot be imported, loads the weights
    # with its load_weights() and runs it at batch 1 and 7 (and two lengths of any dynamic axis)
    report = export_pytorch_code(compiled, tmp_path / "model.py")
    assert (tmp_path / "model.py").read_text() == source
    assert report.checked[:2] == [label for label in report.checked[:2] if label.startswith(("batch 1", "batch 7"))]
    assert len(report.checked) >= 2 and report.max_abs_diff == 0.0


def test_pytorch_code_runs_where_netcanvas_cannot_be_imported(tmp_path: Path) -> None:
    run = trained_digits_run()
    code, report = export_run(run, "pytorch")
    weights, _ = export_run(run, "weights")
    assert report.checked == ["batch 1", "batch 7"] and report.max_abs_diff == 0.0
    (tmp_path / "model.py").write_text(code.read_text())
    (tmp_path / "weights.safetensors").write_bytes(weights.read_bytes())
    np.save(tmp_path / "x.npy", data.load("digits").arrays["x"][:50])
    script = ("import sys; sys.modules['netcanvas'] = None\n"  # any `import netcanvas` would now fail
              "import numpy as np, torch\n"
              "from model import LeNetDigits, load_weights\n"
              "model = LeNetDigits(); load_weights(model, 'weights.safetensors'); model.eval()\n"
              "with torch.no_grad(): print(model(torch.from_numpy(np.load('x.npy'))).argmax(1).tolist())\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    compiled = run.load_model()
    expected = outputs(compiled.module, [torch.from_numpy(data.load("digits").arrays["x"][:50])])[0].argmax(1)
    assert done.stdout.strip() == str(expected.tolist())


@pytest.mark.parametrize("name", ["attention", "rnn_dynamic", "encoder_decoder", "normalizations", "multi_io"])
def test_torchscript_loads_in_plain_pytorch_and_matches_at_unseen_sizes(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    compiled = compile_graph(load(name))
    report = export_torchscript(compiled, tmp_path / "m.pt")
    assert report.checked[:2] and report.max_abs_diff is not None and report.max_abs_diff < 1e-5
    loaded = torch.jit.load(str(tmp_path / "m.pt"))
    inputs = inputs_for(compiled, batch=6, length=31, seed=5)
    for a, b in zip(outputs(loaded, inputs), outputs(compiled.module.eval(), inputs), strict=True):
        torch.testing.assert_close(a, b)


def test_pytorch_code_report_says_what_was_checked(tmp_path: Path) -> None:
    compiled = compile_graph(load("lstm_dynamic"))
    report = export_pytorch_code(compiled, tmp_path / "m.py")
    assert report.checked == ["batch 1, length 9", "batch 7, length 9", "batch 7, length 17"]


def test_int8_of_a_recurrent_model_runs_at_any_length() -> None:
    run = sequence_run()
    path, report = export_run(run, "onnx-int8")
    assert report.checked == ["batch 1, length 9", "batch 7, length 9", "batch 7, length 17"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    probs = session.run(None, {"tokens": np.random.default_rng(0).integers(0, 20, (3, 40))})[0]
    assert probs.shape == (3, 4) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_bundle_holds_everything_and_its_model_card_snippet_runs(tmp_path: Path) -> None:
    run = trained_digits_run()
    path, report = export_run(run, "bundle")
    with zipfile.ZipFile(path) as zf:
        assert set(zf.namelist()) == {"model.onnx", "model.py", "weights.safetensors", "graph.json", "config.json",
                                      "preprocessing.json", "README.md"} == set(report.files or [])
        zf.extractall(tmp_path)
    card = (tmp_path / "README.md").read_text()
    info = run.info()
    assert "dataset: `digits`" in card and "| `x` | [batch, 1, 8, 8] | float32 |" in card
    assert "| `y` | [batch, 10] | float32 | class scores (logits" in card and "0, 1, 2, 3" in card
    assert f"{info.test_metrics['test_accuracy']:.4f}" in card and "opset" in card
    snippet = card.split("```python\n")[1].split("```")[0]
    assert len(snippet.strip().splitlines()) == 5
    done = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("[array("), done.stderr


def test_exports_are_cached_per_run_and_format_until_the_weights_change() -> None:
    run = sequence_run()
    first, report = export_run(run, "torchscript")
    made = first.stat().st_mtime_ns
    again, same = export_run(run, "torchscript")
    assert again == first and first.stat().st_mtime_ns == made and same == report
    assert (run.path / "exports" / "torchscript.json").is_file()
    weights = run.weights_path()
    assert weights is not None
    os.utime(weights, ns=(made + 10**9, made + 10**9))  # new weights (a later "best" epoch)
    export_run(run, "torchscript")
    assert first.stat().st_mtime_ns != made


def test_a_graph_named_like_a_layer_class_of_the_file_gets_another_class_name(tmp_path: Path) -> None:
    compiled = compile_graph(chain([6, 4], ("Mean", {"dim": 1}), ("Linear", {"out_features": 2}), name="mean"))
    report = export_pytorch_code(compiled, tmp_path / "model.py")
    source = (tmp_path / "model.py").read_text()
    assert "class Mean(nn.Module):" in source and "class MeanModel(nn.Module):" in source
    assert 'MODEL_CLASS = "MeanModel"' in source and report.checked == ["batch 1", "batch 7"]


def test_generated_code_is_checked_in_a_bare_process_and_a_failure_is_an_error_not_a_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = sys.modules["netcanvas.export.pytorch_code"]  # (the package's `pytorch_code` is the function)
    compiled = compile_graph(load("mlp"))
    monkeypatch.setenv("NETCANVAS_SECRET", "s3cret")
    # appended to the real code: it fails to load if the server's environment or working directory reaches it
    probe = (f"\nimport os\nif 'NETCANVAS_SECRET' in os.environ or os.getcwd() == {os.getcwd()!r}:\n"
             "    raise RuntimeError('the check runs in the server environment')\n")
    monkeypatch.setattr(module, "pytorch_code", lambda c, pre=None: pytorch_code(c, pre) + probe)
    report = export_pytorch_code(compiled, tmp_path / "model.py")
    assert report.checked == ["batch 1", "batch 7"]
    monkeypatch.setattr(module, "pytorch_code",
                        lambda c, pre=None: pytorch_code(c, pre) + "\nraise RuntimeError('boom')\n")
    (tmp_path / "model.py").unlink()
    with pytest.raises(ExportError, match=r"^the generated PyTorch code does not load: RuntimeError: boom$"):
        export_pytorch_code(compiled, tmp_path / "model.py")
    assert not (tmp_path / "model.py").exists()
