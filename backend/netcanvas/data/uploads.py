"""The dataset store: uploaded files under ``<data_dir>/datasets/<id>/`` and their descriptions.

Each dataset directory holds the original file (``original.csv``, ``.tsv``, ``.parquet``,
``.zip`` or ``.npz`` — the name is ours, never the user's), ``description.json`` (what the
Data view shows) and, for images, ``cache.npz`` (the images decoded once at the default
size). Ids are made by the server (12 hex digits); an id that is not of that form is
simply not found. Files are streamed in with a size cap (``NETCANVAS_MAX_UPLOAD_MB``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from .errors import UploadError
from .images import default_size, load_images, png_data_url, scan_images
from .options import DatasetOptions
from .pipeline import dataset_from, plan
from .tables import describe_columns, preview_rows, read_table, read_table_cache, write_table_cache

if TYPE_CHECKING:
    from ..settings import Settings
    from .builtin import Dataset

log = logging.getLogger(__name__)

ID = re.compile(r"^[0-9a-f]{12}$")
CHUNK = 1 << 20
SUFFIXES = {"csv": ".csv", "tsv": ".csv", "parquet": ".parquet", "images": ".zip", "npz": ".npz"}


def detect(head: bytes, filename: str) -> str:
    """csv | parquet | images | npz, from the first bytes (and the name's suffix for NPZ vs image ZIP)."""
    lower = filename.lower()
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "npz" if lower.endswith(".npz") else "images"
    if head.startswith(b"PAR1"):
        return "parquet"
    if lower.endswith((".zip", ".npz", ".parquet")):
        raise UploadError(f"{filename}: the file is not a {lower.rsplit('.', 1)[-1].upper()} file (its first bytes "
                          "say otherwise)")
    return "csv"


def display_name(filename: str) -> str:
    base = re.split(r"[\\/]", filename or "upload")[-1]
    return "".join(c for c in base if c.isprintable())[:200] or "upload"


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _copy_and_hash(source: Path, target: Path) -> str:
    """Copy ``source`` to ``target`` (in the kernel: no bytes through Python) and return its SHA-256, hashed
    where it lies (memory-mapped: the file is not read into Python again)."""
    shutil.copyfile(source, target)
    with source.open("rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return hashlib.sha256().hexdigest()
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return hashlib.sha256(mapped).hexdigest()


class DatasetStore:
    def __init__(self, root: str | Path, max_upload_mb: int = 500):
        self.root = Path(root)
        self.max_bytes = max_upload_mb * 1024 * 1024

    @classmethod
    def of(cls, settings: Settings) -> DatasetStore:
        """The store under a server's (or the CLI's) data directory."""
        return cls(settings.data_dir / "datasets", settings.max_upload_mb)

    def fields_of(self, spec: dict[str, Any]) -> Dataset:
        """The fields (no data) an uploaded dataset gives with this run spec (``{"id": ..., target, features,
        preprocessing...}``): enough to check the graph's binding before training. Raises UploadError: no such
        id, a missing column, a one-class target."""
        desc = self.get(str(spec.get("id")))
        options = DatasetOptions.model_validate({k: v for k, v in spec.items() if k not in ("id", "name", "binding")})
        return dataset_from(plan(desc, options), desc, {})

    # ---- adding -------------------------------------------------------------------------------------------------

    def add(self, source: IO[bytes] | Iterable[bytes], filename: str, name: str | None = None) -> dict[str, Any]:
        """Stream ``source`` to disk (refused with 413 past the cap), read and describe it; 4xx if unusable."""
        filename = display_name(filename)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".upload-", dir=self.root))
        try:
            raw = tmp / "raw"
            digest = hashlib.sha256()
            size = 0
            chunks = iter(lambda: source.read(CHUNK), b"") if hasattr(source, "read") else iter(source)
            with raw.open("wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self._too_large(filename)
                    digest.update(chunk)
                    out.write(chunk)
            with raw.open("rb") as f:
                fmt = detect(f.read(8), filename) if size else ""
            original = tmp / f"original{SUFFIXES.get(fmt, '')}"
            raw.replace(original)
            return self._finish(tmp, original, fmt, filename, name, size, digest.hexdigest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def add_path(self, path: Path, name: str | None = None) -> dict[str, Any]:
        """Add a local file (the CLI); the same content and name already stored is reused, not copied again.

        The file is read where it lies while a second thread copies it into the store and hashes it."""
        same_name = [d for d in self.all() if d.get("name") == (name or path.name)]
        if same_name:  # hashed only when an upload of that name could be the same file
            digest = _sha256(path)
            for desc in same_name:
                if desc.get("sha256") == digest:
                    return desc
        if not path.is_file():  # a pipe, say: streamed in as an upload is
            with path.open("rb") as f:
                return self.add(f, path.name, name)
        filename = display_name(path.name)
        size = path.stat().st_size
        if size > self.max_bytes:
            raise self._too_large(filename)
        with path.open("rb") as f:
            fmt = detect(f.read(8), filename) if size else ""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".upload-", dir=self.root))
        try:
            original = tmp / f"original{SUFFIXES.get(fmt, '')}"
            with ThreadPoolExecutor(max_workers=1) as pool:  # left only once the copy is done, even on an error
                copied = pool.submit(_copy_and_hash, path, original)
                return self._finish(tmp, path, fmt, filename, name, size, copied.result)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _too_large(self, filename: str) -> UploadError:
        return UploadError(f"{filename}: larger than the {self.max_bytes // (1024 * 1024)} MB limit "
                           "(NETCANVAS_MAX_UPLOAD_MB)", 413)

    def _finish(self, tmp: Path, source: Path, fmt: str, filename: str, name: str | None, size: int,
                sha256: Callable[[], str]) -> dict[str, Any]:
        """Describe ``source`` (the upload's bytes) into the staging directory ``tmp``, which holds the original's
        copy once ``sha256`` has answered, and move it into the store under a new id."""
        if size == 0:
            raise UploadError(f"{filename}: the file is empty")
        desc, table = describe(source, fmt, filename, tmp)
        dataset_id = uuid.uuid4().hex[:12]
        desc.update(id=dataset_id, name=(name or filename)[:200], file=filename, size_bytes=size, sha256=sha256(),
                    created_at=datetime.now(UTC).isoformat())
        desc["fields"], desc["problem"] = default_fields(desc)
        (tmp / "description.json").write_text(json.dumps(desc))
        tmp.replace(self.root / dataset_id)
        if table is not None:
            cache_in_background(table, self.root / dataset_id)
        return desc

    def add_images(self, images: np.ndarray, labels: list[str], members: list[str], *, name: str, file: str,
                   fmt: str, size_bytes: int, source: str) -> dict[str, Any]:
        """Store decoded images (uint8 [N, C, H, W]) with one class label each as an image dataset, as an image
        ZIP upload would be stored (the downloadable sources: MNIST, CIFAR-10, ...)."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".upload-", dir=self.root))
        try:
            np.savez(tmp / "cache.npz", images=images, members=np.asarray(members), col_0=np.asarray(labels))
            (tmp / "cache.json").write_text(json.dumps(["label"]))
            columns = describe_columns(pa.table({"label": pa.array(labels)}))
            size = (int(images.shape[2]), int(images.shape[3]))
            dataset_id = uuid.uuid4().hex[:12]
            desc: dict[str, Any] = {
                "id": dataset_id, "name": name, "kind": "images", "format": fmt, "file": file,
                "size_bytes": size_bytes, "rows": len(images), "columns": columns, "default_target": "label",
                "images": {"layout": "download", "sizes": {f"{size[0]}x{size[1]}": len(images)},
                           "color": "grey" if images.shape[1] == 1 else "rgb", "default_size": list(size),
                           "skipped": []},
                "preview": [{"file": m, "label": v} for m, v in zip(members[:20], labels[:20], strict=False)],
                "warnings": [], "source": source, "created_at": datetime.now(UTC).isoformat()}
            desc["fields"], desc["problem"] = default_fields(desc)
            (tmp / "description.json").write_text(json.dumps(desc))
            tmp.replace(self.root / dataset_id)
            return desc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # ---- reading ------------------------------------------------------------------------------------------------

    def path(self, dataset_id: str) -> Path:
        if not ID.match(dataset_id or "") or not (self.root / dataset_id / "description.json").is_file():
            raise UploadError(f"no uploaded dataset with id '{dataset_id}'", 404)
        return self.root / dataset_id

    def get(self, dataset_id: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.path(dataset_id) / "description.json").read_text())
        return data

    def all(self) -> list[dict[str, Any]]:
        if not self.root.is_dir():
            return []
        out = []
        for d in self.root.iterdir():
            if ID.match(d.name) and (d / "description.json").is_file():
                out.append(json.loads((d / "description.json").read_text()))
        return sorted(out, key=lambda d: d.get("created_at", ""), reverse=True)

    def original(self, dataset_id: str) -> Path:
        return next(self.path(dataset_id).glob("original.*"))

    def delete(self, dataset_id: str, in_use: Callable[[str], list[str]] = lambda _: []) -> None:
        """Remove a dataset; refused (409) while runs that are queued or running use it."""
        path = self.path(dataset_id)
        runs = in_use(dataset_id)
        if runs:
            raise UploadError(f"dataset '{dataset_id}' is used by run(s) {', '.join(runs)} that are queued or "
                              "running; stop them first", 409)
        wait_for_cache(path)
        trash = self.root / f".deleted-{dataset_id}-{uuid.uuid4().hex[:6]}"
        path.replace(trash)
        shutil.rmtree(trash, ignore_errors=True)

    def image_samples(self, dataset_id: str, per_class: int = 4, max_classes: int = 12) -> list[dict[str, Any]]:
        """A few images per class (or the first few) as PNG data URLs, from the decoded cache."""
        desc = self.get(dataset_id)
        if desc["kind"] != "images":
            return []
        images, columns = read_cache(self.path(dataset_id))
        labels = columns.get("label") or next(iter(columns.values()), [None] * len(images))
        out: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        for i, value in enumerate(labels):
            key = str(value)
            if counts.get(key, 0) >= per_class or (key not in counts and len(counts) >= max_classes):
                continue
            counts[key] = counts.get(key, 0) + 1
            out.append({"label": key, "index": i, "image": png_data_url(images[i])})
        return out


# ---- describing ------------------------------------------------------------------------------------------------------


def describe(path: Path, fmt: str, filename: str, directory: Path) -> tuple[dict[str, Any], pa.Table | None]:
    """The description of an upload, and for a table the parsed table to cache (``cache_in_background``); an
    image set's decoded cache and an NPZ's arrays are written into ``directory`` here."""
    if fmt in ("csv", "parquet"):
        tf = read_table(path, filename)
        columns = describe_columns(tf.table)
        kind = "text" if any(c["dtype"] == "text" for c in columns) else "table"
        warnings = []
        if tf.encoding == "latin-1":
            warnings.append(f"{filename} is not UTF-8: read as Latin-1")
        return {"kind": kind, "format": tf.format, "encoding": tf.encoding, "delimiter": tf.delimiter,
                "header": tf.header, "rows": tf.table.num_rows, "columns": columns,
                "default_target": columns[-1]["name"], "preview": preview_rows(tf.table), "warnings": warnings}, \
            tf.table
    if fmt == "npz":
        from .arrays import default_target, describe_arrays, read_npz

        arrays = read_npz(path, filename)
        rows = len(next(iter(arrays.values())))
        preview = [{k: _short(v[i]) for k, v in arrays.items()} for i in range(min(10, rows))]
        return {"kind": "arrays", "format": "npz", "rows": rows,
                "columns": describe_arrays(arrays), "default_target": default_target(arrays), "preview": preview,
                "warnings": []}, None
    found = scan_images(path, filename)
    size = default_size(found.sizes)
    colour = "rgb" if found.modes.get("rgb") else "grey"
    images = load_images(path, filename, found.members, size, 1 if colour == "grey" else 3)
    label_cols = {k: np.asarray([("" if v is None else str(v)) if isinstance(v, str) or v is None else v
                                 for v in vals]) for k, vals in found.columns.items()}
    stored: dict[str, Any] = {f"col_{i}": v for i, v in enumerate(label_cols.values())}
    np.savez(directory / "cache.npz", images=images, members=np.asarray(found.members), **stored)
    (directory / "cache.json").write_text(json.dumps(list(label_cols)))
    table = pa.table({k: pa.array(v, from_pandas=True) for k, v in found.columns.items()})
    columns = describe_columns(table)
    warnings = []
    if found.skipped:
        shown = ", ".join(found.skipped[:20]) + (f" and {len(found.skipped) - 20} more" if len(found.skipped) > 20
                                                  else "")
        warnings.append(f"skipped {len(found.skipped)} image(s) that could not be decoded: {shown}")
    return {"kind": "images", "format": "zip", "rows": len(found.members), "columns": columns,
            "default_target": columns[0]["name"] if columns else None,
            "images": {"layout": found.layout, "sizes": {f"{h}x{w}": n for (h, w), n in found.sizes.items()},
                       "color": colour, "default_size": list(size), "skipped": found.skipped},
            "preview": [{"file": m, **{k: v[i] for k, v in found.columns.items()}}
                        for i, m in enumerate(found.members[:20])],
            "warnings": warnings}, None


# ---- the Arrow cache of a table, written once the upload has answered ------------------------------------------------

_writing: dict[Path, tuple[pa.Table, threading.Thread]] = {}
"""Tables of this process whose cache file is being written, by dataset directory."""
_writing_lock = threading.Lock()


def cache_in_background(table: pa.Table, directory: Path) -> None:
    """Write ``table``'s Arrow cache into the stored dataset ``directory`` on a thread (the process waits for it
    before it exits). Until it is written, ``cached_table`` in this process answers with ``table`` itself;
    another process finds no cache yet and reads the original file."""
    def write() -> None:
        try:
            write_table_cache(table, directory)
        except OSError as e:  # a full disk, say: a later reader parses the original instead
            log.warning("the table cache of %s was not written: %s", directory, e)
        finally:
            with _writing_lock:
                _writing.pop(key, None)

    key = directory.resolve()
    thread = threading.Thread(target=write, name=f"table-cache-{directory.name}")
    with _writing_lock:
        _writing[key] = (table, thread)
    thread.start()


def cached_table(directory: Path) -> pa.Table | None:
    """A stored table's parsed copy: the one still being cached by this process, else its cache file (None for
    uploads made before the cache, or while another process writes it)."""
    with _writing_lock:
        pending = _writing.get(directory.resolve())
    return pending[0] if pending is not None else read_table_cache(directory)


def wait_for_cache(directory: Path) -> None:
    """Return once no thread of this process is writing ``directory``'s table cache."""
    with _writing_lock:
        pending = _writing.get(directory.resolve())
    if pending is not None:
        pending[1].join()


def _short(value: np.ndarray) -> Any:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return arr.item()
    flat = arr.reshape(-1)[:8].tolist()
    return flat + (["…"] if arr.size > 8 else [])


def read_cache(directory: Path) -> tuple[np.ndarray, dict[str, list[Any]]]:
    names = json.loads((directory / "cache.json").read_text())
    with np.load(directory / "cache.npz", allow_pickle=False) as npz:
        images = npz["images"]
        columns = {n: npz[f"col_{i}"].tolist() for i, n in enumerate(names)}
    return images, columns


def default_fields(desc: dict[str, Any], options: DatasetOptions | None = None) -> tuple[dict[str, Any], str | None]:
    """The fields a run with these options would bind; or none and the reason (e.g. a one-class last column)."""
    try:
        return plan(desc, options or DatasetOptions()).fields, None
    except UploadError as e:
        return {}, str(e)
