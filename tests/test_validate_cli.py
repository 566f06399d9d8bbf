"""`netcanvas validate GRAPH.json` and `Model.from_json(path).summary()`: the Keras-like table users read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from golden import GOLDEN, GRAPHS_DIR
from helpers import chain
from netcanvas import Model
from netcanvas.cli import app
from netcanvas.shapes import validate_graph

runner = CliRunner()


def rows(output: str) -> dict[str, list[str]]:
    """Table rows by node id: [type, output shape, params] (ids may contain spaces; cells are 3+ spaces apart)."""
    table = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("   ") if c.strip()]
        if len(cells) == 4 and cells[0] != "Node":
            table[cells[0]] = cells[1:]
    return table


@pytest.mark.parametrize("name", GOLDEN)
def test_validate_prints_every_node_with_its_shape_and_params(name: str) -> None:
    path = GRAPHS_DIR / f"{name}.json"
    graph = json.loads(path.read_text())
    report = validate_graph(graph)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f'Model: "{graph["name"]}"'
    assert lines[2].split() == ["Node", "Type", "Output", "shape", "Params"]
    table = rows(result.output)
    assert list(table) == [n["id"] for n in graph["nodes"]]  # in the graph's order
    for node_id, (node_type, shape, params) in table.items():
        info = report.nodes[node_id]
        assert node_type == info.type
        assert shape == "[" + ", ".join("?" if s is None else str(s) for s in info.output_shape or []) + "]"
        assert params == f"{info.params:,}"
    assert f"Total params: {report.total_params:,}" in result.output
    assert "error" not in result.output


def test_validate_shows_dynamic_axes_as_question_marks() -> None:
    result = runner.invoke(app, ["validate", str(GRAPHS_DIR / "attention.json")])
    table = rows(result.output)
    assert table["my layer"] == ["Linear", "[?, 8]", "136"] and table["attention_map"][1] == "[?, ?]"


def test_validate_exits_1_listing_errors_that_name_the_nodes(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(chain([3, 4, 4], ("Conv2d", {"kernel_size": 5}), ("Lnear", {}))))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert sorted(errors) == ["error: Conv2d 'n0': kernel [5, 5] does not fit the input's spatial size [4, 4]",
                              "error: node 'n1': unknown layer type 'Lnear' (did you mean 'Linear'?)"]
    table = rows(result.output)
    assert table["x"] == ["Input", "[3, 4, 4]", "0"] and table["n0"][1] == "-"  # shapes shown up to the error
    assert "Traceback" not in result.output


def test_validate_warnings_do_not_fail(tmp_path: Path) -> None:
    graph = chain([4], ("Linear", {}))
    graph["nodes"].append({"id": "spare", "type": "ReLU"})
    graph["edges"].append({"source": "n0", "target": "spare"})
    path = tmp_path / "warn.json"
    path.write_text(json.dumps(graph))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0
    assert "warning: ReLU 'spare' does not lead to any Output" in result.output


def test_validate_files_that_cannot_be_read_exit_2(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{nope")
    (tmp_path / "list.json").write_text("[1]")
    for name, text in (("missing.json", "graph file not found"), ("broken.json", "is not valid JSON: line 1"),
                       ("list.json", "must hold a JSON object")):
        result = runner.invoke(app, ["validate", str(tmp_path / name)])
        assert result.exit_code == 2 and text in result.output, result.output


def test_model_summary_from_json(capsys: pytest.CaptureFixture[str]) -> None:
    model = Model.from_json(GRAPHS_DIR / "lenet5.json")
    text = model.summary()
    assert capsys.readouterr().out.strip() == text.strip()  # printed, like Keras
    table = rows(text)
    assert table["c1"] == ["Conv2d", "[6, 28, 28]", "156"]
    assert table["f"] == ["Flatten", "[400]", "0"] and table["label"] == ["Output", "[10]", "0"]
    assert text.startswith('Model: "LeNet-5"') and "Total params: 61,706" in text
    assert Model.from_json(str(GRAPHS_DIR / "lenet5.json")).summary(print_fn=None) == text
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    assert lines == [text]


def test_model_summary_of_an_invalid_graph_lists_the_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(chain([None], ("Linear", {}))))
    text = Model.from_json(path).summary(print_fn=None)
    assert "error: Linear 'n0': needs a fixed number of input features" in text


def test_validate_prints_the_servers_hints_without_failing(tmp_path: Path) -> None:
    conv = ("Conv2d", {"out_channels": 4, "kernel_size": 3})
    path = tmp_path / "hint.json"
    path.write_text(json.dumps(chain([1, 8, 8], conv, ("Linear", {"out_features": 2}))))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    hints = [line for line in result.output.splitlines() if line.startswith("hint: ")]
    assert hints == ["hint: Linear 'n1' gets a 4×6×6 tensor and acts on its last axis (6 features) only; to see the "
                     "whole tensor, put a Flatten before it"]
    assert "error" not in result.output
    flattened = tmp_path / "flattened.json"
    flattened.write_text(json.dumps(chain([1, 8, 8], conv, ("Flatten", {}), ("Linear", {"out_features": 2}))))
    result = runner.invoke(app, ["validate", str(flattened)])
    assert result.exit_code == 0 and "hint:" not in result.output, result.output


def test_validate_warns_of_a_graph_past_the_servers_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(chain([4], ("Linear", {"out_features": 8}))))
    monkeypatch.setenv("NETCANVAS_MAX_PARAMS", "10")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output  # a warning, as in the canvas: only POST /api/runs refuses it
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert warnings == ["warning: the graph has 40 parameters, more than the limit of 10 (NETCANVAS_MAX_PARAMS). "
                        "Linear 'n0' takes the most: about 0 MB (40 parameters)"]
    monkeypatch.setenv("NETCANVAS_MAX_PARAMS", "0")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "error: NETCANVAS_MAX_PARAMS:" in result.output, result.output


def test_validate_loads_no_server_or_data_libraries(tmp_path: Path) -> None:
    """Checking a graph needs torch and pydantic only: scikit-learn (~2 s to load), the database, Arrow and ONNX
    stay unloaded, so `netcanvas validate` answers in about the time torch takes to import."""
    import subprocess
    import sys

    path = tmp_path / "g.json"
    path.write_text(json.dumps(chain([4], ("Linear", {"out_features": 2}))))
    heavy = ("sklearn", "sqlalchemy", "pyarrow", "onnx", "onnxruntime", "pandas", "ray", "optuna")
    code = ("import sys\nfrom netcanvas.cli import app\n"
            f"app(['validate', {str(path)!r}], standalone_mode=False)\n"
            f"print('loaded:', sorted(m for m in {heavy!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 'Model: "' in done.stdout
    assert "loaded: []" in done.stdout, done.stdout
