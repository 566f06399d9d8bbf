"""Uploaded datasets: add (multipart, streamed to disk), list, describe with the fields a spec would bind,
preview augmentation, delete (refused while a queued or running run uses the dataset)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import Message

from ..data.errors import UploadError
from ..data.options import AugmentationOptions, DatasetOptions, PreprocessingOptions
from ..data.uploads import default_fields
from ..settings import Settings
from ..store import Database, RunRow
from .deps import DatabaseDep, DatasetStoreDep, SettingsDep
from .limits import SafeJSONRoute

router = APIRouter(prefix="/api/datasets", tags=["datasets"], route_class=SafeJSONRoute)


class Column(BaseModel):
    name: str
    dtype: str = Field(description="numeric | boolean | date | categorical | text")
    missing: int
    distinct: int | None = None
    classes: dict[str, int] | None = Field(default=None, description="Value -> count (at most 50 values)")
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    shape: list[int] | None = Field(default=None, description="NPZ arrays: the shape of one sample")


class FieldInfo(BaseModel):
    shape: list[int]
    dtype: str
    role: str = Field(description="input | target")
    classes: list[str] | None = None
    vocabulary_size: int | None = None


class UploadedDataset(BaseModel):
    id: str
    name: str
    kind: str = Field(description="table | text | images | arrays")
    format: str = Field(description="csv | tsv | parquet | zip | npz; idx | cifar-binary for a downloaded source")
    file: str = Field(description="The uploaded file's name (for display)")
    size_bytes: int
    rows: int
    columns: list[Column]
    default_target: str | None
    fields: dict[str, FieldInfo] = Field(description="What a run with the default options would bind")
    problem: str | None = Field(default=None, description="Why the default options cannot train (choose a target)")
    encoding: str | None = None
    delimiter: str | None = None
    warnings: list[str] = Field(default_factory=list)
    images: dict[str, Any] | None = None
    source: str | None = Field(default=None, description="The downloadable source it was fetched from (mnist, ...)")
    created_at: str


class ImageSample(BaseModel):
    label: str
    index: int
    image: str = Field(description="A PNG data URL")


class TextTokens(BaseModel):
    column: str
    text: str
    tokens: list[str] = Field(description="The tokens the tokenizer a run would record makes of the text, cut to "
                                          "the padded length")
    ids: list[int] = Field(description="Their ids (0 = padding, 1 = unknown)")
    cut: int = Field(description="Tokens past the padded length, left out")


class DatasetDetail(UploadedDataset):
    preview: list[dict[str, Any]] = Field(description="The first rows (NPZ: the first values of each array)")
    samples: list[ImageSample] = Field(default_factory=list, description="Images: a few per class")
    pipeline: list[str] = Field(default_factory=list, description="What the chosen options will do, step by step")
    tokens: list[TextTokens] = Field(default_factory=list, description="Text data: the first texts of each text "
                                     "column with their tokens")


class AugmentationPreview(BaseModel):
    images: list[str] = Field(description="PNG data URLs of one training image, augmented")


class SourceFileInfo(BaseModel):
    name: str
    checksum: str = Field(description="md5:<hex> or sha256:<hex>: what the file must hash to")
    downloaded: bool = Field(description="The file is in the source's folder already")


class FetchProgress(BaseModel):
    file: str
    received: int
    total: int | None = Field(description="The file's size, when the server said")


class DownloadableDataset(BaseModel):
    name: str = Field(description="What to fetch: POST /api/datasets/sources/{name}/fetch")
    title: str
    doc: str
    url: str = Field(description="The official base URL (NETCANVAS_DATASET_MIRROR replaces it)")
    shape: list[int] = Field(description="One image: [channels, height, width]")
    classes: list[str]
    files: list[SourceFileInfo]
    folder: str = Field(description="Where the files are kept; files put there by hand are checked and used")
    dataset_id: str | None = Field(description="The dataset made from it, once fetched")
    fetching: FetchProgress | None = Field(default=None, description="Bytes received while a fetch is under way")


_fetching: dict[str, dict[str, Any]] = {}
"""Fetches under way in this process, by source folder: their progress (what GET /sources shows)."""
_fetching_lock = threading.Lock()


def problem(e: UploadError) -> HTTPException:
    return HTTPException(e.status, detail=str(e))


ERRORS: dict[int | str, dict[str, Any]] = {400: {"description": "The file cannot be read (the detail names the file "
                                                                 "and the line, column or member)"},
                                           404: {"description": "No such dataset"},
                                           413: {"description": "Past NETCANVAS_MAX_UPLOAD_MB or the ZIP limits"},
                                           422: {"description": "The options do not fit the data"}}
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "CSV/TSV, Parquet, a ZIP of images (one folder per class, or a CSV of "
                                           "file names and labels) or NPZ"},
                   "name": {"type": "string", "maxLength": 200}}}}}}}


@router.post("", status_code=201, response_model=UploadedDataset, responses=ERRORS, openapi_extra=UPLOAD_BODY)
async def upload(request: Request, store: DatasetStoreDep) -> Any:
    """Upload a dataset (multipart field `file`, optional `name`). The file is streamed to disk; past
    NETCANVAS_MAX_UPLOAD_MB it is refused with 413 before it is read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > store.max_bytes + 64 * 1024:
        raise HTTPException(413, f"the upload is larger than the {store.max_bytes // (1024 * 1024)} MB limit "
                                 "(NETCANVAS_MAX_UPLOAD_MB)")
    cap = store.max_bytes + 64 * 1024  # the file and the form around it
    received = 0

    async def limited() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > cap:
            raise UploadError(f"the upload is larger than the {store.max_bytes // (1024 * 1024)} MB limit "
                              "(NETCANVAS_MAX_UPLOAD_MB)", 413)
        return message

    try:
        form = await Request(request.scope, limited).form(max_files=1, max_fields=4)
    except UploadError as e:
        raise problem(e) from None
    except Exception as e:  # starlette's parser: a malformed multipart body
        raise HTTPException(400, f"the request is not a readable multipart form: {e}") from None
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise HTTPException(422, "send the dataset as the multipart field 'file'")
        name = form.get("name")
        name = name if isinstance(name, str) and name.strip() else None
        try:
            return await run_in_threadpool(store.add, file.file, file.filename or "upload", name)
        except UploadError as e:
            raise problem(e) from None
    finally:
        await form.close()


