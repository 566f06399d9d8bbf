"""ZIP archives, checked before anything is extracted, and image sets read from them with Pillow.

A ZIP is refused when a member path is absolute or climbs out with ``..``, when it has
more than ``MAX_MEMBERS`` members, or when its members decompress past
``MAX_UNPACKED_BYTES`` — by the sizes it declares and by the bytes actually read (members
are streamed with a cap, never read whole). Image sets come in two layouts:

- one folder per class (``cats/1.png``, ``dogs/7.jpg``; one top folder around them is fine);
- a CSV inside the ZIP naming each image file in one column, with label or value columns
  (classification, regression or several 0/1 columns for multi-label).

A file that Pillow cannot decode is skipped and listed in the description's warnings.
"""

from __future__ import annotations

import base64
import io
import posixpath
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UploadError

MAX_MEMBERS = 200_000
MAX_UNPACKED_BYTES = 4 * 1024**3
MAX_IMAGE_BYTES = 64 * 1024**2
MAX_IMAGE_PIXELS = 40_000_000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
MAX_SIDE = 512
"""The largest default image side: bigger images are resized down to it unless the spec asks for a size."""


def safe_members(archive: zipfile.ZipFile, name: str, max_members: int | None = None,
                 max_bytes: int | None = None) -> list[zipfile.ZipInfo]:
    """The archive's file members, after refusing unsafe paths and declared sizes past the caps."""
    max_members = max_members or MAX_MEMBERS
    max_bytes = max_bytes or MAX_UNPACKED_BYTES
    infos = archive.infolist()
    if len(infos) > max_members:
        raise UploadError(f"{name}: {len(infos):,} members; at most {max_members:,} are accepted", 413)
    total = 0
    files = []
    for info in infos:
        member = info.filename
        parts = member.replace("\\", "/").split("/")
        if member.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member) or ".." in parts:
            raise UploadError(f"{name}: member '{member}' has an unsafe path (absolute or with '..')")
        total += info.file_size
        if total > max_bytes:
            raise UploadError(f"{name}: members declare more than {max_bytes:,} bytes once decompressed "
                              f"(refused at member '{member}')", 413)
        if not info.is_dir():
            files.append(info)
    return files


class ReadCap:
    """Counts the bytes actually decompressed across one archive; refuses past the cap."""

    def __init__(self, name: str, max_bytes: int | None = None):
        self.name, self.max_bytes, self.total = name, max_bytes or MAX_UNPACKED_BYTES, 0

    def read(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int | None = None) -> bytes:
        limit = limit or MAX_IMAGE_BYTES
        chunks, size = [], 0
        with archive.open(info) as f:
            while chunk := f.read(1 << 16):
                size += len(chunk)
                self.total += len(chunk)
                if size > limit:
                    raise UploadError(f"{self.name}: member '{info.filename}' decompresses past {limit:,} bytes", 413)
                if self.total > self.max_bytes:
                    raise UploadError(f"{self.name}: the archive decompresses past {self.max_bytes:,} bytes "
                                      f"(at member '{info.filename}')", 413)
                chunks.append(chunk)
        return b"".join(chunks)


def open_zip(path: Path, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise UploadError(f"{name}: not a readable ZIP archive ({e})") from None


def _hidden(member: str) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in member.split("/"))


@dataclass
class ImageSet:
    """What an image ZIP holds: the image members, their labels table and what was skipped."""

    members: list[str]
    columns: dict[str, list[Any]]
    """Label columns, one value per image (the folder layout has one: ``label``)."""
    layout: str  # folders | csv
    sizes: Counter[tuple[int, int]] = field(default_factory=Counter)
    modes: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)


def _decode(data: bytes, member: str) -> Any:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def _labels_csv(archive: zipfile.ZipFile, csv_info: zipfile.ZipInfo, images: dict[str, zipfile.ZipInfo],
                cap: ReadCap, name: str) -> tuple[list[str], dict[str, list[Any]]]:
    import csv

    text = cap.read(archive, csv_info).decode("utf-8-sig", errors="strict") if csv_info.file_size else ""
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        raise UploadError(f"{name}: member '{csv_info.filename}' has no rows under its header")
    header = rows[0]
    by_base = {posixpath.basename(m): m for m in images}
    file_col = None
    for i in range(len(header)):
        values = [r[i] for r in rows[1:6] if i < len(r)]
        if values and all(v in images or posixpath.basename(v) in by_base for v in values):
            file_col = i
            break
    if file_col is None:
        raise UploadError(f"{name}: member '{csv_info.filename}': no column names the image files of the archive")
    members: list[str] = []
    columns: dict[str, list[Any]] = {h: [] for j, h in enumerate(header) if j != file_col}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise UploadError(f"{name}: member '{csv_info.filename}', line {line}: {len(row)} fields where the "
                              f"header has {len(header)}")
        ref = row[file_col]
        member = ref if ref in images else by_base.get(posixpath.basename(ref))
        if member is None:
            raise UploadError(f"{name}: member '{csv_info.filename}', line {line}: no image '{ref}' in the archive")
        members.append(member)
        for j, h in enumerate(header):
            if j != file_col:
                columns[h].append(_number(row[j]))
    return members, columns


