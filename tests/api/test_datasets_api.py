"""Uploads through the real app: every format, every bad input (a clear 4xx naming the file and the line,
column or member; nothing stored is lost), training and predicting on an upload, and deletion rules."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from netcanvas.api.app import create_app
from netcanvas.data.text import tokenizer_from_json
from netcanvas.settings import Settings


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path, max_upload_mb=1)), base_url="http://127.0.0.1") as c:
        yield c


def upload(client: TestClient, name: str, content: bytes, status: int = 201) -> dict[str, Any]:
    r = client.post("/api/datasets", files={"file": (name, content, "application/octet-stream")})
    assert r.status_code == status, r.text
    return dict(r.json())


def shop_csv(rows: int = 120, sep: str = ",") -> bytes:
    rng = np.random.default_rng(0)
    lines = [sep.join(["age", "city", "income", "member", "bought"])]
    for i in range(rows):
        age = int(rng.integers(18, 80))
        income = "" if i % 11 == 0 else f"{rng.normal(50, 10):.1f}"
        lines.append(sep.join([str(age), ["paris", "lyon", "nice"][i % 3], income, ["true", "false"][i % 2],
                               "yes" if age > 45 else "no"]))
    return ("\n".join(lines) + "\n").encode()


def image_zip(per_class: int = 6, size: tuple[int, int] = (12, 12), corrupt: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for label, value in (("dark", 30), ("light", 220)):
            for i in range(per_class):
                img = Image.new("L", size if i % 3 else (size[0] + 4, size[1] + 4), value + i)
                out = io.BytesIO()
                img.save(out, "PNG" if i % 3 else "JPEG")
                z.writestr(f"shapes/{label}/{i}.{'png' if i % 3 else 'jpg'}", out.getvalue())
        if corrupt:
            z.writestr("shapes/dark/broken.png", b"\x89PNG\r\n\x1a\nnot really")
    return buf.getvalue()


def wait_done(client: TestClient, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return dict(run)
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish")


MLP = {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [7]}},
                 {"id": "h", "type": "Linear", "params": {"out_features": 8}}, {"id": "r", "type": "ReLU"},
                 {"id": "l", "type": "Linear", "params": {"out_features": 2}}, {"id": "y", "type": "Output"}],
       "edges": [{"source": "x", "target": "h"}, {"source": "h", "target": "r"}, {"source": "r", "target": "l"},
                 {"source": "l", "target": "y"}]}


# ---- formats -----------------------------------------------------------------------------------------------------


def test_a_csv_is_described_column_by_column(client: TestClient) -> None:
    desc = upload(client, "shop.csv", shop_csv())
    assert desc["kind"] == "table" and desc["rows"] == 120 and desc["delimiter"] == "," and desc["encoding"] == "utf-8"
    cols = {c["name"]: c for c in desc["columns"]}
    assert cols["age"]["dtype"] == "numeric" and cols["age"]["min"] >= 18
    assert cols["city"]["dtype"] == "categorical" and cols["city"]["classes"] == {"lyon": 40, "nice": 40, "paris": 40}
    assert cols["member"]["dtype"] == "boolean" and cols["income"]["missing"] == 11
    assert desc["default_target"] == "bought"
    # age, income, member as numbers, city one-hot over 3: 6 features; the target's two classes
    assert desc["fields"]["x"] == {"shape": [6], "dtype": "float32", "role": "input", "classes": None,
                                   "vocabulary_size": None}
    assert desc["fields"]["bought"]["classes"] == ["no", "yes"]
    detail = client.get(f"/api/datasets/{desc['id']}").json()
    assert len(detail["preview"]) == 20 and detail["preview"][0]["city"] == "paris"
    assert [d["id"] for d in client.get("/api/datasets").json()] == [desc["id"]]


def test_tsv_semicolons_quotes_bom_and_latin1_are_sniffed(client: TestClient) -> None:
    assert upload(client, "shop.tsv", shop_csv(sep="\t"))["delimiter"] == "\t"
    quoted = '\ufeffname;note;y\n"Smith; J";"said ""hi""";1\nDoe;plain;0\nRoe;x;1\n'.encode()
    desc = upload(client, "q.csv", quoted)
    assert desc["delimiter"] == ";" and [c["name"] for c in desc["columns"]] == ["name", "note", "y"]
    assert client.get(f"/api/datasets/{desc['id']}").json()["preview"][0] == {"name": "Smith; J", "note": 'said "hi"',
                                                                             "y": 1}
    latin = "ville,prix\nbéziers,1\nsète,2\n".encode("latin-1")
    desc = upload(client, "villes.csv", latin)
    assert desc["encoding"] == "latin-1" and "Latin-1" in desc["warnings"][0]


