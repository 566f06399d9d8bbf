"""Insight into a trained run: its evaluation per Output, its samples, and explanations of single predictions.

The model runs in the thread pool (never on the event loop). Explanations that take seconds (integrated
gradients, KernelSHAP, LIME) can run as background jobs with progress and a cancel: ``"background": true``.
See docs/evaluation.md.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..data.uploads import DatasetStore
from ..insight.evaluation import Part, evaluate_run
from ..insight.explain import DEFAULT_SAMPLES, DEFAULT_STEPS, Method
from ..insight.explain import Request as ExplainWork
from ..insight.explain import explain as explain_sample
from ..insight.jobs import Job, JobStatus
from ..insight.rundata import InsightError, RunData, SplitName, run_data
from ..settings import Settings
from ..training.tensorboard import LOG_DIR
from .deps import DatasetStoreDep, ExplainJobsDep, SettingsDep
from .export import run_dir
from .limits import SafeJSONRoute, error_responses

router = APIRouter(prefix="/api/runs", tags=["insight"], route_class=SafeJSONRoute)
MAX_SAMPLES_PER_REQUEST = 64
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The run's dataset cannot be read again (an upload was deleted)"}}


# ---- answers ---------------------------------------------------------------------------------------------------------


class ConfusionMatrix(BaseModel):
    counts: list[list[int]] = Field(description="[true class][predicted class] sample counts")
    normalized: list[list[float]] = Field(description="Counts divided by the true class's total (rows sum to 1)")
    samples: list[list[list[int]]] = Field(description="[true][predicted] indices into the split's samples, most "
                                                       "confident first, at most samples_cap per cell")
    samples_cap: int


class ClassScores(BaseModel):
    class_: str = Field(alias="class")
    precision: float
    recall: float
    f1: float
    support: int


class RocCurve(BaseModel):
    fpr: list[float]
    tpr: list[float]
    auc: float | None = Field(description="Area under the ROC curve, one class against the rest")
    note: str | None = None


class PrCurve(BaseModel):
    recall: list[float]
    precision: list[float]
    auc: float | None = Field(description="Area under the precision-recall curve (trapezoids)")
    average_precision: float | None
    note: str | None = None


class LabelProbability(BaseModel):
    label: str
    probability: float


class WorstSample(BaseModel):
    index: int = Field(description="Index into the split's samples")
    true: str | list[float]
    predicted: str | list[float]
    true_probability: float | None = Field(default=None, description="Classification: the true class's probability")
    probabilities: list[LabelProbability] | None = None
    error: float | None = Field(default=None, description="Regression: the mean absolute error of the sample")


class Scatter(BaseModel):
    true: list[float]
    predicted: list[float]


class Residuals(BaseModel):
    counts: list[int]
    edges: list[float]
    mean: float
    std: float


class OutputEvaluation(BaseModel):
    output: str
    loss: str
    task: Literal["classification", "regression"]
    samples: int
    accuracy: float | None = None
    macro_f1: float | None = None
    classes: list[str] | None = None
    confusion_matrix: ConfusionMatrix | None = None
    per_class: list[ClassScores] | None = None
    roc: dict[str, RocCurve] | None = None
    pr: dict[str, PrCurve] | None = None
    mae: float | None = None
    rmse: float | None = None
    r2: float | None = None
    scatter: Scatter | None = None
    residuals: Residuals | None = None
    worst: list[WorstSample] | None = None


class Evaluation(BaseModel):
    split: SplitName
    outputs: dict[str, OutputEvaluation]


class SampleView(BaseModel):
    kind: Literal["image", "table", "text", "array"]
    values: Any = Field(default=None, description="image: [channels, height, width] or [height, width]; table: one "
                                                  "value per feature (raw, before standardization); array: numbers")
    features: list[str] | None = Field(default=None, description="table: the column names")
    tokens: list[str] | None = Field(default=None, description="text: one string per token id")
    ids: list[int] | None = None


class Sample(BaseModel):
    index: int
    inputs: dict[str, SampleView]
    targets: dict[str, str | list[float]] = Field(description="Per Output: the class name, or the target values")


class Samples(BaseModel):
    split: SplitName
    size: int = Field(description="Samples in the split")
    samples: list[Sample]


class ExplainBody(BaseModel):
    method: Method
    sample: int | None = Field(default=None, description="An index into the split's samples")
    inputs: dict[str, Any] | None = Field(default=None, description="Or one sample typed in: per Input, the values "
                                                                    "as predict takes them")
    split: SplitName = "test"
    output: str | None = Field(default=None, description="Default: the first Output")
    target: int | None = Field(default=None, description="The class (or output element) to explain; default: the "
                                                         "predicted class")
    n_samples: int = Field(default=DEFAULT_SAMPLES, ge=10, le=5000, description="shap and lime: model evaluations")
    steps: int = Field(default=DEFAULT_STEPS, ge=2, le=512, description="integrated_gradients: integration steps")
    background: bool = Field(default=False, description="Answer 202 with a job at once (progress, cancel) instead "
                                                        "of waiting for the result")


class Prediction(BaseModel):
    class_: int | None = Field(default=None, alias="class")
    label: str | None = None
    probability: float | None = None
    index: int | None = None
    value: float | None = None


class AttentionMap(BaseModel):
    node: str
    type: str
    part: str = Field(description="self-attention, cross-attention or attention")
    heads: list[list[list[float]]] = Field(description="[head][query][key] weights")
    mean: list[list[float]] = Field(description="[query][key], averaged over heads")
    queries: int
    keys: int


class Explanation(BaseModel):
    method: Method
    output: str
    split: SplitName
    sample: int | None
    target: int | None = None
    target_label: str | None = None
    prediction: list[Prediction]
    inputs: dict[str, SampleView] = Field(description="The explained sample, drawn as the samples endpoint does")
    attributions: dict[str, Any] = Field(description="Per Input id an array shaped like the input (attention: per "
                                                     "attention node, its [query][key] map)")
    attention: list[AttentionMap] | None = None
    seconds: float


class ExplainJob(BaseModel):
    id: str
    run_id: str
    method: str
    status: JobStatus
    progress: float = Field(description="0 to 1")
    result: Explanation | None = None
    error: str | None = None
    field: str | None = Field(default=None, description="The request field at fault, when the job failed on it")


# ---- helpers -----------------------------------------------------------------------------------------------------


def bad(e: InsightError, where: str) -> HTTPException:
    """An InsightError as the HTTP answer: 422 shaped like FastAPI's own, naming the field."""
    if e.status != 422:
        return HTTPException(e.status, str(e))
    loc = [where, *(e.field or "").split(".")] if e.field else [where]
    return HTTPException(422, [{"loc": loc, "msg": str(e), "type": "insight", "node": None}])


