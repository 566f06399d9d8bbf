"""Downloadable datasets through the real app, against a local HTTP mirror (NETCANVAS_DATASET_MIRROR): listed,
fetched once, trained on with a CNN; a checksum mismatch and an offline machine are clear 4xx answers."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcanvas.api.app import create_app
from netcanvas.settings import Settings
from sourcehelpers import closed_port_url, mirror, mnist_files, register


def app_client(tmp_path: Path, mirror_url: str) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path / "data", dataset_mirror=mirror_url)),
                      base_url="http://127.0.0.1")


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    files, _, _ = mnist_files()
    register(monkeypatch, "mnist", files)
    with mirror(tmp_path / "www", {"mnist": files}) as url:
        yield url


def wait_done(client: TestClient, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return dict(run)
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish")


CNN = {"nodes": [{"id": "image", "type": "Input", "params": {"shape": [1, 28, 28]}},
                 {"id": "c", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 5, "stride": 2}},
                 {"id": "r", "type": "ReLU"}, {"id": "f", "type": "Flatten"},
                 {"id": "l", "type": "Linear", "params": {"out_features": 10}}, {"id": "label", "type": "Output"}],
       "edges": [{"source": "image", "target": "c"}, {"source": "c", "target": "r"}, {"source": "r", "target": "f"},
                 {"source": "f", "target": "l"}, {"source": "l", "target": "label"}]}


def test_fetch_mnist_once_then_train_a_cnn_on_it(tmp_path: Path, served: str) -> None:
    with app_client(tmp_path, served) as client:
        listed = {s["name"]: s for s in client.get("/api/datasets/sources").json()}
        assert set(listed) == {"mnist", "fashion_mnist", "cifar10"}
        assert listed["mnist"]["dataset_id"] is None and listed["mnist"]["shape"] == [1, 28, 28]
        assert not any(f["downloaded"] for f in listed["mnist"]["files"])

        r = client.post("/api/datasets/sources/mnist/fetch")
        assert r.status_code == 200, r.text
        desc = r.json()
        assert desc["kind"] == "images" and desc["source"] == "mnist" and desc["rows"] == 50
        assert desc["fields"]["image"]["shape"] == [1, 28, 28]

        mnist = next(s for s in client.get("/api/datasets/sources").json() if s["name"] == "mnist")
        assert mnist["dataset_id"] == desc["id"] and all(f["downloaded"] for f in mnist["files"])
        assert client.post("/api/datasets/sources/mnist/fetch").json()["id"] == desc["id"]  # fetched once
        assert [d["id"] for d in client.get("/api/datasets").json()] == [desc["id"]]
        detail = client.get(f"/api/datasets/{desc['id']}").json()
        assert detail["samples"] and detail["samples"][0]["image"].startswith("data:image/png;base64,")

        r = client.post("/api/runs", json={"graph": CNN, "config": {"epochs": 1, "batch_size": 8},
                                           "dataset": {"id": desc["id"]}})
        assert r.status_code == 201, r.text
        run = wait_done(client, r.json()["id"])
        assert run["status"] == "completed", run["error"]

        # another size: resized from the stored images (there is no archive of image files to read again)
        small = {**CNN, "nodes": [{**CNN["nodes"][0], "params": {"shape": [1, 14, 14]}}, *CNN["nodes"][1:]]}
        r = client.post("/api/runs", json={"graph": small, "config": {"epochs": 1, "batch_size": 8},
                                           "dataset": {"id": desc["id"], "preprocessing": {"image_size": [14, 14]}}})
        assert r.status_code == 201, r.text
        assert wait_done(client, r.json()["id"])["status"] == "completed"


def test_a_checksum_mismatch_is_a_424_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files, _, _ = mnist_files()
    register(monkeypatch, "mnist", files)
    files["train-labels-idx1-ubyte.gz"] = b"not the file"
    with mirror(tmp_path / "www", {"mnist": files}) as url, app_client(tmp_path, url) as client:
        r = client.post("/api/datasets/sources/mnist/fetch")
        assert r.status_code == 424
        assert "train-labels-idx1-ubyte.gz" in r.json()["detail"] and "expected" in r.json()["detail"]
        assert client.get("/api/datasets").json() == []


def test_offline_is_a_424_naming_the_files_and_the_folder(tmp_path: Path) -> None:
    with app_client(tmp_path, closed_port_url()) as client:
        r = client.post("/api/datasets/sources/cifar10/fetch")
        assert r.status_code == 424
        detail = r.json()["detail"]
        assert "cifar-10-binary.tar.gz" in detail and "https://www.cs.toronto.edu/~kriz/" in detail
        assert str((tmp_path / "data" / "downloads" / "cifar10").resolve()) in detail
        assert client.post("/api/datasets/sources/imagenet/fetch").status_code == 404


def test_progress_shows_while_a_fetch_runs_and_a_second_fetch_is_409(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    files, _, _ = mnist_files(train=400)
    register(monkeypatch, "mnist", files)

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            data = files[self.path.rsplit("/", 1)[-1]]
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for start in range(0, len(data), 1 << 16):
                self.wfile.write(data[start:start + (1 << 16)])
                self.wfile.flush()
                time.sleep(0.4)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    answers: list[int] = []
    try:
        with app_client(tmp_path, f"http://127.0.0.1:{server.server_address[1]}") as client:
            first = threading.Thread(target=lambda: answers.append(
                client.post("/api/datasets/sources/mnist/fetch").status_code))
            first.start()
            seen = None
            deadline = time.monotonic() + 30
            while seen is None and time.monotonic() < deadline:
                mnist = next(s for s in client.get("/api/datasets/sources").json() if s["name"] == "mnist")
                if mnist["fetching"] and mnist["fetching"]["received"] > 0:
                    seen = mnist["fetching"]
                time.sleep(0.05)
            assert seen is not None and seen["file"] == "train-images-idx3-ubyte.gz"
            assert seen["total"] == len(files["train-images-idx3-ubyte.gz"]) > seen["received"]
            second = client.post("/api/datasets/sources/mnist/fetch")
            assert second.status_code == 409 and "being downloaded already" in second.json()["detail"]
            first.join(60)
            assert answers == [200]
            mnist = next(s for s in client.get("/api/datasets/sources").json() if s["name"] == "mnist")
            assert mnist["fetching"] is None and mnist["dataset_id"]
    finally:
        server.shutdown()
        server.server_close()
