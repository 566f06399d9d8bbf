"""Graph names, node ids and Output names that would run code if an export pasted them unescaped.

Every hostile string carries a payload that creates a marker file (an absolute path) when it
is executed. Each export is made, then imported (PyTorch code) or loaded (TorchScript,
ONNX) in a separate Python whose working directory is a temporary folder; no marker may
appear, and the exported model must still compute what the compiled model computes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from markdown_it import MarkdownIt

from exporthelpers import hand_made_run
from netcanvas.artifacts import Preprocessing, RunInfo
from netcanvas.catalog import REGISTRY
from netcanvas.compiler import compile_graph
from netcanvas.export import export_run, export_torchscript, pytorch_code
from netcanvas.export.onnx import example_inputs
from netcanvas.graph import Graph, Node
from netcanvas.weights import save_weights


def max_length(model: Any, field: str) -> int:
    """The graph format's limit on a string field (none: 10k)."""
    return min([m.max_length for m in model.model_fields[field].metadata if hasattr(m, "max_length")] or [10_000])


NODE_ID_LIMIT = max_length(Node, "id")
OUTPUT_NAME_LIMIT = max_length(REGISTRY["Output"].params, "name")
NAME_LIMIT = max_length(Graph, "name")


def hostile_strings(marker: Path) -> list[str]:
    """Strings that create ``marker`` if they end up as code, each breaking out of a different context."""
    run = f'__import__("pathlib").Path({str(marker)!r}).touch()'
    return [
        f'x"""\n{run}\n"""',  # out of a """docstring"""
        f"x'''\n{run}\n'''",  # out of a '''docstring'''
        f'x\\"); {run}  # \\',  # backslashes, then out of a "string"
        f"x\n{run}\n",  # out of a comment
        f"x\r{run}\r",  # \r ends a line for the Python tokenizer too
        f"x\u2028{run}\u2029{run}",  # unicode line and paragraph separators
        f"x\x0c{run}\x85{run}\x0b{run}",  # form feed, NEL, vertical tab
        run,  # the bare call, as an identifier or an expression would take it
        f"x # \n{run} #",
        f"{{{run}}}{{0.__class__}}",  # format braces: f-string or str.format
        f"%s%(x)s%r\n{run}",  # %-formatting
        "A" * 10_000 + f"\n{run}",  # very long
        f"模型 ñ é 😀\n{run}\n\"\"\"'''",  # non-ASCII
    ]


def fit(prefix: str, text: str, limit: int) -> str:
    """``prefix + text`` cut to ``limit`` characters, keeping the prefix and the end of ``text`` (the payload)."""
    return prefix + text[-(limit - len(prefix)):]


def one_line(text: str) -> str:
    """How the model card shows a name: characters that are not printable (line breaks) as their escapes."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def graph(name: str, ids: list[str]) -> dict[str, Any]:
    """A tiny MLP on two sequences of any length, with two Outputs; ``ids``: 2 Input ids, 3 layer ids, 2 Output ids
    and 2 Output names (cycled when shorter)."""
    i1, i2, cat, lin, relu, o1, o2, n1, n2 = (ids[k % len(ids)] for k in range(9))
    nodes = [
        {"id": fit("i1", i1, NODE_ID_LIMIT), "type": "Input", "params": {"shape": [None, 4]}},
        {"id": fit("i2", i2, NODE_ID_LIMIT), "type": "Input", "params": {"shape": [None, 3]}},
        {"id": fit("c", cat, NODE_ID_LIMIT), "type": "Concat", "params": {"dim": -1}},
        {"id": fit("l", lin, NODE_ID_LIMIT), "type": "Linear", "params": {"out_features": 5}},
        {"id": fit("r", relu, NODE_ID_LIMIT), "type": "ReLU"},
        {"id": fit("o1", o1, NODE_ID_LIMIT), "type": "Output", "params": {"name": fit("n1", n1, OUTPUT_NAME_LIMIT)}},
        {"id": fit("o2", o2, NODE_ID_LIMIT), "type": "Output", "params": {"name": fit("n2", n2, OUTPUT_NAME_LIMIT)}},
    ]
    node_ids = [n["id"] for n in nodes]
    edges = [(0, 2), (1, 2), (2, 3), (3, 4), (4, 5), (3, 6)]
    return {"format": "netcanvas.graph/1", "name": fit("", name, NAME_LIMIT), "nodes": nodes,
            "edges": [{"source": node_ids[a], "target": node_ids[b]} for a, b in edges]}


CHILD = """
import json, sys
from pathlib import Path
sys.modules["netcanvas"] = None
import torch
from safetensors.torch import load_file, save_file
jobs = json.loads(Path("jobs.json").read_text())
for job in jobs:
    inputs = load_file(job["inputs"])
    args = [inputs[str(i)] for i in range(len(inputs))]
    if job["kind"] == "pytorch":
        sys.path.insert(0, job["folder"])
        import model as code
        sys.path.pop(0)
        del sys.modules["model"]
        net = getattr(code, code.MODEL_CLASS)()
        code.load_weights(net, job["weights"])
        if code.GRAPH_NAME != job["name"] or code.OUTPUT_NAMES != job["outputs"]:
            sys.exit("names differ in " + job["folder"])
        if list(code.INPUT_SHAPES) != job["input_ids"]:
            sys.exit("input ids differ in " + job["folder"])
    elif job["kind"] == "torchscript":
        net = torch.jit.load(job["file"])
    else:
        import onnxruntime as ort
        session = ort.InferenceSession(job["file"], providers=["CPUExecutionProvider"])
        feeds = {name: t.numpy() for name, t in zip(job["input_ids"], args)}
        outs = session.run(None, feeds)
        save_file({str(k): torch.from_numpy(o) for k, o in enumerate(outs)}, job["outputs_file"])
        continue
    net.eval()
    with torch.no_grad():
        out = net(*args)
    out = out if isinstance(out, tuple) else (out,)
    save_file({str(k): o.clone() for k, o in enumerate(out)}, job["outputs_file"])
