"""Capsule networks (Sabour, Frosst & Hinton, 2017): primary capsules, routing by agreement, capsule lengths."""

from __future__ import annotations

from pydantic import Field
from torch import nn

from . import modules
from .conv import sliding_output
from .registry import Inputs, Layer, ShapeError, TensorSpec, layer

MAX_ROUTING_WEIGHTS = 50_000_000
"""Most weights one RoutingCapsules layer may have (one matrix per input and output capsule pair)."""


@layer("capsule")
class PrimaryCapsules(Layer):
    """Primary capsules: a convolution over an image [channels, height, width] whose output channels are
    grouped into `capsules` capsule types of `capsule_dim` values at each position, each vector squashed
    to a length below 1. Output [capsules × out height × out width, capsule_dim]."""

    capsules: int = Field(default=8, ge=1, le=1024, description="Capsule types (each a group of channels)")
    capsule_dim: int = Field(default=8, ge=1, le=256, description="Values per capsule vector")
    kernel_size: int = Field(default=3, ge=1, le=64, description="Convolution window size")
    stride: int = Field(default=2, ge=1, le=64, description="Step of the convolution window")

    def build(self, inputs: Inputs) -> nn.Module:
        shape = inputs.rank(3, "[channels, height, width]")
        sliding_output(shape[1:], (self.kernel_size,) * 2, (self.stride,) * 2, (0, 0), (1, 1))
        return modules.PrimaryCapsules(inputs.dim(0, "input channels"), self.capsules, self.capsule_dim,
                                       self.kernel_size, self.stride)

    def output_specs(self, inputs: Inputs, module: nn.Module) -> list[TensorSpec]:
        height, width = sliding_output(inputs.shape()[1:], (self.kernel_size,) * 2, (self.stride,) * 2,
                                       (0, 0), (1, 1))
        count = None if height is None or width is None else self.capsules * height * width
        return [TensorSpec((count, self.capsule_dim))]


@layer("capsule")
class RoutingCapsules(Layer):
    """A capsule layer with dynamic routing: every input capsule [in capsules, in dim] predicts every
    output capsule through its own weight matrix, and `routing_iterations` rounds of routing by
    agreement decide how much each prediction counts. Output [capsules, capsule_dim], squashed.
    The iterations are a fixed loop, so the layer exports to ONNX. The number of input capsules must be fixed."""

    capsules: int = Field(default=10, ge=1, le=1024, description="Output capsules (one per class in a classifier)")
    capsule_dim: int = Field(default=16, ge=1, le=256, description="Values per output capsule vector")
    routing_iterations: int = Field(default=3, ge=1, le=10, description="Rounds of routing by agreement")

    def build(self, inputs: Inputs) -> nn.Module:
        inputs.rank(2, "[capsules, capsule_dim]")
        in_capsules = inputs.dim(0, "input capsules")
        in_dim = inputs.dim(1, "values per input capsule")
        weights = in_capsules * self.capsules * self.capsule_dim * in_dim
        if weights > MAX_ROUTING_WEIGHTS:
            raise ShapeError(f"{in_capsules} input capsules of {in_dim} values to {self.capsules} capsules of "
                             f"{self.capsule_dim} would need {weights:,} weights, more than {MAX_ROUTING_WEIGHTS:,}; "
                             "use fewer or smaller capsules")
        return modules.RoutingCapsules(in_capsules, in_dim, self.capsules, self.capsule_dim, self.routing_iterations)

    def output_specs(self, inputs: Inputs, module: nn.Module) -> list[TensorSpec]:
        return [TensorSpec((self.capsules, self.capsule_dim))]


@layer("capsule")
class CapsuleLength(Layer):
    """The length of each capsule vector: [capsules, dim] -> [capsules], each in [0, 1) after squashing.
    In a capsule classifier the lengths are the class scores (the longest capsule is the prediction);
    train them with a classification loss on the lengths."""

    def build(self, inputs: Inputs) -> nn.Module:
        inputs.rank(2, "[capsules, capsule_dim]")
        return modules.CapsuleLength()
