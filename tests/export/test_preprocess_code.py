"""The exported PyTorch code's preprocess(): the recorded pipeline as plain Python, giving the same tensors as the
server's pipeline on a CSV upload (numbers, missing values, booleans, categories), a text upload, an image upload
and on digits; and the bundle README states that preprocessing."""

from __future__ import annotations

import csv
import importlib.util
import io
import itertools
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from PIL import Image

from exporthelpers import hand_made_run
from helpers import chain
from netcanvas import data
from netcanvas.artifacts import Preprocessing, RunInfo
from netcanvas.compiler import CompiledGraph, compile_graph
from netcanvas.data.fit import prepare_upload
from netcanvas.data.options import Pipeline
from netcanvas.data.pipeline import transform_raw
from netcanvas.data.uploads import DatasetStore
from netcanvas.export import export_run, pytorch_code
from netcanvas.export.bundle import model_card
from netcanvas.export.report import ExportReport

_count = itertools.count()


def generated(compiled: CompiledGraph, pre: Preprocessing, tmp_path: Path) -> ModuleType:
    """Import the generated file (the test does; the server never runs generated code)."""
    path = tmp_path / f"generated_{next(_count)}.py"
    path.write_text(pytorch_code(compiled, pre), encoding="ascii")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def all_rows(prepared: Any, field: str) -> np.ndarray:
    """Every prepared row of a field (train, validation and test together), sorted: comparable as a multiset."""
    parts = [s[field].numpy() for s in (prepared.train, prepared.val, prepared.test) if s is not None]
    rows = np.concatenate(parts).reshape(sum(len(p) for p in parts), -1)
    return rows[np.lexsort(rows.T[::-1])]


def sorted_rows(tensor: torch.Tensor) -> np.ndarray:
    rows = tensor.numpy().reshape(len(tensor), -1)
    return rows[np.lexsort(rows.T[::-1])]


def shop_csv(rows: int = 90) -> str:
    rng = np.random.default_rng(1)
    lines = ["age,city,income,member,joined,bought"]
    for i in range(rows):
        age = int(rng.integers(18, 80))
        income = "" if i % 7 == 0 else f"{rng.normal(50, 10):.3f}"
        city = "" if i % 13 == 0 else ["paris", "lyon", "nice", "O'Brien \"quoted\""][i % 4]
        lines.append(f'{age},"{city.replace(chr(34), chr(34) * 2)}",{income},{["true", "false"][i % 2]},'
                     f"2024-0{1 + i % 9}-1{i % 10},{'yes' if age > 45 else 'no'}")
    return "\n".join(lines) + "\n"


def test_a_csv_upload_gives_the_servers_tensors(tmp_path: Path) -> None:
    text = shop_csv()
    store = DatasetStore(tmp_path / "datasets")
    desc = store.add(io.BytesIO(text.encode()), "shop.csv")
    # age, income, member, joined: 4 numbers; city: one-hot over its 4 values
    compiled = compile_graph(chain([8], ("Linear", {"out_features": 2})))
    spec = {"id": desc["id"], "target": "bought",
            "preprocessing": {"columns": {"income": "minmax", "member": "none"}, "impute": "median"}}
    prepared = prepare_upload(store, spec, compiled, seed=3)
    module = generated(compiled, prepared.preprocessing, tmp_path)
    rows = list(csv.DictReader(io.StringIO(text)))  # raw strings, as a user reads the file

    (x,) = module.preprocess(rows)
    assert x.dtype == torch.float32 and x.shape == (90, 8)
    pipeline = Pipeline.model_validate(prepared.preprocessing.pipeline)
    server = transform_raw(pipeline, "x", [{k: v for k, v in r.items() if k != "bought"} for r in rows])
    assert server is not None
    assert np.array_equal(x.numpy(), server)  # the same as the server's predict
    assert np.allclose(sorted_rows(x), all_rows(prepared, "x"), atol=1e-6)  # the same as the training data
    assert module.preprocess(rows[0])[0].shape == (1, 8)  # one row works too


def test_a_text_upload_tokenizes_like_the_server(tmp_path: Path) -> None:
    words = ["good", "bad", "fine", "great", "awful", "movie", "plot", "actors"]
    rng = np.random.default_rng(0)
    reviews = [" ".join(rng.choice(words, 5)) for _ in range(60)]
    content = "review,label\n" + "".join(f"{r},{'pos' if 'good' in r else 'neg'}\n" for r in reviews)
    store = DatasetStore(tmp_path / "datasets")
    desc = store.add(io.BytesIO(content.encode()), "reviews.csv")
    compiled = compile_graph(chain([12], ("Embedding", {"num_embeddings": 64, "embedding_dim": 4}),
                                   ("Mean", {"dim": 1}), ("Linear", {"out_features": 2}),
                                   dtype="int64", input_id="review"))
    prepared = prepare_upload(store, {"id": desc["id"], "preprocessing": {"length": 12}}, compiled)
    module = generated(compiled, prepared.preprocessing, tmp_path)
    (ids,) = module.preprocess(reviews)
    assert ids.dtype == torch.int64 and ids.shape == (60, 12)
    assert np.array_equal(sorted_rows(ids), all_rows(prepared, "review"))
    rows = list(csv.DictReader(io.StringIO(content)))
    assert torch.equal(module.preprocess(rows)[0], ids)