def test_the_fields_follow_the_chosen_target_features_and_preprocessing(client: TestClient) -> None:
    did = upload(client, "shop.csv", shop_csv())["id"]
    r = client.get(f"/api/datasets/{did}", params={"target": "city", "features": ["age", "income"]})
    assert r.status_code == 200
    fields = r.json()["fields"]
    assert fields["x"]["shape"] == [2] and fields["city"]["classes"] == ["lyon", "nice", "paris"]
    assert any("standardized" in s for s in r.json()["pipeline"])
    r = client.get(f"/api/datasets/{did}", params={"target": "bought",
                                                   "preprocessing": '{"columns": {"city": "codes"}}'})
    assert r.json()["fields"]["city"] == {"shape": [1], "dtype": "int64", "role": "input", "classes": None,
                                          "vocabulary_size": 4}


def test_an_image_zip_of_class_folders_with_mixed_sizes_and_a_corrupt_file(client: TestClient) -> None:
    desc = upload(client, "shapes.zip", image_zip(corrupt=True))
    assert desc["kind"] == "images" and desc["rows"] == 12
    assert desc["images"]["skipped"] == ["shapes/dark/broken.png"]
    assert "broken.png" in desc["warnings"][0]
    assert desc["fields"]["image"]["shape"] == [1, 12, 12]  # grey, the most common size
    assert desc["fields"]["label"]["classes"] == ["dark", "light"]
    detail = client.get(f"/api/datasets/{desc['id']}").json()
    assert {s["label"] for s in detail["samples"]} == {"dark", "light"}
    assert detail["samples"][0]["image"].startswith("data:image/png;base64,")
    aug = client.post(f"/api/datasets/{desc['id']}/augmentation", json={"hflip": True, "rotation": 20, "noise": 0.1})
    assert aug.status_code == 200 and len(aug.json()["images"]) == 8


def test_an_image_zip_with_a_labels_csv_for_regression(client: TestClient) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        rows = ["file,brightness"]
        for i in range(8):
            out = io.BytesIO()
            Image.new("RGB", (8, 8), (i * 30, 0, 0)).save(out, "PNG")
            z.writestr(f"img/{i}.png", out.getvalue())
            rows.append(f"{i}.png,{i * 0.5}")
        z.writestr("labels.csv", "\n".join(rows))
    desc = upload(client, "bright.zip", buf.getvalue())
    assert desc["images"]["layout"] == "csv" and desc["fields"]["image"]["shape"] == [3, 8, 8]
    assert desc["fields"]["brightness"] == {"shape": [1], "dtype": "float32", "role": "target", "classes": None,
                                            "vocabulary_size": None}


def test_npz_arrays_and_parquet(client: TestClient) -> None:
    buf = io.BytesIO()
    np.savez(buf, x=np.zeros((10, 3), np.float32), y=np.arange(10) % 2)
    desc = upload(client, "arrays.npz", buf.getvalue())
    assert desc["kind"] == "arrays" and desc["default_target"] == "y"
    assert desc["fields"]["x"]["shape"] == [3] and desc["fields"]["y"]["classes"] == ["0", "1"]
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0, 4.0], "b": ["u", "v", "u", "v"]}), out)
    desc = upload(client, "t.parquet", out.getvalue())
    assert desc["format"] == "parquet" and desc["fields"]["x"]["shape"] == [1]