@router.get("", response_model=list[UploadedDataset])
def list_datasets(store: DatasetStoreDep) -> Any:
    """Every uploaded dataset, newest first (the built-in ones are in GET /api/catalog)."""
    return store.all()


def _source_folder(settings: Settings, name: str) -> Path:
    return settings.data_dir / "downloads" / name


@router.get("/sources", response_model=list[DownloadableDataset])
def list_sources(store: DatasetStoreDep, settings: SettingsDep) -> Any:
    """The datasets that can be downloaded (MNIST, Fashion-MNIST, CIFAR-10): their files, whether each is
    downloaded, the dataset made from them, and the progress of a fetch under way."""
    from ..data.sources import describe_sources

    out = describe_sources(store, lambda name: _source_folder(settings, name))
    with _fetching_lock:
        for entry in out:
            entry["fetching"] = _fetching.get(entry["folder"])
    return out


@router.post("/sources/{name}/fetch", response_model=UploadedDataset, responses={
    404: {"description": "No such downloadable dataset"},
    409: {"description": "This dataset is being downloaded already"},
    424: {"description": "The source cannot be reached (offline: the detail names the files and where to put "
                         "them), answered an HTTP error, or sent a file whose checksum is wrong"}})
async def fetch_source(name: str, store: DatasetStoreDep, settings: SettingsDep) -> Any:
    """Download a source once into the data directory (checked by checksum) and store it as an image dataset;
    answers the dataset (the one made before, if any). Progress shows in GET /api/datasets/sources."""
    from ..data.sources import fetch, source

    try:
        source(name)
    except UploadError as e:
        raise problem(e) from None
    folder = _source_folder(settings, name)
    key = str(folder.resolve())
    with _fetching_lock:
        if key in _fetching:
            raise HTTPException(409, f"{name} is being downloaded already; see GET /api/datasets/sources")
        _fetching[key] = {"file": "", "received": 0, "total": None}

    def progress(file: str, received: int, total: int | None) -> None:
        _fetching[key] = {"file": file, "received": received, "total": total}

    try:
        return await run_in_threadpool(fetch, name, store, folder, settings.dataset_mirror, progress)
    except UploadError as e:
        raise problem(e) from None
    finally:
        with _fetching_lock:
            _fetching.pop(key, None)


