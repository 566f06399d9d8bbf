"""The layer catalog: importing this package registers every layer type."""

from . import activation, attention, capsule, conv, core, io, merge, norm, pooling, recurrent  # noqa: F401
from .registry import REGISTRY, Inputs, Layer, LayerSpec, Port, Shape, ShapeError, TensorSpec, fmt_shape

CATEGORIES = ("io", "core", "convolution", "pooling", "normalization", "recurrent", "attention",
              "capsule", "activation", "merge")


def catalog_layers() -> list[dict[str, object]]:
    """Every layer type with its params JSON Schema, doc, category and ports."""
    order = {c: i for i, c in enumerate(CATEGORIES)}
    specs = sorted(REGISTRY.values(), key=lambda s: order.get(s.category, len(order)))
    return [spec.catalog_entry() for spec in specs]


__all__ = ["REGISTRY", "CATEGORIES", "Inputs", "Layer", "LayerSpec", "Port", "Shape", "ShapeError",
           "TensorSpec", "catalog_layers", "fmt_shape"]