def load(settings: Settings, datasets: DatasetStore, run_id: str) -> RunData:
    return run_data(run_dir(settings, run_id), datasets)


# ---- routes ------------------------------------------------------------------------------------------------------


@router.get("/{run_id}/evaluation", response_model=Evaluation, response_model_exclude_none=True,
            responses={**error_responses(404, 422), **CONFLICT})
async def evaluation(settings: SettingsDep, datasets: DatasetStoreDep, run_id: str, split: SplitName = "test",
                     output: str | None = Query(default=None, description="One Output by name (default: all)"),
                     include: str | None = Query(default=None, description="Comma-separated parts (default: all "
                                                 "that apply): confusion_matrix, per_class, roc, pr, worst, "
                                                 "scatter, residuals")) -> Any:
    """The run's best weights evaluated per Output on the test (or validation) split: classification outputs get
    the confusion matrix, per-class precision/recall/F1/support, one-vs-rest ROC and precision-recall curves with
    their AUC and the worst-classified samples; regression outputs MAE, RMSE, R², a predicted-vs-true scatter and
    a residual histogram."""
    parts: list[Part] = []
    allowed = ("confusion_matrix", "per_class", "roc", "pr", "worst", "scatter", "residuals")
    for part in (include or "").split(","):
        if not part.strip():
            continue
        if part.strip() not in allowed:
            raise HTTPException(422, [{"loc": ["query", "include"], "type": "insight", "node": None,
                                       "msg": f"unknown part '{part.strip()[:50]}'; parts: {', '.join(allowed)}"}])
        parts.append(part.strip())  # type: ignore[arg-type]

    def work() -> dict[str, Any]:
        rd = load(settings, datasets, run_id)
        with rd.lock:
            return evaluate_run(rd, split, output, parts or None)

    try:
        return await run_in_threadpool(work)
    except InsightError as e:
        raise bad(e, "query") from None


@router.get("/{run_id}/samples", response_model=Samples, response_model_exclude_none=True,
            responses={**error_responses(404, 422), **CONFLICT})
async def samples(settings: SettingsDep, datasets: DatasetStoreDep, run_id: str, split: SplitName = "test",
                  indices: str = Query(description=f"Comma-separated sample indices (at most "
                                                   f"{MAX_SAMPLES_PER_REQUEST})", max_length=2000)) -> Any:
    """Samples of a split drawn for people: images, table rows named by column (raw values), tokens as words;
    with their targets."""
    try:
        wanted = [int(i) for i in indices.split(",") if i.strip()]
    except ValueError:
        raise HTTPException(422, [{"loc": ["query", "indices"], "type": "insight", "node": None,
                                   "msg": "indices must be whole numbers separated by commas"}]) from None
    if not 1 <= len(wanted) <= MAX_SAMPLES_PER_REQUEST:
        raise HTTPException(422, [{"loc": ["query", "indices"], "type": "insight", "node": None,
                                   "msg": f"give 1 to {MAX_SAMPLES_PER_REQUEST} indices"}])

    def work() -> dict[str, Any]:
        rd = load(settings, datasets, run_id)
        data = rd.split(split)
        size = len(next(iter(data.values())))
        outside = [i for i in wanted if not 0 <= i < size]
        if outside:
            raise InsightError(f"sample {outside[0]} is out of range: the {split} split has {size} samples "
                               f"(0–{size - 1})", "indices")
        found = []
        for i in wanted:
            inputs = {n: rd.view(n, data[rd.data.binding.inputs[n]][i]) for n in rd.compiled.input_names}
            targets: dict[str, str | list[float]] = {}
            for out, field_name in rd.data.binding.targets.items():
                value = data[field_name][i]
                labels = rd.data.preprocessing.classes.get(out)
                if labels and value.numel() == 1 and not value.is_floating_point():
                    targets[out] = labels[int(value)] if int(value) < len(labels) else str(int(value))
                else:
                    targets[out] = [float(v) for v in value.reshape(-1)[:64]]
            found.append({"index": i, "inputs": inputs, "targets": targets})
        return {"split": split, "size": size, "samples": found}

    try:
        return await run_in_threadpool(work)
    except InsightError as e:
        raise bad(e, "query") from None


