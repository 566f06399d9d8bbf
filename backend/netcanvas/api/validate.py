"""POST /api/graphs/validate: shapes, parameter counts and node-named errors."""

from __future__ import annotations

import logging
import threading
from typing import Any

from fastapi import APIRouter, Body

from ..graph import Problem
from ..shapes import ValidationReport, validate_graph

router = APIRouter(prefix="/api", tags=["graphs"])
log = logging.getLogger(__name__)
_lock = threading.Lock()  # the per-node shape cache is shared


@router.post("/graphs/validate", response_model=ValidationReport)
def validate(graph: dict[str, Any] = Body(..., description="A graph JSON object (SPEC §1)")) -> ValidationReport:
    """Any JSON object gets a 200 answer; what is wrong is in `errors`, each naming its node."""
    with _lock:
        try:
            return validate_graph(graph)
        except Exception as e:  # a bug of ours must still not become a 500 for the canvas
            log.exception("validation crashed")
            return ValidationReport(valid=False, nodes={}, edges=[], total_params=0, warnings=[],
                                    errors=[Problem(message=f"internal error while validating: {e}")])