"""


def run_jobs(workdir: Path, jobs: list[dict[str, Any]]) -> None:
    """Import or load every export in one fresh, isolated Python whose working directory is ``workdir``."""
    (workdir / "jobs.json").write_text(json.dumps(jobs))
    done = subprocess.run([sys.executable, "-I", "-c", CHILD], cwd=workdir, capture_output=True, text=True,
                          timeout=600, env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]


def job(kind: str, folder: Path, compiled: Any, **extra: Any) -> dict[str, Any]:
    """Write the check inputs next to the export and describe what the child process does with it."""
    from safetensors.torch import save_file

    inputs = example_inputs(compiled, 3, 6, seed=11)
    save_file({str(i): t for i, t in enumerate(inputs)}, str(folder / "inputs.safetensors"))
    return {"kind": kind, "folder": str(folder), "inputs": str(folder / "inputs.safetensors"),
            "outputs_file": str(folder / f"{kind}.out.safetensors"), "input_ids": compiled.input_names,
            "outputs": compiled.output_names, "name": compiled.graph.name, **extra}


def assert_same_outputs(compiled: Any, done: dict[str, Any]) -> None:
    from safetensors.torch import load_file

    inputs = example_inputs(compiled, 3, 6, seed=11)
    with torch.no_grad():
        want = compiled.module.eval()(*inputs)
    want = want if isinstance(want, tuple) else (want,)
    got = load_file(done["outputs_file"])
    assert len(got) == len(want) == 2
    for k, expected in enumerate(want):
        np.testing.assert_allclose(got[str(k)].numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)


def test_pytorch_code_and_torchscript_with_a_hostile_string_in_every_name_run_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    jobs, models = [], []
    for k, text in enumerate(hostile_strings(marker)):
        folder = tmp_path / f"case{k}"
        folder.mkdir()
        torch.manual_seed(k)
        compiled = compile_graph(graph(text, [text]))
        source = pytorch_code(compiled)  # what the export writes (its check runs in the bundle test below)
        assert source.isascii() and text not in source  # only escaped
        (folder / "model.py").write_text(source)
        save_weights(compiled, folder / "weights.safetensors")
        export_torchscript(compiled, folder / "model.pt")
        jobs.append(job("pytorch", folder, compiled, weights=str(folder / "weights.safetensors")))
        jobs.append({**job("torchscript", folder, compiled), "file": str(folder / "model.pt")})
        models += [compiled, compiled]
    run_jobs(tmp_path, jobs)
    assert not marker.exists(), "importing an exported file ran the payload"
    for compiled, done in zip(models, jobs, strict=True):
        assert_same_outputs(compiled, done)


def card_structure(card: str) -> tuple[list[tuple[str, str]], list[list[str]], list[str], list[str]]:
    """The card as a Markdown parser reads it: (heading level, text) pairs, table rows of cell texts, code blocks
    and list items, texts as a reader sees them."""
    tokens = MarkdownIt("commonmark").enable("table").parse(card)
    headings, rows, fences, items = [], [], [], []
    row: list[str] = []
    for i, token in enumerate(tokens):
        text = "".join(c.content for c in tokens[i + 1].children or []) if i + 1 < len(tokens) else ""
        if token.type == "heading_open":
            headings.append((token.tag, text))
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            rows.append(row)
        elif token.type in ("td_open", "th_open"):
            row.append(text)
        elif token.type == "paragraph_open" and tokens[i - 1].type == "list_item_open":
            items.append(text)
        elif token.type == "fence":
            fences.append(token.content)
    return headings, rows, fences, items


@pytest.mark.parametrize("shift", [0, 6])
def test_onnx_and_the_bundle_of_a_run_with_hostile_names_run_nothing(tmp_path: Path, shift: int) -> None:
    marker = tmp_path / "MARKER"
    strings = hostile_strings(marker)
    strings = strings[shift:] + strings[:shift]
    name, ids, dataset, label, metric = strings[0], strings[1:10], strings[10], strings[11], strings[12]
    g = graph(name, ids)
    out1 = g["nodes"][5]["params"]["name"]
    pre = Preprocessing(classes={out1: [label, "b", "c", "d", "e"]})
    info = RunInfo(id=f"hostile{shift}", dataset={"name": dataset}, metrics={metric: 0.5})
    run = hand_made_run(f"hostile{shift}", g, pre, info)
    compiled = run.load_model()
    path, report = export_run(run, "bundle")  # its checks import model.py and load model.onnx in other processes
    assert not marker.exists(), "the export ran the payload"
    code_report = export_run(run, "pytorch")[1]
    assert code_report.checked == ["batch 1, length 9", "batch 7, length 9", "batch 7, length 17"]
    assert code_report.max_abs_diff == 0.0
    folder = tmp_path / "bundle"
    with zipfile.ZipFile(path) as zf:
        zf.extractall(folder)
    assert report.files is not None and sorted(p.name for p in folder.iterdir()) == sorted(report.files)

    # ONNX: the names are the ids, the metadata is data (the graph JSON, intact)
    proto = onnx.load(str(folder / "model.onnx"))
    assert [i.name for i in proto.graph.input] == compiled.input_names
    assert [o.name for o in proto.graph.output] == compiled.output_names
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["netcanvas.graph"]) == g and json.loads(props["netcanvas.dataset"])["name"] == dataset
    axes = export_run(run, "onnx")[1].dynamic_axes or {}  # dynamic axes named after sanitized identifiers
    assert all(axes[n][0] == "batch" and axes[n][1].isidentifier() for n in compiled.input_names), axes

    # the model card keeps its structure, and shows every name as written (line breaks as escapes)
    headings, rows, fences, items = card_structure((folder / "README.md").read_text())
    assert headings == [("h1", one_line(g["name"].strip())), ("h2", "Training"), ("h2", "Metrics"), ("h2", "Inputs"),
                        ("h2", "Outputs"), ("h2", "Run it with ONNX Runtime"), ("h2", "How the export was checked")]
    assert [len(row) for row in rows] == [2, 2, 4, 4, 4, 4, 4, 4]
    assert rows[1] == [one_line(metric), "0.5000"]
    assert [rows[3][0], rows[4][0]] == [one_line(n) for n in compiled.input_names]
    assert [rows[6][0], rows[7][0]] == [one_line(n) for n in compiled.output_names]
    assert rows[6][3].endswith(f"for: {one_line(label)}, b, c, d, e")
    assert f"dataset: {one_line(dataset)}" in items
    assert len(fences) == 1 and "print(session.run(None" in fences[0]

    # the card's snippet and the bundle's code run (each in a separate process) and run nothing else
    done = subprocess.run([sys.executable, "-I", "-c", fences[0]], cwd=folder, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and done.stdout.startswith("[array("), done.stderr[-2000:]
    jobs = [job("pytorch", folder, compiled, weights=str(folder / "weights.safetensors")),
            {**job("onnx", folder, compiled), "file": str(folder / "model.onnx")}]
    run_jobs(tmp_path, jobs)
    assert not marker.exists(), "importing or loading an exported file ran the payload"
    for done_job in jobs:
        assert_same_outputs(compiled, done_job)
