"""Downloadable sources: MNIST, Fashion-MNIST and CIFAR-10, fetched once into the data directory.

A source's files are downloaded into ``<data_dir>/downloads/<source>/`` (streamed to a
``.part`` file with a size cap, hashed on the way, renamed into place only once the
checksum matches: a half or wrong file is never left where a later fetch would trust
it). Files already there are checked, not fetched again, so an offline machine can be
given the files by hand. The images then become an uploaded image dataset (kind
``images``: ``uint8`` ``[N, C, H, W]`` in the store's ``cache.npz``, one ``label`` column),
which trains, previews and exports like an image ZIP upload.

Formats, read without executing anything from the files:

- MNIST and Fashion-MNIST: gzip'd IDX files (big-endian header: magic ``0x0803`` for
  images with 3 dimensions, ``0x0801`` for labels with 1);
- CIFAR-10: the binary version (``cifar-10-binary.tar.gz``): each record is one label byte
  then 3,072 bytes of red, green and blue 32×32 planes. The Python version's pickles are
  never read.

The official base URLs are in ``SOURCES``; ``NETCANVAS_DATASET_MIRROR`` replaces them with
``<mirror>/<source>/<file>`` (a local copy, a proxy, or the tests' HTTP server).
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UploadError

UNREACHABLE = 424
"""The status of a fetch that failed on the source's side (offline, HTTP error, checksum mismatch)."""
CHUNK = 1 << 16
TIMEOUT_S = 30.0

Progress = Callable[[str, int, int | None], None]
"""Called as bytes arrive: (file name, bytes received so far, total bytes when the server said)."""


@dataclass(frozen=True)
class SourceFile:
    name: str
    checksum: str
    """``md5:<hex>`` or ``sha256:<hex>``: the digest the file must have."""
    max_bytes: int
    """A download past this size is cut off and refused."""


@dataclass(frozen=True)
class Source:
    name: str
    title: str
    doc: str
    url: str
    """The official base URL; a file is fetched from ``url + file.name``."""
    files: tuple[SourceFile, ...]
    reader: str  # idx | cifar-binary
    classes: tuple[str, ...]
    shape: tuple[int, int, int]

    def file_names(self) -> list[str]:
        return [f.name for f in self.files]


_MB = 1024 * 1024
_IDX = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz")

SOURCES: dict[str, Source] = {
    "mnist": Source(
        "mnist", "MNIST", "Handwritten digits: 70,000 grey 28×28 images (60,000 + 10,000 official split), 10 classes.",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        tuple(SourceFile(n, f"md5:{h}", m * _MB) for n, h, m in zip(_IDX, (
            "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
            "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"), (20, 1, 4, 1), strict=True)),
        "idx", tuple(str(d) for d in range(10)), (1, 28, 28)),
    "fashion_mnist": Source(
        "fashion_mnist", "Fashion-MNIST",
        "Zalando's clothing pictures: 70,000 grey 28×28 images (60,000 + 10,000 official split), 10 classes.",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        tuple(SourceFile(n, f"md5:{h}", m * _MB) for n, h, m in zip(_IDX, (
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
            "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"), (50, 1, 10, 1), strict=True)),
        "idx", ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                "Ankle boot"), (1, 28, 28)),
    "cifar10": Source(
        "cifar10", "CIFAR-10",
        "Tiny colour photos: 60,000 RGB 32×32 images (50,000 + 10,000 official split), 10 classes.",
        "https://www.cs.toronto.edu/~kriz/",
        (SourceFile("cifar-10-binary.tar.gz", "md5:c32a1d4ab5d03f1284b67883e8d87530", 200 * _MB),),
        "cifar-binary", ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        (3, 32, 32)),
}


def source(name: str) -> Source:
    found = SOURCES.get(name)
    if found is None:
        raise UploadError(f"no downloadable dataset '{name}'; there are: {', '.join(SOURCES)}", 404)
    return found


def file_url(src: Source, file: SourceFile, mirror: str | None) -> str:
    if mirror:
        return f"{mirror.rstrip('/')}/{src.name}/{file.name}"
    return src.url + file.name