@router.get("/{dataset_id}", response_model=DatasetDetail, responses=ERRORS)
def get_dataset(store: DatasetStoreDep, dataset_id: str,
                target: list[str] | None = Query(default=None, description="Target column(s)"),
                features: list[str] | None = Query(default=None, description="Feature columns"),
                preprocessing: str | None = Query(default=None, description="Preprocessing options as JSON"),
                seed: int = Query(default=0, description="The training config's seed (the split the tokenizer of "
                                                         "`tokens` is trained on)"),
                validation_split: float = Query(default=0.2, ge=0.0, lt=1.0,
                                                description="The training config's validation_split")) -> Any:
    """One dataset with a preview and sample images, and the `fields` that a run with this target, these
    features and this preprocessing would bind (shape and dtype of each); for text, a few texts with their tokens."""
    try:
        desc = store.get(dataset_id)
        pre = PreprocessingOptions.model_validate(json.loads(preprocessing)) if preprocessing else None
        options = DatasetOptions(target=target, features=features,
                                 preprocessing=pre or PreprocessingOptions())
        samples = store.image_samples(dataset_id)
    except UploadError as e:
        raise problem(e) from None
    except (ValidationError, json.JSONDecodeError) as e:
        raise HTTPException(422, f"preprocessing: {e}") from None
    fields, why = default_fields(desc, options)
    steps: list[str] = []
    tokens: list[dict[str, Any]] = []
    if not why:
        from ..data.fit import token_samples
        from ..data.pipeline import plan, planned_steps

        steps = planned_steps(plan(desc, options), options)
        if desc["kind"] == "text":
            try:
                tokens = token_samples(store, desc, options, seed=seed, validation_split=validation_split)
            except UploadError as e:
                raise problem(e) from None
    return {**desc, "fields": fields, "problem": why, "samples": samples, "pipeline": steps, "tokens": tokens}


@router.post("/{dataset_id}/augmentation", response_model=AugmentationPreview, responses=ERRORS)
def preview_augmentation(store: DatasetStoreDep, dataset_id: str, body: AugmentationOptions) -> Any:
    """Eight augmented versions of the dataset's first image (seeded), to see what the options do."""
    from ..data.fit import augmented_preview

    try:
        if store.get(dataset_id)["kind"] != "images":
            raise HTTPException(422, "augmentation applies to image datasets")
        return {"images": augmented_preview(store, dataset_id, body)}
    except UploadError as e:
        raise problem(e) from None


def runs_using(db: Database, dataset_id: str) -> list[str]:
    with db.session() as s:
        rows = s.execute(select(RunRow.id, RunRow.dataset).where(RunRow.status.in_(("queued", "running")))).all()
    return [run_id for run_id, ref in rows if isinstance(ref, dict) and ref.get("id") == dataset_id]


@router.delete("/{dataset_id}", status_code=204, response_class=Response,
               responses={404: ERRORS[404], 409: {"description": "A queued or running run uses it"}})
def delete_dataset(store: DatasetStoreDep, db: DatabaseDep, dataset_id: str) -> Response:
    """Delete an uploaded dataset and its files. Refused (409) while a queued or running run uses it; finished
    runs keep their recorded pipeline and stay exportable."""
    try:
        store.delete(dataset_id, lambda i: runs_using(db, i))
    except UploadError as e:
        raise problem(e) from None
    return Response(status_code=204)
