"""Downloads of a trained model in every format, and predictions from it."""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..artifacts import RunDir
from ..export import FORMATS, ExportError, PredictError, export_run, predictor

router = APIRouter(prefix="/api/runs", tags=["export"])
FormatName = Literal["onnx", "onnx-int8", "pytorch", "torchscript", "weights", "bundle"]


def run_dir(request: Request, run_id: str) -> RunDir:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", run_id):
        raise HTTPException(404, f"no run '{run_id}'")
    run = RunDir(request.app.state.settings.data_dir / "runs" / run_id)
    if not run.exists():
        raise HTTPException(404, f"no run '{run_id}'")
    if run.weights_path() is None:
        raise HTTPException(409, f"run '{run_id}' has no weights yet (it is queued, running or failed early)")
    return run


async def _export(run: RunDir, fmt: str) -> tuple[Any, dict[str, Any]]:
    try:
        return await run_in_threadpool(export_run, run, fmt)
    except ExportError as e:
        raise HTTPException(422, {"message": str(e), "node": e.node}) from e


@router.get("/{run_id}/export", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "the exported file"}})
async def download(request: Request, run_id: str, format: FormatName = "onnx") -> FileResponse:
    """The trained model as ONNX (checked against onnxruntime), int8 ONNX, PyTorch code, TorchScript,
    weights (safetensors keyed by node id) or a bundle (zip with a model card)."""
    run = run_dir(request, run_id)
    path, _ = await _export(run, format)
    name = re.sub(r"[^\w.-]+", "_", str(run.graph().get("name") or "model")).strip("_") or "model"
    spec = FORMATS[format]
    return FileResponse(path, media_type=spec.media_type, filename=f"{name}-{run_id}{spec.suffix}")


@router.get("/{run_id}/export/report")
async def report(request: Request, run_id: str, format: FormatName = "onnx") -> dict[str, Any]:
    """How the export was checked: max differences to PyTorch, opset, sizes, int8 accuracy change."""
    _, result = await _export(run_dir(request, run_id), format)
    return result


class PredictRequest(BaseModel):
    inputs: dict[str, Any] = Field(description="Input id -> one sample (nested list) or a batch of samples")


class ClassProbability(BaseModel):
    label: str
    probability: float


class PredictResponse(BaseModel):
    outputs: dict[str, Any] = Field(description="Output name -> values (one sample, or a batch)")
    classes: dict[str, list[ClassProbability] | list[list[ClassProbability]]] | None = Field(
        default=None, description="For classifiers: classes ranked by probability")


@router.post("/{run_id}/predict", response_model=PredictResponse, response_model_exclude_none=True)
async def predict(request: Request, run_id: str, body: PredictRequest) -> dict[str, Any]:
    """Inference on the trained model (ONNX Runtime); inputs named by Input id, raw (unstandardized) values."""
    run = run_dir(request, run_id)
    try:
        model = await run_in_threadpool(predictor, run)
        return await run_in_threadpool(model.predict, body.inputs)
    except PredictError as e:
        raise HTTPException(422, str(e)) from e
    except ExportError as e:
        raise HTTPException(422, {"message": str(e), "node": e.node}) from e
