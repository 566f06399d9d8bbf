"""GET /api/catalog: everything the frontend generates its palette and forms from."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..catalog import catalog_layers

router = APIRouter(prefix="/api", tags=["catalog"])


class PortInfo(BaseModel):
    name: str
    variadic: bool
    optional: bool
    doc: str


class LayerInfo(BaseModel):
    type: str
    category: str
    doc: str
    params_schema: dict[str, Any]
    inputs: list[PortInfo]
    outputs: list[PortInfo]


class OptionInfo(BaseModel):
    """An optimizer or a learning-rate schedule, with its options' JSON Schema."""

    type: str
    doc: str
    params_schema: dict[str, Any]


class LossInfo(BaseModel):
    type: str
    doc: str
    aliases: list[str]


class MetricInfo(BaseModel):
    type: str
    doc: str
    direction: Literal["min", "max"] = Field(description="Whether a smaller or a larger value is better; "
                                                         "early stopping's mode auto follows it")


class FieldInfo(BaseModel):
    name: str
    shape: list[int]
    dtype: str
    role: str
    classes: list[str] | None
    doc: str


class DatasetInfo(BaseModel):
    name: str
    doc: str
    task: str
    size: int
    fields: list[FieldInfo]
    samples: dict[str, list[Any]]
    vocabulary_size: int | None


class Catalog(BaseModel):
    layers: list[LayerInfo]
    optimizers: list[OptionInfo]
    schedules: list[OptionInfo]
    losses: list[LossInfo]
    metrics: list[MetricInfo]
    config_schema: dict[str, Any]
    datasets: list[DatasetInfo]


@router.get("/catalog", response_model=Catalog)
def get_catalog() -> dict[str, Any]:
    """Layers (type, category, doc, params JSON Schema, ports), optimizers, schedules, losses, metrics, datasets."""
    return catalog()


@lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    from .. import data, training

    return {"layers": catalog_layers(), **training.catalog_entries(), "datasets": data.catalog_entries()}