def _hasher(checksum: str) -> tuple[Any, str]:
    algorithm, _, expected = checksum.partition(":")
    if algorithm == "md5":
        return hashlib.md5(usedforsecurity=False), expected.lower()
    return hashlib.sha256(), expected.lower()


def file_matches(path: Path, checksum: str) -> bool:
    digest, expected = _hasher(checksum)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return bool(digest.hexdigest() == expected)


def offline_message(src: Source, folder: Path, reason: str) -> str:
    return (f"cannot download {src.title}: {reason}. If this machine is offline, download "
            f"{', '.join(src.file_names())} from {src.url} on one that is online, put them in {folder.resolve()} and "
            f"fetch again (files there are checked, not downloaded again); or set NETCANVAS_DATASET_MIRROR to a "
            f"server that has them as <mirror>/{src.name}/<file>")


def _reason(error: BaseException) -> str:
    inner = getattr(error, "reason", error)
    if isinstance(inner, socket.gaierror):
        return "the host name could not be resolved"
    if isinstance(inner, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(inner, (TimeoutError, socket.timeout)):
        return "the connection timed out"
    return f"the connection failed ({inner})"


def download(src: Source, file: SourceFile, folder: Path, mirror: str | None, progress: Progress | None = None,
             timeout: float = TIMEOUT_S) -> Path:
    """The file in ``folder``, downloaded unless a copy with the right checksum is there. The bytes go to a
    ``.part`` file first; it replaces the target only once its checksum matches, else it is deleted."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file.name
    if target.is_file():
        if file_matches(target, file.checksum):
            return target
        target.unlink()  # a damaged or foreign copy: fetch a good one
    url = file_url(src, file, mirror)
    part = folder / f"{file.name}.part"
    digest, expected = _hasher(file.checksum)
    try:
        try:
            response = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 (a fixed https URL or the mirror)
        except urllib.error.HTTPError as e:
            raise UploadError(f"cannot download {src.title}: {url} answered HTTP {e.code} {e.reason}",
                              UNREACHABLE) from None
        except (urllib.error.URLError, OSError) as e:
            raise UploadError(offline_message(src, folder, _reason(e)), UNREACHABLE) from None
        with response, part.open("wb") as out:
            declared = response.headers.get("Content-Length")
            total = int(declared) if declared and declared.isdigit() else None
            if total is not None and total > file.max_bytes:
                raise UploadError(f"cannot download {src.title}: {url} is {total:,} bytes, more than the "
                                  f"{file.max_bytes:,} bytes this file can be", UNREACHABLE)
            received = 0
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (OSError, TimeoutError) as e:
                    raise UploadError(offline_message(src, folder, _reason(e)), UNREACHABLE) from None
                if not chunk:
                    break
                received += len(chunk)
                if received > file.max_bytes:
                    raise UploadError(f"cannot download {src.title}: {url} sent more than the {file.max_bytes:,} "
                                      "bytes this file can be", UNREACHABLE)
                digest.update(chunk)
                out.write(chunk)
                if progress is not None:
                    progress(file.name, received, total)
        if digest.hexdigest() != expected:
            algorithm = file.checksum.partition(":")[0].upper()
            raise UploadError(f"{src.title}: {file.name} from {url} has {algorithm} {digest.hexdigest()}, expected "
                              f"{expected}; the file was discarded (a damaged download or a wrong mirror)",
                              UNREACHABLE)
        part.replace(target)
        return target
    finally:
        part.unlink(missing_ok=True)


# ---- reading the files -----------------------------------------------------------------------------------------------


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """A gzip'd IDX file of unsigned bytes with ``ndim`` dimensions, checked against its header."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise UploadError(f"{path.name}: not a readable gzip file ({e})") from None
    header = 4 + 4 * ndim
    if len(data) < header or data[:4] != bytes([0, 0, 0x08, ndim]):
        raise UploadError(f"{path.name}: not an IDX file of unsigned bytes with {ndim} dimension(s)")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    if len(data) - header != int(np.prod(dims)):
        raise UploadError(f"{path.name}: the header says {'×'.join(map(str, dims))} values, the file has "
                          f"{len(data) - header:,} bytes of them")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


CIFAR_RECORD = 1 + 3 * 32 * 32
CIFAR_MEMBERS = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def read_cifar_binary(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """uint8 images [N, 3, 32, 32], labels [N] and the number of training images, from the binary-version
    archive: the six batch members are read in order (train then test); nothing is extracted to disk and no other
    member is read."""
    images, labels = [], []
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = {m.name.rsplit("/", 1)[-1]: m for m in archive.getmembers() if m.isfile()}
            for name in CIFAR_MEMBERS:
                member = members.get(name)
                if member is None:
                    raise UploadError(f"{path.name}: no member '{name}' in the archive")
                if member.size % CIFAR_RECORD or member.size > 10_000 * CIFAR_RECORD * 2:
                    raise UploadError(f"{path.name}: member '{name}' is not a whole number of {CIFAR_RECORD}-byte "
                                      "records")
                handle = archive.extractfile(member)
                assert handle is not None  # a regular file
                records = np.frombuffer(handle.read(), dtype=np.uint8).reshape(-1, CIFAR_RECORD)
                labels.append(records[:, 0])
                images.append(records[:, 1:].reshape(-1, 3, 32, 32))
    except (tarfile.TarError, OSError, EOFError) as e:
        raise UploadError(f"{path.name}: not a readable .tar.gz archive ({e})") from None
    return np.concatenate(images), np.concatenate(labels), sum(len(x) for x in images[:-1])


def read_source(src: Source, folder: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Images uint8 [N, C, H, W], label indices [N] and the number of official training images."""
    if src.reader == "idx":
        train_x, train_y, test_x, test_y = (read_idx(folder / f.name, 3 if "images" in f.name else 1)
                                            for f in src.files)
        for x, y, what in ((train_x, train_y, "train"), (test_x, test_y, "t10k")):
            if len(x) != len(y) or x.shape[1:] != src.shape[1:]:
                raise UploadError(f"{src.title}: the {what} files hold {len(x)} images of {x.shape[1:]} and "
                                  f"{len(y)} labels")
        images = np.concatenate([train_x, test_x])[:, None]
        labels = np.concatenate([train_y, test_y])
        train = len(train_x)
    else:
        images, labels, train = read_cifar_binary(folder / src.files[0].name)
    if labels.size and int(labels.max()) >= len(src.classes):
        raise UploadError(f"{src.title}: a label is {int(labels.max())}; the classes are 0 to {len(src.classes) - 1}")
    return np.ascontiguousarray(images), labels, train


def fetch(name: str, store: Any, folder: Path, mirror: str | None = None, progress: Progress | None = None,
          timeout: float = TIMEOUT_S) -> dict[str, Any]:
    """The source ``name`` as an uploaded image dataset: the one made before, else its files downloaded (or found)
    in ``folder``, checked, read and stored. Raises UploadError: 404 unknown name, 424 unreachable or wrong file."""
    src = source(name)
    for desc in store.all():
        if desc.get("source") == name:
            return dict(desc)
    paths = [download(src, f, folder, mirror, progress, timeout) for f in src.files]
    images, labels, train = read_source(src, folder)
    names = [src.classes[i] for i in labels.tolist()]
    members = [f"{'train' if i < train else 'test'}/{i:05d}" for i in range(len(images))]
    return store.add_images(images, names, members, name=src.title, file=", ".join(p.name for p in paths),
                            fmt=src.reader, size_bytes=sum(p.stat().st_size for p in paths), source=name)


def describe_sources(store: Any, folder_of: Callable[[str], Path]) -> list[dict[str, Any]]:
    """Every source: what it is, its files (with which are already downloaded) and the dataset made from it."""
    made = {d.get("source"): d["id"] for d in store.all() if d.get("source")}
    out = []
    for src in SOURCES.values():
        folder = folder_of(src.name)
        out.append({"name": src.name, "title": src.title, "doc": src.doc, "url": src.url,
                    "shape": list(src.shape), "classes": list(src.classes),
                    "files": [{"name": f.name, "checksum": f.checksum, "downloaded": (folder / f.name).is_file()}
                              for f in src.files],
                    "folder": str(folder.resolve()), "dataset_id": made.get(src.name)})
    return out
