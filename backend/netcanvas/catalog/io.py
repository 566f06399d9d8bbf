"""Graph inputs and outputs."""

from __future__ import annotations

from pydantic import Field, field_validator
from torch import nn

from .registry import DType, Inputs, Layer, Port, ShapeError, layer


@layer("io", inputs=())
class Input(Layer):
    """A model input. `shape` excludes the batch axis (`[1, 28, 28]` is one image);
    `null` marks a dynamic axis such as a sequence length. Use `int64` for token ids."""

    shape: list[int | None] = Field(default=[4], description="Shape of one sample, without the batch axis; "
                                    "null marks a dynamic axis", min_length=1, max_length=6)
    dtype: DType = Field(default="float32", description="Element type: float32 for features, int64 for ids")

    @field_validator("shape")
    @classmethod
    def _positive(cls, shape: list[int | None]) -> list[int | None]:
        if any(s is not None and s < 1 for s in shape):
            raise ValueError("every axis must be a positive size or null")
        return shape

    def build(self, inputs: Inputs) -> nn.Module:
        raise ShapeError("Input nodes have no module")


@layer("io", inputs=(Port("in"),), outputs=())
class Output(Layer):
    """A model output. Its `name` (or the node id) names it in losses, metrics,
    datasets, exports and predictions."""

    name: str | None = Field(default=None, description="Name of this output; defaults to the node id",
                             max_length=100)

    def build(self, inputs: Inputs) -> nn.Module:
        raise ShapeError("Output nodes have no module")
