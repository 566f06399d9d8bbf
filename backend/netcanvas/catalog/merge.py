"""Merging several tensors: element-wise sums, products, averages and concatenation."""

from __future__ import annotations

from pydantic import Field
from torch import nn

from . import modules
from .registry import Inputs, Layer, Port, Shape, ShapeError, fmt_shape, layer

MANY = (Port("in", variadic=True, doc="two or more tensors of the same shape"),)


def same_shape_form(inputs: Inputs) -> tuple[list[Shape], int] | None:
    """An element-wise merge's output: its inputs' shape (None where a dynamic axis meets a fixed one: the module
    decides)."""
    same_shapes(inputs)
    shapes = inputs.shapes()
    return ([shapes[0]], 0) if all(shape == shapes[0] for shape in shapes) else None


def same_shapes(inputs: Inputs) -> None:
    shapes = inputs.shapes()
    if len(shapes) < 2:
        raise ShapeError(f"needs at least two inputs, got {len(shapes)}")
    first = shapes[0]
    for other in shapes[1:]:
        if len(other) != len(first) or any(
            a is not None and b is not None and a != b for a, b in zip(first, other, strict=False)
        ):
            raise ShapeError(f"input shapes {fmt_shape(first)} and {fmt_shape(other)} differ")


@layer("merge", inputs=MANY)
class Add(Layer):
    """Element-wise sum of its inputs (residual / skip connections). Shapes must be equal."""

    def build(self, inputs: Inputs) -> nn.Module:
        same_shapes(inputs)
        return modules.Add()

    def closed_form(self, inputs: Inputs) -> tuple[list[Shape], int] | None:
        return same_shape_form(inputs)


@layer("merge", inputs=MANY)
class Multiply(Layer):
    """Element-wise product of its inputs (gating). Shapes must be equal."""

    def build(self, inputs: Inputs) -> nn.Module:
        same_shapes(inputs)
        return modules.Multiply()

    def closed_form(self, inputs: Inputs) -> tuple[list[Shape], int] | None:
        return same_shape_form(inputs)


@layer("merge", inputs=MANY)
class Average(Layer):
    """Element-wise mean of its inputs (e.g. an ensemble of branches). Shapes must be equal."""

    def build(self, inputs: Inputs) -> nn.Module:
        same_shapes(inputs)
        return modules.Average()

    def closed_form(self, inputs: Inputs) -> tuple[list[Shape], int] | None:
        return same_shape_form(inputs)


@layer("merge", inputs=(Port("in", variadic=True, doc="tensors equal in every axis but dim"),))
class Concat(Layer):
    """Concatenates its inputs along one axis (PyTorch numbering: the batch axis is 0, so
    dim 1 is channels for images and features for vectors)."""

    dim: int = Field(default=1, description="Axis to join along (1 = first axis after the batch; -1 = last)")

    def build(self, inputs: Inputs) -> nn.Module:
        self._axis(inputs)
        return modules.Concat(self.dim)

    def closed_form(self, inputs: Inputs) -> tuple[list[Shape], int] | None:
        axis = self._axis(inputs)
        shapes = inputs.shapes()
        if any(shape[:axis] + shape[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:] for shape in shapes):
            return None  # a dynamic axis meets a fixed one: the module decides
        sizes = [shape[axis] for shape in shapes]
        joined = None if None in sizes else sum(s for s in sizes if s is not None)
        return [(*shapes[0][:axis], joined, *shapes[0][axis + 1:])], 0

    def _axis(self, inputs: Inputs) -> int:
        """The axis joined along, without the batch axis."""
        shapes = inputs.shapes()
        if len(shapes) < 2:
            raise ShapeError(f"needs at least two inputs, got {len(shapes)}")
        rank = len(shapes[0]) + 1
        if not -rank <= self.dim < rank or self.dim % rank == 0:
            raise ShapeError(f"dim {self.dim} must name a non-batch axis of inputs of rank {rank}")
        axis = self.dim % rank - 1
        for other in shapes[1:]:
            if len(other) != len(shapes[0]) or any(
                i != axis and a is not None and b is not None and a != b
                for i, (a, b) in enumerate(zip(shapes[0], other, strict=False))
            ):
                raise ShapeError(
                    f"input shapes {fmt_shape(shapes[0])} and {fmt_shape(other)} differ outside dim {self.dim}"
                )
        return axis
