"""Explanations that take seconds run here, off the request thread: one at a time (the machine has few cores),
each with its progress, its result or error, and a cancel flag the work checks between forward passes."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from .explain import Cancelled
from .rundata import InsightError

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
Work = Callable[[Callable[[float], None], Callable[[], bool]], dict[str, Any]]
"""work(report_progress, should_stop) -> result"""
KEPT = 32


@dataclass
class Job:
    id: str
    run_id: str
    method: str
    status: JobStatus = "queued"
    progress: float = 0.0
    result: dict[str, Any] | None = None
    error: str | None = None
    field: str | None = None
    cancel: threading.Event = dataclasses.field(default_factory=threading.Event)

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "run_id": self.run_id, "method": self.method, "status": self.status,
                "progress": self.progress, "result": self.result, "error": self.error, "field": self.field}


class Jobs:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explain")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, run_id: str, method: str, work: Work) -> Job:
        job = Job(uuid.uuid4().hex[:16], run_id, method)
        with self._lock:
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.status in ("done", "failed", "cancelled")]
            for old in finished[:max(0, len(self._jobs) - KEPT)]:
                del self._jobs[old.id]
        self._executor.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Work) -> None:
        if job.cancel.is_set():
            job.status = "cancelled"
            return
        job.status = "running"

        def report(fraction: float) -> None:
            job.progress = fraction

        try:
            job.result = work(report, job.cancel.is_set)
        except Cancelled:
            job.status = "cancelled"
            return
        except InsightError as e:
            job.status, job.error, job.field = "failed", str(e), e.field
            return
        except Exception as e:  # the model failed on this sample: the job says so, the server goes on
            job.status, job.error = "failed", f"the explanation failed: {type(e).__name__}: {e}"[:500]
            return
        job.progress, job.status = 1.0, "done"

    def get(self, run_id: str, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.run_id == run_id else None

    def cancel(self, run_id: str, job_id: str) -> Job | None:
        job = self.get(run_id, job_id)
        if job is not None and job.status in ("queued", "running"):
            job.cancel.set()
            if job.status == "queued":
                job.status = "cancelled"
        return job

    def close(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                job.cancel.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
