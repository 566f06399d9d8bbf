"""GET /api/templates: ready graphs with their dataset and training config."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from ..graph import Graph
from ..templates import list_templates

router = APIRouter(prefix="/api", tags=["templates"])


class DatasetRef(BaseModel):
    name: str


class Template(BaseModel):
    id: str
    name: str
    family: str
    description: str
    graph: Graph
    dataset: DatasetRef
    config: dict[str, Any]


@router.get("/templates", response_model=list[Template])
def templates() -> list[dict[str, Any]]:
    """One template per model family: MLP, CNN, ResNet, Inception, MobileNet, LSTM, GRU, Transformer, multi-I/O,
    autoencoder."""
    return list_templates()
