"""Downloadable sources against a local HTTP mirror: the real file formats (gzip'd IDX, CIFAR-10's binary
tarball), checksums, size caps, offline and stalled servers, and files put in place by hand."""

from __future__ import annotations

import dataclasses
import gzip
import socket
from pathlib import Path

import numpy as np
import pytest

from netcanvas.data import sources
from netcanvas.data.errors import UploadError
from netcanvas.data.uploads import DatasetStore, read_cache
from sourcehelpers import cifar_file, closed_port_url, mirror, mnist_files, register


def test_the_production_table_keeps_the_published_checksums() -> None:
    mnist = {f.name: f.checksum for f in sources.SOURCES["mnist"].files}
    assert mnist["train-images-idx3-ubyte.gz"] == "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert sources.SOURCES["cifar10"].files[0].checksum == "md5:c32a1d4ab5d03f1284b67883e8d87530"
    assert sources.SOURCES["cifar10"].files[0].name == "cifar-10-binary.tar.gz"  # never the pickled version


def test_mnist_is_downloaded_checked_and_stored_as_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files, images, labels = mnist_files()
    register(monkeypatch, "mnist", files)
    store = DatasetStore(tmp_path / "datasets")
    seen: list[tuple[str, int, int | None]] = []
    with mirror(tmp_path / "www", {"mnist": files}) as url:
        desc = sources.fetch("mnist", store, tmp_path / "downloads" / "mnist", url,
                             lambda f, n, t: seen.append((f, n, t)))
    assert desc["kind"] == "images" and desc["source"] == "mnist" and desc["rows"] == 50
    assert desc["fields"]["image"] == {"shape": [1, 28, 28], "dtype": "float32", "role": "input"}
    assert desc["fields"]["label"]["classes"] == [str(d) for d in range(10)]
    stored, columns = read_cache(store.path(desc["id"]))
    assert np.array_equal(stored[:, 0], images)
    assert columns["label"] == [str(v) for v in labels.tolist()]
    assert seen[-1] == ("t10k-labels-idx1-ubyte.gz", len(files["t10k-labels-idx1-ubyte.gz"]),
                        len(files["t10k-labels-idx1-ubyte.gz"]))
    assert sorted(p.name for p in (tmp_path / "downloads" / "mnist").iterdir()) == sorted(files)

    # fetched once: the second call answers the same dataset without a server
    again = sources.fetch("mnist", store, tmp_path / "downloads" / "mnist", closed_port_url())
    assert again["id"] == desc["id"] and len(store.all()) == 1


def test_cifar10_binary_records_become_rgb_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, images, labels = cifar_file()
    register(monkeypatch, "cifar10", {"cifar-10-binary.tar.gz": data})
    store = DatasetStore(tmp_path / "datasets")
    with mirror(tmp_path / "www", {"cifar10": {"cifar-10-binary.tar.gz": data}}) as url:
        desc = sources.fetch("cifar10", store, tmp_path / "dl", url)
    assert desc["fields"]["image"]["shape"] == [3, 32, 32] and desc["images"]["color"] == "rgb"
    stored, columns = read_cache(store.path(desc["id"]))
    assert np.array_equal(stored, images)
    names = sources.SOURCES["cifar10"].classes
    assert columns["label"] == [names[i] for i in labels.tolist()]
    assert desc["preview"][0]["file"] == "train/00000" and desc["rows"] == 48


def test_files_put_in_the_folder_by_hand_are_checked_and_used_offline(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    files, _, _ = mnist_files()
    register(monkeypatch, "fashion_mnist", files)
    folder = tmp_path / "downloads" / "fashion_mnist"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    desc = sources.fetch("fashion_mnist", DatasetStore(tmp_path / "datasets"), folder, closed_port_url())
    assert desc["fields"]["label"]["classes"][0] == "Ankle boot"  # class names, not digits


def test_a_checksum_mismatch_is_refused_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files, _, _ = mnist_files()
    register(monkeypatch, "mnist", files)
    served = dict(files, **{"t10k-images-idx3-ubyte.gz": files["t10k-images-idx3-ubyte.gz"][:-3] + b"xyz"})
    folder = tmp_path / "dl"
    store = DatasetStore(tmp_path / "datasets")
    with mirror(tmp_path / "www", {"mnist": served}) as url, pytest.raises(UploadError) as e:
        sources.fetch("mnist", store, folder, url)
    assert e.value.status == 424
    assert "t10k-images-idx3-ubyte.gz" in str(e.value) and "expected" in str(e.value)
    assert "t10k-images-idx3-ubyte.gz" not in {p.name for p in folder.iterdir()}
    assert not list(folder.glob("*.part")) and store.all() == []


def test_offline_names_the_files_and_where_to_put_them(tmp_path: Path) -> None:
    folder = tmp_path / "downloads" / "mnist"
    with pytest.raises(UploadError) as e:
        sources.fetch("mnist", DatasetStore(tmp_path / "datasets"), folder, closed_port_url())
    message = str(e.value)
    assert e.value.status == 424 and "connection was refused" in message
    for name in sources.SOURCES["mnist"].file_names():
        assert name in message
    assert str(folder.resolve()) in message and "NETCANVAS_DATASET_MIRROR" in message


def test_a_host_that_cannot_be_resolved_reads_as_offline() -> None:
    assert sources._reason(OSError()).startswith("the connection failed")
    assert sources._reason(socket.gaierror(-2, "Name or service not known")) == "the host name could not be resolved"


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(UploadError) as e:
            sources.fetch("mnist", DatasetStore(tmp_path / "datasets"), tmp_path / "dl", url, timeout=0.5)
        assert "timed out" in str(e.value) and "train-images-idx3-ubyte.gz" in str(e.value)
    finally:
        listener.close()


def test_a_download_past_its_size_cap_is_cut_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files, _, _ = mnist_files()
    register(monkeypatch, "mnist", files)
    src = sources.SOURCES["mnist"]
    small = tuple(dataclasses.replace(f, max_bytes=100) for f in src.files)
    monkeypatch.setitem(sources.SOURCES, "mnist", dataclasses.replace(src, files=small))
    with mirror(tmp_path / "www", {"mnist": files}) as url, pytest.raises(UploadError) as e:
        sources.fetch("mnist", DatasetStore(tmp_path / "datasets"), tmp_path / "dl", url)
    assert e.value.status == 424 and "100 bytes" in str(e.value)
    assert list((tmp_path / "dl").iterdir()) == []


def test_a_malformed_idx_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files, _, _ = mnist_files()
    files["train-labels-idx1-ubyte.gz"] = files["train-images-idx3-ubyte.gz"]  # images where labels belong
    register(monkeypatch, "mnist", files)
    with mirror(tmp_path / "www", {"mnist": files}) as url, pytest.raises(UploadError) as e:
        sources.fetch("mnist", DatasetStore(tmp_path / "datasets"), tmp_path / "dl", url)
    assert "train-labels-idx1-ubyte.gz: not an IDX file of unsigned bytes with 1 dimension(s)" in str(e.value)


def test_an_unknown_source_is_404(tmp_path: Path) -> None:
    with pytest.raises(UploadError) as e:
        sources.fetch("imagenet", DatasetStore(tmp_path), tmp_path / "dl")
    assert e.value.status == 404 and "mnist, fashion_mnist, cifar10" in str(e.value)


def test_read_idx_never_reads_past_what_the_header_declares(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + b"abc"))
    with pytest.raises(UploadError, match="the header says 5 values, the file has 3 bytes"):
        sources.read_idx(path, 1)
