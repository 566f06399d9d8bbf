"""GET /api/catalog: everything the frontend generates its palette and forms from."""

from __future__ import annotations

from dataclasses import asdict
from functools import lru_cache
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..catalog import catalog_layers
from .deps import SettingsDep

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
    tokens: dict[str, list[list[str]]] | None = Field(default=None, description="Token-id inputs: the samples' ids "
                                                      "as their words (padding left out)")


class DeviceEntry(BaseModel):
    """A device this server can train on (a run config's ``device``)."""

    name: str = Field(description="What a config names: cpu, cuda:0, mps")
    description: str = Field(description="The processor or GPU model")
    precisions: list[str] = Field(description="The precisions it trains in")
    memory_bytes: int | None = Field(description="An accelerator's memory; null for the CPU")
    auto: bool = Field(description="Whether device auto picks it")


class Catalog(BaseModel):
    layers: list[LayerInfo]
    optimizers: list[OptionInfo]
    schedules: list[OptionInfo]
    losses: list[LossInfo]
    metrics: list[MetricInfo]
    config_schema: dict[str, Any]
    datasets: list[DatasetInfo]
    devices: list[DeviceEntry]
    executor: Literal["local", "ray"] = Field(description="Where this server's runs train (NETCANVAS_EXECUTOR): "
                                                          "local worker processes, or Ray, which alone accepts a "
                                                          "config's data-parallel `workers` above 1")


@router.get("/catalog", response_model=Catalog)
def get_catalog(settings: SettingsDep) -> dict[str, Any]:
    """Layers (type, category, doc, params JSON Schema, ports), optimizers, schedules, losses, metrics, datasets,
    the devices this server trains on, and its executor."""
    return {**catalog(), "executor": settings.executor}


@lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    from .. import data, training

    return {"layers": catalog_layers(), **training.catalog_entries(), "datasets": data.catalog_entries(),
            "devices": device_entries()}


def device_entries() -> list[dict[str, Any]]:
    from ..training import devices

    auto = devices.device_label(devices.resolve("auto"))
    return [{**asdict(d), "auto": d.name == auto} for d in devices.available_devices()]