def test_an_image_upload_is_resized_and_scaled_like_the_server(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images: list[Image.Image] = []
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(12):
            size = (10, 10) if i % 3 else (14, 12)
            img = Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8), "RGB")
            out = io.BytesIO()
            img.save(out, "PNG")
            z.writestr(f"set/{'ab'[i % 2]}/{i}.png", out.getvalue())
            images.append(img)
    store = DatasetStore(tmp_path / "datasets")
    desc = store.add(io.BytesIO(buf.getvalue()), "set.zip")
    compiled = compile_graph(chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": 2}), input_id="image"))
    prepared = prepare_upload(store, {"id": desc["id"], "test_split": 0.25,
                                      "preprocessing": {"image_size": [8, 8], "color": "grey"}}, compiled)
    module = generated(compiled, prepared.preprocessing, tmp_path)
    (x,) = module.preprocess(images)
    assert x.shape == (12, 1, 8, 8)
    assert np.array_equal(sorted_rows(x), all_rows(prepared, "image"))
    assert torch.equal(module.preprocess([np.asarray(i) for i in images])[0], x)  # arrays as well as PIL images


def test_digits_are_scaled_from_their_grey_levels(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    compiled = compile_graph(chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": 10})))
    prepared = data.prepare(data.load("digits"), compiled)
    assert prepared.preprocessing.inputs == {}  # nothing standardized: the scaling is in the loader
    module = generated(compiled, prepared.preprocessing, tmp_path)
    raw = load_digits().images[:, None]  # grey levels 0-16
    (x,) = module.preprocess(raw)
    assert torch.equal(x, torch.from_numpy(data.load("digits").arrays["x"]))
    card = model_card(compiled, RunInfo(dataset={"name": "digits"}), prepared.preprocessing, {},
                      ExportReport(format="onnx", size_bytes=1, checked=["batch 1"]))
    assert "scale: x / 16 (raw values 0 to 16 become 0 to 1)" in card and "no preprocessing" not in card


def test_iris_is_standardized_with_the_training_statistics(tmp_path: Path) -> None:
    from sklearn.datasets import load_iris

    compiled = compile_graph(chain([4], ("Linear", {"out_features": 3})))
    prepared = data.prepare(data.load("iris"), compiled)
    module = generated(compiled, prepared.preprocessing, tmp_path)
    (x,) = module.preprocess(load_iris().data)
    assert np.allclose(sorted_rows(x), all_rows(prepared, "x"), atol=1e-6)


def test_a_bundle_of_a_csv_run_states_its_steps_and_its_snippet_runs(tmp_path: Path) -> None:
    """Column names and categories that would run code if pasted unescaped stay data: in model.py, in the card and
    in its snippet (which runs: preprocess() on an example row, then ONNX Runtime)."""
    marker = tmp_path / "pwned"
    payload = f"x\"); open({str(marker)!r}, 'w') #"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["age", payload, "bought"])
    writer.writerows([20 + i, payload if i % 2 else "a", "yes" if i > 15 else "no"] for i in range(30))
    text = out.getvalue()
    store = DatasetStore(tmp_path / "datasets")
    desc = store.add(io.BytesIO(text.encode()), "evil.csv")
    graph = chain([3], ("Linear", {"out_features": 2}))
    prepared = prepare_upload(store, {"id": desc["id"], "target": "bought"}, compile_graph(graph))
    run = hand_made_run("csv-bundle", graph, prepared.preprocessing, RunInfo(id="csv-bundle",
                                                                              dataset={"id": desc["id"]}))
    path, _ = export_run(run, "bundle")
    with zipfile.ZipFile(path) as zf:
        zf.extractall(tmp_path / "bundle")
    card = (tmp_path / "bundle" / "README.md").read_text()
    assert "| `age`: (x - " in card and "one-hot over 2 categories" in card
    snippet = card.split("```python\n")[1].split("```")[0]
    assert "from model import preprocess" in snippet
    done = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path / "bundle", capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.startswith("[array("), done.stderr
    assert not marker.exists()