def test_a_text_column_is_tokenized(client: TestClient) -> None:
    text = "review,label\n" + "\n".join(f"\"{'great fun film' if i % 2 else 'dull slow plot'} number {i}\","
                                        f"{'pos' if i % 2 else 'neg'}" for i in range(60))
    desc = upload(client, "reviews.csv", text.encode())
    assert desc["kind"] == "text"
    assert desc["fields"]["review"] == {"shape": [64], "dtype": "int64", "role": "input", "classes": None,
                                        "vocabulary_size": None}


def test_text_samples_come_with_the_tokens_a_run_would_record(client: TestClient) -> None:
    text = "review,label\n" + "\n".join(f"\"{'Great FUN film' if i % 2 else 'dull slow plot'} number {i % 7}\","
                                        f"{'pos' if i % 2 else 'neg'}" for i in range(60))
    did = upload(client, "reviews.csv", text.encode())["id"]
    detail = client.get(f"/api/datasets/{did}").json()
    first = detail["tokens"][0]
    assert first["column"] == "review" and first["text"] == "dull slow plot number 0"
    assert first["tokens"] == ["dull", "slow", "plot", "number", "0"] and first["cut"] == 0
    second = detail["tokens"][1]
    assert second["tokens"][:3] == ["great", "fun", "film"]  # lower-cased, as the recorded tokenizer does
    assert len(detail["tokens"]) == 5 and all(i > 1 for i in first["ids"])  # all in the vocabulary

    # the options change them: a length of 2 cuts, a vocabulary of 10 leaves words unknown ([UNK], id 1)
    cut = client.get(f"/api/datasets/{did}", params={"preprocessing": '{"length": 2}'}).json()
    assert cut["tokens"][0]["tokens"] == ["dull", "slow"] and cut["tokens"][0]["cut"] == 3
    small = client.get(f"/api/datasets/{did}", params={"preprocessing": '{"vocab_size": 10}'}).json()
    assert any("[UNK]" in t["tokens"] and 1 in t["ids"] for t in small["tokens"])

    # the ids are those the run's tokenizer gives: train on it and compare with the recorded tokenizer
    run = client.post("/api/runs", json={"graph": {
        "nodes": [{"id": "review", "type": "Input", "params": {"shape": [64], "dtype": "int64"}},
                  {"id": "e", "type": "Embedding", "params": {"num_embeddings": 64, "embedding_dim": 4}},
                  {"id": "m", "type": "Mean", "params": {"dim": 1}},
                  {"id": "l", "type": "Linear", "params": {"out_features": 2}}, {"id": "label", "type": "Output"}],
        "edges": [{"source": "review", "target": "e"}, {"source": "e", "target": "m"}, {"source": "m", "target": "l"},
                  {"source": "l", "target": "label"}]},
        "config": {"epochs": 1, "seed": 4, "validation_split": 0.25}, "dataset": {"id": did}})
    assert run.status_code == 201, run.text
    assert wait_done(client, run.json()["id"])["status"] == "completed"
    pre = client.app.state.settings.data_dir / "runs" / run.json()["id"] / "preprocessing.json"
    recorded = tokenizer_from_json(json.loads(pre.read_text())["pipeline"]["text"][0]["tokenizer_json"])
    shown = client.get(f"/api/datasets/{did}", params={"seed": 4, "validation_split": 0.25}).json()["tokens"]
    assert [t["ids"] for t in shown] == [recorded.encode(t["text"]).ids for t in shown]


# ---- bad input -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "status", "words"), [
    ("ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n", 400, ["ragged.csv", "line 3", "2 fields"]),
    ("empty.csv", b"", 400, ["empty.csv", "empty"]),
    ("header.csv", b"a,b\n", 400, ["header.csv", "no rows"]),
    ("binary.csv", b"a,b\n1,\x00\x01\n", 400, ["binary.csv", "NUL"]),
    ("c1.csv", b"a,b\n1,ok\n2,bad\x85\x81here\n", 400, ["c1.csv", "line 3", "column 6"]),
    ("fake.zip", b"this is not a zip", 400, ["fake.zip"]),
    ("fake.parquet", b"nope", 400, ["fake.parquet"]),
])
def test_unreadable_files_are_refused_with_where(client: TestClient, name: str, content: bytes, status: int,
                                                 words: list[str]) -> None:
    kept = upload(client, "shop.csv", shop_csv())
    r = client.post("/api/datasets", files={"file": (name, content, "application/octet-stream")})
    assert r.status_code == status, r.text
    for word in words:
        assert word in r.json()["detail"]
    assert [d["id"] for d in client.get("/api/datasets").json()] == [kept["id"]]  # nothing stored is lost


