"""GET /api/catalog: everything the frontend generates its palette and forms from."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import APIRouter

from ..catalog import catalog_layers

router = APIRouter(prefix="/api", tags=["catalog"])


@router.get("/catalog")
def get_catalog() -> dict[str, Any]:
    """Layers (type, category, doc, params JSON Schema, ports), optimizers, losses, metrics, datasets."""
    return catalog()


@lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    from .. import data, training

    return {"layers": catalog_layers(), **training.catalog_entries(), "datasets": data.catalog_entries()}
