"""Small MNIST-, Fashion-MNIST- and CIFAR-10-format files made here, and a local HTTP server that serves them as a
mirror (``<mirror>/<source>/<file>``): the download tests never touch the network."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from netcanvas.data import sources


def idx_bytes(array: np.ndarray) -> bytes:
    """A gzip'd IDX file of unsigned bytes (magic 0x08, then the number of dimensions, then each, big-endian)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def mnist_files(train: int = 40, test: int = 10, seed: int = 0) -> tuple[dict[str, bytes], np.ndarray, np.ndarray]:
    """The four IDX files, and the images [N, 28, 28] and labels they hold (train then test)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (train + test, 28, 28), dtype=np.uint8)
    labels = (np.arange(train + test) % 10).astype(np.uint8)
    files = {"train-images-idx3-ubyte.gz": idx_bytes(images[:train]),
             "train-labels-idx1-ubyte.gz": idx_bytes(labels[:train]),
             "t10k-images-idx3-ubyte.gz": idx_bytes(images[train:]),
             "t10k-labels-idx1-ubyte.gz": idx_bytes(labels[train:])}
    return files, images, labels


def cifar_file(per_batch: int = 8, seed: int = 0) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A cifar-10-binary.tar.gz with six batches of ``per_batch`` records (label byte, then R, G, B planes)."""
    rng = np.random.default_rng(seed)
    count = 6 * per_batch
    images = rng.integers(0, 256, (count, 3, 32, 32), dtype=np.uint8)
    labels = (np.arange(count) % 10).astype(np.uint8)
    records = np.concatenate([labels[:, None], images.reshape(count, -1)], axis=1)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
        members = [(n, records[i * per_batch:(i + 1) * per_batch].tobytes()) for i, n in enumerate(names)]
        members.append(("batches.meta.txt", b"airplane\nautomobile\n"))
        for name, data in members:
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue(), images, labels


def register(monkeypatch: pytest.MonkeyPatch, name: str, files: dict[str, bytes]) -> None:
    """Point the source's checksum table at these files (the production table keeps the real checksums)."""
    src = sources.SOURCES[name]
    table = tuple(dataclasses.replace(f, checksum="sha256:" + hashlib.sha256(files[f.name]).hexdigest())
                  for f in src.files)
    monkeypatch.setitem(sources.SOURCES, name, dataclasses.replace(src, files=table))


@contextmanager
def mirror(root: Path, files: dict[str, dict[str, bytes]]) -> Iterator[str]:
    """An http.server on 127.0.0.1 serving ``root/<source>/<file>``; yields its base URL."""
    for source_name, content in files.items():
        (root / source_name).mkdir(parents=True, exist_ok=True)
        for file_name, data in content.items():
            (root / source_name / file_name).write_bytes(data)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens (connection refused: what an offline fetch meets)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