def test_a_file_over_the_limit_is_413(client: TestClient) -> None:
    r = client.post("/api/datasets", files={"file": ("big.csv", b"a\n" + b"1\n" * 700_000, "text/csv")})
    assert r.status_code == 413 and "NETCANVAS_MAX_UPLOAD_MB" in r.json()["detail"]
    assert client.get("/api/datasets").json() == []


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for member, data in members.items():
            z.writestr(member, data)
    return buf.getvalue()


def test_unsafe_zips_are_refused(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    r = client.post("/api/datasets", files={"file": ("evil.zip", zip_of({"../evil/x.png": b"1"}), "x")})
    assert r.status_code == 400 and "'../evil/x.png'" in r.json()["detail"]
    r = client.post("/api/datasets", files={"file": ("abs.zip", zip_of({"/etc/x.png": b"1"}), "x")})
    assert r.status_code == 400 and "unsafe path" in r.json()["detail"]
    from netcanvas.data import images

    bomb = zip_of({"a/zeros.png": b"\0" * 3_000_000})  # 3 MB of zeros deflate to a few kB
    monkeypatch.setattr(images, "MAX_UNPACKED_BYTES", 1_000_000)
    r = client.post("/api/datasets", files={"file": ("bomb.zip", bomb, "x")})
    assert r.status_code == 413 and "bomb.zip" in r.json()["detail"]
    monkeypatch.setattr(images, "MAX_MEMBERS", 3)
    r = client.post("/api/datasets", files={"file": ("many.zip", zip_of({f"a/{i}.png": b"1" for i in range(5)}), "x")})
    assert r.status_code == 413 and "5 members" in r.json()["detail"]


def test_a_zip_whose_members_lie_about_their_size_is_cut_off(tmp_path: Path) -> None:
    from netcanvas.data.errors import UploadError
    from netcanvas.data.images import ReadCap

    path = tmp_path / "liar.zip"
    path.write_bytes(zip_of({"a/x.png": b"\0" * 200_000}))
    with zipfile.ZipFile(path) as z:
        info = z.infolist()[0]
        with pytest.raises(UploadError, match="decompresses past"):
            ReadCap("liar.zip", max_bytes=10**9).read(z, info, limit=50_000)


def test_npz_with_object_arrays_is_refused(client: TestClient) -> None:
    buf = io.BytesIO()
    np.savez(buf, x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    r = client.post("/api/datasets", files={"file": ("objs.npz", buf.getvalue(), "x")})
    assert r.status_code == 400 and "objs.npz" in r.json()["detail"] and "'x'" in r.json()["detail"]


def test_bad_targets_are_refused_at_run_creation(client: TestClient) -> None:
    one = "a,b,c\n" + "\n".join(f"{i},{i * 2},same" for i in range(20))
    did = upload(client, "one.csv", one.encode())["id"]
    assert "one class" in client.get(f"/api/datasets/{did}").json()["problem"]
    graph = {**MLP, "nodes": [{**MLP["nodes"][0], "params": {"shape": [2]}}, *MLP["nodes"][1:]]}
    r = client.post("/api/runs", json={"graph": graph, "dataset": {"id": did}})
    assert r.status_code == 422 and "target column 'c' has one class ('same')" in r.text
    r = client.post("/api/runs", json={"graph": graph, "dataset": {"id": did, "target": "nope"}})
    assert r.status_code == 422 and "target column 'nope' is not in the file" in r.text
    r = client.post("/api/runs", json={"graph": graph, "dataset": {"id": "000000000000"}})
    assert r.status_code == 422 and "no uploaded dataset" in r.text
    r = client.post("/api/runs", json={"graph": graph, "dataset": {"name": "iris", "target": "y"}})
    assert r.status_code == 422 and "only for uploaded datasets" in r.text
    assert client.get("/api/datasets/..%2F..%2Fetc").status_code == 404


def test_the_input_shape_mismatch_is_named_before_training(client: TestClient) -> None:
    did = upload(client, "shop.csv", shop_csv())["id"]
    r = client.post("/api/runs", json={"graph": MLP, "dataset": {"id": did}})
    assert r.status_code == 422 and "expects [7] float32" in r.text and "[6] float32" in r.text


# ---- training, predicting, deleting ------------------------------------------------------------------------------


def test_train_and_predict_on_an_uploaded_csv_with_raw_rows(client: TestClient, tmp_path: Path) -> None:
    did = upload(client, "shop.csv", shop_csv())["id"]
    graph = {**MLP, "nodes": [{**MLP["nodes"][0], "params": {"shape": [6]}}, *MLP["nodes"][1:]]}
    r = client.post("/api/runs", json={"graph": graph, "dataset": {"id": did, "test_split": 0.25},
                                       "config": {"epochs": 3, "validation_split": 0.2}})
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    # while the run is queued or running, its dataset stays
    deleted = client.delete(f"/api/datasets/{did}")
    run = wait_done(client, run_id)
    if deleted.status_code == 409:
        assert run_id in deleted.json()["detail"]
    assert run["status"] == "completed", run["error"]
    assert run["dataset"] == {"id": did, "test_split": 0.25}
    import json

    pre = json.loads((tmp_path / "runs" / run_id / "preprocessing.json").read_text())
    splits = pre["pipeline"]["splits"]
    assert (splits["train"], splits["validation"], splits["test"]) == (72, 18, 30)
    assert splits["stratified_by"] == "bought"
    answer = client.post(f"/api/runs/{run_id}/predict",
                         json={"inputs": {"x": {"age": 60, "city": "nice", "income": 52.5, "member": True}}})
    assert answer.status_code == 200, answer.text
    assert {c["label"] for c in answer.json()["classes"]["y"]} == {"no", "yes"}
    bad = client.post(f"/api/runs/{run_id}/predict", json={"inputs": {"x": {"age": "old", "city": "nice"}}})
    assert bad.status_code == 422 and "column 'age'" in bad.text
    if deleted.status_code == 204:  # the run had already loaded its data: it finished all the same
        return
    assert client.delete(f"/api/datasets/{did}").status_code == 204
    assert client.get(f"/api/datasets/{did}").status_code == 404
    assert client.post(f"/api/runs/{run_id}/predict",
                       json={"inputs": {"x": {"age": 30, "city": "lyon"}}}).status_code == 200  # the run keeps it


def test_train_a_cnn_on_an_uploaded_image_zip_with_augmentation(client: TestClient) -> None:
    did = upload(client, "shapes.zip", image_zip(per_class=10))["id"]
    graph = {"nodes": [{"id": "image", "type": "Input", "params": {"shape": [1, 12, 12]}},
                       {"id": "c", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3}},
                       {"id": "f", "type": "Flatten"}, {"id": "l", "type": "Linear", "params": {"out_features": 2}},
                       {"id": "label", "type": "Output"}],
             "edges": [{"source": "image", "target": "c"}, {"source": "c", "target": "f"},
                       {"source": "f", "target": "l"}, {"source": "l", "target": "label"}]}
    r = client.post("/api/runs", json={"graph": graph, "config": {"epochs": 2, "batch_size": 4},
                                       "dataset": {"id": did, "augmentation": {"hflip": True, "crop_padding": 2}}})
    assert r.status_code == 201, r.text
    run = wait_done(client, r.json()["id"])
    assert run["status"] == "completed", run["error"]


def test_json_bodies_are_read_safely(client: TestClient) -> None:
    """The augmentation preview reads its JSON body through the same safe reader as the graph endpoints."""
    response = client.post("/api/datasets/000000000000/augmentation", content=b'{"rotation": NaN}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "NaN" in response.text