def _number(value: str) -> Any:
    try:
        return float(value) if any(c in value for c in ".eE") else int(value)
    except ValueError:
        return value if value != "" else None


def scan_images(path: Path, name: str) -> ImageSet:
    """Check the archive and every image in it (decoded once, so a corrupt one is found now, not in training)."""
    with open_zip(path, name) as archive:
        files = safe_members(archive, name)
        cap = ReadCap(name)
        images = {i.filename: i for i in files if not _hidden(i.filename)
                  and i.filename.lower().endswith(IMAGE_SUFFIXES)}
        if not images:
            raise UploadError(f"{name}: no images (PNG, JPEG, BMP or WebP) in the archive")
        tables = [i for i in files if not _hidden(i.filename) and i.filename.lower().endswith(".csv")]
        if tables:
            members, columns = _labels_csv(archive, tables[0], images, cap, name)
            layout = "csv"
        else:
            prefix = posixpath.commonpath(list(images)) if len(images) > 1 else ""
            members, labels = [], []
            for member in sorted(images):
                rel = member[len(prefix):].lstrip("/") if prefix else member
                folder = posixpath.dirname(rel)
                if not folder:
                    raise UploadError(f"{name}: member '{member}' is not inside a class folder; put each class's "
                                      "images in a folder named after the class, or add a CSV of file names and "
                                      "labels")
                members.append(member)
                labels.append(folder)
            columns, layout = {"label": labels}, "folders"
        found = ImageSet(members, columns, layout)
        keep = []
        for i, member in enumerate(members):
            try:
                img = _decode(cap.read(archive, images[member]), member)
            except UploadError:
                raise
            except Exception:  # Pillow raises many kinds for a broken file: each one is a skipped image
                found.skipped.append(member)
                continue
            found.sizes[(img.height, img.width)] += 1
            found.modes["grey" if img.mode in ("1", "L", "I", "I;16", "F") else "rgb"] += 1
            keep.append(i)
        if not keep:
            raise UploadError(f"{name}: none of the {len(members)} images could be decoded")
        found.members = [members[i] for i in keep]
        found.columns = {k: [v[i] for i in keep] for k, v in found.columns.items()}
        return found


def default_size(sizes: dict[str, int] | Counter[tuple[int, int]]) -> tuple[int, int]:
    """The most common image size, shrunk to fit MAX_SIDE."""
    counter = Counter({tuple(int(x) for x in k.split("x")) if isinstance(k, str) else k: v for k, v in sizes.items()})
    h, w = counter.most_common(1)[0][0]
    scale = min(1.0, MAX_SIDE / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def load_images(path: Path, name: str, members: list[str], size: tuple[int, int], channels: int) -> np.ndarray:
    """uint8 [N, C, H, W]: every member decoded, converted to grey or RGB and resized (bilinear) to ``size``."""
    from PIL import Image

    out = np.empty((len(members), channels, size[0], size[1]), dtype=np.uint8)
    with open_zip(path, name) as archive:
        infos = {i.filename: i for i in safe_members(archive, name)}
        cap = ReadCap(name)
        for k, member in enumerate(members):
            img = _decode(cap.read(archive, infos[member]), member).convert("L" if channels == 1 else "RGB")
            if (img.height, img.width) != size:
                img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
            out[k] = arr[None] if channels == 1 else arr.transpose(2, 0, 1)
    return out


def resize_images(images: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    """uint8 [N, C, H, W] converted to grey or RGB and resized (bilinear) to ``size``, as ``load_images`` does."""
    from PIL import Image

    out = np.empty((len(images), channels, size[0], size[1]), dtype=np.uint8)
    for k, arr in enumerate(images):
        img = Image.fromarray(arr[0], "L") if arr.shape[0] == 1 else Image.fromarray(arr.transpose(1, 2, 0), "RGB")
        img = img.convert("L" if channels == 1 else "RGB")
        if (img.height, img.width) != size:
            img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        pixels = np.asarray(img, dtype=np.uint8)
        out[k] = pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    return out


def png_data_url(image: np.ndarray) -> str:
    """A [C, H, W] array in [0, 1] or uint8 as a PNG data URL (for the browser's sample grid)."""
    from PIL import Image

    arr = image if image.dtype == np.uint8 else (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    pil = Image.fromarray(arr[0], "L") if arr.shape[0] == 1 else Image.fromarray(arr.transpose(1, 2, 0), "RGB")
    buf = io.BytesIO()
    pil.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
