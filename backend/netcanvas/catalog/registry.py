"""The layer registry: every layer type is one decorated pydantic params class.

A layer class declares its params as pydantic fields (with descriptions and bounds),
its doc string, its UI category, its input and output ports, and a ``build`` method
that receives the inferred input shapes and returns an ``nn.Module``. Everything else
(the catalog API, the inspector forms, shape inference, the compiler, the tests) is
generated from this registry.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict
from torch import nn

Shape = tuple[int | None, ...]
"""A tensor shape without the batch axis; ``None`` is a dynamic axis."""

DType = Literal["float32", "int64"]


class ShapeError(ValueError):
    """A human-readable problem with a layer's inputs, raised by ``build``."""


@dataclass(frozen=True)
class Port:
    name: str
    variadic: bool = False
    optional: bool = False
    doc: str = ""


@dataclass(frozen=True)
class TensorSpec:
    """What flows along an edge: a shape without batch axis, and a dtype."""

    shape: Shape
    dtype: DType = "float32"


class Inputs:
    """The inferred input specs of one node, by port name (variadic ports hold several)."""

    def __init__(self, node_type: str, specs: dict[str, list[TensorSpec]],
                 used_outputs: frozenset[str] = frozenset()):
        self.node_type = node_type
        self.specs = specs
        self.used_outputs = used_outputs
        """Output ports that feed other nodes (MultiheadAttention skips its weights when unused)."""

    def has(self, port: str) -> bool:
        return bool(self.specs.get(port))

    def spec(self, port: str = "in") -> TensorSpec:
        return self.specs[port][0]

    def shape(self, port: str = "in") -> Shape:
        return self.spec(port).shape

    def shapes(self, port: str = "in") -> list[Shape]:
        return [s.shape for s in self.specs.get(port, [])]

    def dim(self, axis: int, what: str, port: str = "in") -> int:
        """A known size of one axis, e.g. ``in_features = inputs.dim(-1, "features")``."""
        shape = self.shape(port)
        size = shape[axis]
        if size is None:
            raise ShapeError(
                f"needs a fixed number of {what} (axis {axis % len(shape) + 1} of the input), "
                "but that axis is dynamic"
            )
        return size

    def rank(self, expected: int | Sequence[int], layout: str, port: str = "in") -> Shape:
        """Check the input rank (batch axis excluded) and return its shape."""
        shape = self.shape(port)
        allowed = (expected,) if isinstance(expected, int) else tuple(expected)
        if len(shape) not in allowed:
            got = fmt_shape(shape)
            raise ShapeError(f"expects input of shape {layout}, got {got}")
        return shape


def fmt_shape(shape: Sequence[int | None]) -> str:
    """``[1, 28, 28]``; a dynamic axis reads ``?``."""
    return "[" + ", ".join("?" if s is None else str(s) for s in shape) + "]"


class Layer(BaseModel):
    """Base class of every layer's params. Subclasses are registered with ``@layer``."""

    model_config = ConfigDict(extra="forbid")

    type_name: ClassVar[str]
    category: ClassVar[str]
    accepts: ClassVar[tuple[DType, ...]] = ("float32",)
    """Element types the inputs may have."""
    keeps_dtype: ClassVar[bool] = False
    """True for layers that only move data around: the output has the input's dtype."""
    shape_preserving: ClassVar[bool] = False
    """True for parameterless layers whose ``build`` checks nothing and whose output has the input's shape."""
    inputs: ClassVar[tuple[Port, ...]]
    outputs: ClassVar[tuple[Port, ...]]

    def build(self, inputs: Inputs) -> nn.Module:
        raise ShapeError(f"{self.type_name} cannot be built")

    def output_specs(self, inputs: Inputs, module: nn.Module) -> list[TensorSpec] | None:
        """Output specs computed without running the module, or None to run it.

        Layers whose forward cost grows with an input size (RNNs over long sequences)
        answer here so shape inference stays cheap.
        """
        return None

    def closed_form(self, inputs: Inputs) -> tuple[list[Shape], int] | None:
        """The output shapes and the parameter count without building the module (shape inference builds and runs
        it otherwise: most of a cold validation's time), or None where there is no closed form for these inputs.

        Raises the ShapeErrors ``build`` would raise. tests/catalog/test_closed_form.py compares every rule with the
        module ``build`` really makes, for random params and input shapes."""
        if self.shape_preserving and self.inputs == IN:
            return [inputs.shape()], 0
        return None

    def output_dtype(self, inputs: Inputs) -> DType:
        if self.keeps_dtype and inputs.specs:
            return next(iter(inputs.specs.values()))[0].dtype
        return "float32"


@dataclass(frozen=True)
class LayerSpec:
    type_name: str
    category: str
    doc: str
    params: type[Layer]
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]

    def catalog_entry(self) -> dict[str, Any]:
        return {
            "type": self.type_name,
            "category": self.category,
            "doc": self.doc,
            "params_schema": self.params.model_json_schema(),
            "inputs": [port_entry(p) for p in self.inputs],
            "outputs": [port_entry(p) for p in self.outputs],
        }


def port_entry(port: Port) -> dict[str, Any]:
    return {"name": port.name, "variadic": port.variadic, "optional": port.optional, "doc": port.doc}


REGISTRY: dict[str, LayerSpec] = {}

IN = (Port("in"),)
OUT = (Port("out"),)


def layer(
    category: str,
    inputs: tuple[Port, ...] = IN,
    outputs: tuple[Port, ...] = OUT,
    name: str | None = None,
) -> Callable[[type[Layer]], type[Layer]]:
    """Register a layer params class under its class name (or ``name``)."""

    def register(cls: type[Layer]) -> type[Layer]:
        type_name = name or cls.__name__
        if type_name in REGISTRY:
            raise ValueError(f"layer type {type_name!r} registered twice")
        doc = inspect.cleandoc(cls.__doc__ or "")
        if not doc:
            raise ValueError(f"layer type {type_name!r} needs a doc string")
        cls.type_name = type_name
        cls.category = category
        cls.inputs = inputs
        cls.outputs = outputs
        cls.model_config["title"] = type_name
        cls.model_rebuild(force=True)
        REGISTRY[type_name] = LayerSpec(type_name, category, doc, cls, inputs, outputs)
        return cls

    return register