@router.post("/{run_id}/explain", response_model=Explanation, response_model_exclude_none=True,
             responses={**error_responses(404, 413, 422), **CONFLICT,
                        202: {"model": ExplainJob, "description": "background: the job, to follow with GET"}})
async def explain(settings: SettingsDep, datasets: DatasetStoreDep, jobs: ExplainJobsDep, run_id: str,
                  body: ExplainBody) -> Any:
    """Attributions of one sample (an index into the test or validation split, or typed inputs) to one Output's
    class or value: `saliency`, `integrated_gradients`, `shap` (KernelSHAP) or `lime`, one array per Input shaped
    like it; or `attention`: the [query][key] weights of every attention layer. With `"background": true` the
    answer is a 202 job to follow with GET .../explain/{job} and cancel with DELETE."""
    work_request = ExplainWork(method=body.method, sample=body.sample, inputs=body.inputs, split=body.split,
                               output=body.output, target=body.target, n_samples=body.n_samples, steps=body.steps)
    rd = await run_in_threadpool(_load_checked, settings, datasets, run_id)

    def work(report: Any = lambda f: None, should_stop: Any = lambda: False) -> dict[str, Any]:
        with rd.lock:
            return explain_sample(rd, work_request, report, should_stop)

    if body.background:
        return _job_answer(jobs.submit(run_id, body.method, work))
    try:
        return await run_in_threadpool(work)
    except InsightError as e:
        raise bad(e, "body") from None


def _load_checked(settings: Settings, datasets: DatasetStore, run_id: str) -> RunData:
    try:
        return load(settings, datasets, run_id)
    except InsightError as e:
        raise bad(e, "body") from None


def _job_answer(job: Job) -> JSONResponse:
    answer = ExplainJob.model_validate(job.summary())
    return JSONResponse(answer.model_dump(mode="json", by_alias=True, exclude_none=True), status_code=202)


@router.get("/{run_id}/explain/{job_id}", response_model=ExplainJob, response_model_exclude_none=True,
            responses=error_responses(404))
def explain_job(jobs: ExplainJobsDep, run_id: str, job_id: str) -> Any:
    """A background explanation: its status and progress, then its result (or the error, naming the field)."""
    job = jobs.get(run_id, job_id)
    if job is None:
        raise HTTPException(404, f"no explanation job '{job_id[:40]}' for run '{run_id[:64]}'")
    return ExplainJob.model_validate(job.summary())


@router.delete("/{run_id}/explain/{job_id}", response_model=ExplainJob, response_model_exclude_none=True,
               responses=error_responses(404))
def cancel_explain_job(jobs: ExplainJobsDep, run_id: str, job_id: str) -> Any:
    """Cancel a background explanation; it stops before its next model evaluation."""
    job = jobs.cancel(run_id, job_id)
    if job is None:
        raise HTTPException(404, f"no explanation job '{job_id[:40]}' for run '{run_id[:64]}'")
    return ExplainJob.model_validate(job.summary())



def _zip_logs(folder: Path, run_id: str) -> bytes:
    """The event files under ``folder`` in a zip, inside a folder named after the run (several unzip side by side)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, f"{run_id}/{file.relative_to(folder).as_posix()}")
    return buffer.getvalue()


@router.get("/{run_id}/tensorboard", response_class=Response,
            responses={200: {"content": {"application/zip": {}}}, **error_responses(404)})
async def tensorboard_logs(settings: SettingsDep, run_id: str) -> Response:
    """The run's TensorBoard event files as a zip (`<run id>/events.out.tfevents...`): unzip and run
    `tensorboard --logdir .`. A run that was trained with `"tensorboard": false` has none (404)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", run_id):
        raise HTTPException(404, f"no run '{run_id}'")
    folder = settings.data_dir / "runs" / run_id / LOG_DIR
    if not folder.is_dir():
        raise HTTPException(404, f"run '{run_id}' has no TensorBoard logs (no such run, it has not started, or it "
                                 "was trained with \"tensorboard\": false)")
    content = await run_in_threadpool(_zip_logs, folder, run_id)
    return Response(content, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{run_id}-tensorboard.zip"'})
