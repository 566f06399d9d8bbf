"""Downloads of a trained model in every format, how each was checked, and predictions from it.

Exports take seconds: they run in the thread pool (never on the event loop) and are cached
in the run directory per format.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..artifacts import RunDir
from ..export import FORMATS, ExportError, ExportReport, PredictError, export_run, predictor
from ..export.files import content_disposition, file_stem
from ..export.service import FormatName
from ..settings import Settings
from .deps import SettingsDep
from .limits import SafeJSONRoute

router = APIRouter(prefix="/api/runs", tags=["export"], route_class=SafeJSONRoute)


def run_dir(settings: Settings, run_id: str) -> RunDir:
    """The run's directory (``<data_dir>/runs/<id>/``); 404 when the run or its weights do not exist."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", run_id):
        raise HTTPException(404, f"no run '{run_id}'")
    run = RunDir(settings.data_dir / "runs" / run_id)
    if not run.exists():
        raise HTTPException(404, f"no run '{run_id}'")
    if run.weights_path() is None:
        raise HTTPException(404, f"run '{run_id}' has no weights yet (it is queued, running, or failed before "
                                 "its first epoch)")
    return run


async def _export(run: RunDir, fmt: str) -> tuple[Any, ExportReport]:
    try:
        return await run_in_threadpool(export_run, run, fmt)
    except ExportError as e:
        raise HTTPException(422, {"message": str(e), "node": e.node}) from e


@router.get("/{run_id}/export", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}, "application/zip": {}, "text/x-python": {}},
                             "description": "the exported file"},
                       404: {"description": "no such run, or it has no weights yet"},
                       422: {"description": "the export failed its check; the message names the layer at fault"}})
async def download(settings: SettingsDep, run_id: str, format: FormatName = "onnx") -> FileResponse:
    """The trained model as ONNX (checked against onnxruntime), int8 ONNX, PyTorch code, TorchScript,
    weights (safetensors keyed by node id) or a bundle (zip with a model card). When int8 does not pay off
    (slower than 1.3x the float file at batch 64, or a validation accuracy loss above 1 point), `onnx-int8`
    answers with the float model and the header `X-NetCanvas-Int8: kept float: <reason>`."""
    run = run_dir(settings, run_id)
    path, result = await _export(run, format)
    spec = FORMATS[format]
    headers = {"Content-Disposition": content_disposition(file_stem(run.graph().get("name")),
                                                          f"-{run_id}{spec.suffix}")}
    if result.kept_float is not None:  # onnx-int8 that did not pay off: the float model, and why (ASCII)
        headers["X-NetCanvas-Int8"] = result.kept_float
    return FileResponse(path, media_type=spec.media_type, headers=headers)


@router.get("/{run_id}/export/report", response_model=ExportReport, response_model_exclude_none=True)
async def report(settings: SettingsDep, run_id: str, format: FormatName = "onnx") -> ExportReport:
    """How the export was checked: runs compared with PyTorch, max differences, opset, sizes, and for int8
    the size ratio and the validation accuracy next to the float model. Makes the export if needed."""
    _, result = await _export(run_dir(settings, run_id), format)
    return result


class PredictRequest(BaseModel):
    inputs: dict[str, Any] = Field(description="Input id -> one sample (nested list, no batch axis) or a batch "
                                               "of samples; raw values (the run's standardization is applied)")


class ClassProbability(BaseModel):
    label: str
    probability: float


class PredictResponse(BaseModel):
    outputs: dict[str, Any] = Field(description="Output name -> values (one sample, or a batch)")
    classes: dict[str, list[ClassProbability] | list[list[ClassProbability]]] | None = Field(
        default=None, description="For classifiers: Output name -> classes ranked by probability (per sample)")


@router.post("/{run_id}/predict", response_model=PredictResponse, response_model_exclude_none=True)
async def predict(settings: SettingsDep, run_id: str, body: PredictRequest) -> dict[str, Any]:
    """Inference on the trained model, served by a cached ONNX Runtime session; inputs named by Input id."""
    run = run_dir(settings, run_id)
    try:
        model = await run_in_threadpool(predictor, run)
        return await run_in_threadpool(model.predict, body.inputs)
    except PredictError as e:
        raise HTTPException(422, str(e)) from e
    except ExportError as e:
        raise HTTPException(422, {"message": str(e), "node": e.node}) from e
