"""Normalization layers. Weight normalization is the `weight_norm` flag of Linear and Conv layers."""

from __future__ import annotations

from pydantic import Field
from torch import nn

from .registry import Inputs, Layer, Shape, ShapeError, layer

EPS = "Added to the variance for numerical stability"
MOMENTUM = "Weight of the current batch in the running mean and variance"


@layer("normalization")
class BatchNorm1d(Layer):
    """Batch normalization of [features] or [channels, length] inputs: normalizes each
    feature over the batch, then scales and shifts it."""

    eps: float = Field(default=1e-5, gt=0.0, le=1.0, description=EPS)
    momentum: float = Field(default=0.1, ge=0.0, le=1.0, description=MOMENTUM)
    affine: bool = Field(default=True, description="Learn a scale and a shift per feature")

    def build(self, inputs: Inputs) -> nn.Module:
        inputs.rank((1, 2), "[features] or [channels, length]")
        return nn.BatchNorm1d(inputs.dim(0, "features"), self.eps, self.momentum, self.affine)

    def closed_form(self, inputs: Inputs) -> tuple[list[Shape], int]:
        inputs.rank((1, 2), "[features] or [channels, length]")
        features = inputs.dim(0, "features")
        return [inputs.shape()], 2 * features if self.affine else 0


@layer("normalization")
class BatchNorm2d(Layer):
    """Batch normalization of [channels, height, width] images, per channel over the batch."""

    eps: float = Field(default=1e-5, gt=0.0, le=1.0, description=EPS)
    momentum: float = Field(default=0.1, ge=0.0, le=1.0, description=MOMENTUM)
    affine: bool = Field(default=True, description="Learn a scale and a shift per channel")

    def build(self, inputs: Inputs) -> nn.Module:
        inputs.rank(3, "[channels, height, width]")
        return nn.BatchNorm2d(inputs.dim(0, "channels"), self.eps, self.momentum, self.affine)

    def closed_form(self, inputs: Inputs) -> tuple[list[Shape], int]:
        inputs.rank(3, "[channels, height, width]")
        channels = inputs.dim(0, "channels")
        return [inputs.shape()], 2 * channels if self.affine else 0


@layer("normalization")
class LayerNorm(Layer):
    """Layer normalization over the last axis of each sample (independent of the batch),
    as in Transformers."""

    eps: float = Field(default=1e-5, gt=0.0, le=1.0, description=EPS)
    elementwise_affine: bool = Field(default=True, description="Learn a scale and a shift per feature")

    def build(self, inputs: Inputs) -> nn.Module:
        return nn.LayerNorm(inputs.dim(-1, "features"), self.eps, self.elementwise_affine)

    def closed_form(self, inputs: Inputs) -> tuple[list[Shape], int]:
        features = inputs.dim(-1, "features")
        return [inputs.shape()], 2 * features if self.elementwise_affine else 0


@layer("normalization")
class InstanceNorm2d(Layer):
    """Instance normalization: normalizes each channel of each image on its own (style transfer)."""

    eps: float = Field(default=1e-5, gt=0.0, le=1.0, description=EPS)
    momentum: float = Field(default=0.1, ge=0.0, le=1.0, description=MOMENTUM)
    affine: bool = Field(default=False, description="Learn a scale and a shift per channel")

    def build(self, inputs: Inputs) -> nn.Module:
        inputs.rank(3, "[channels, height, width]")
        return nn.InstanceNorm2d(inputs.dim(0, "channels"), self.eps, self.momentum, self.affine)


@layer("normalization")
class GroupNorm(Layer):
    """Group normalization: splits the channels into groups and normalizes each group per sample."""

    num_groups: int = Field(default=4, ge=1, le=100_000,
                            description="Number of channel groups (must divide the channels)")
    eps: float = Field(default=1e-5, gt=0.0, le=1.0, description=EPS)
    affine: bool = Field(default=True, description="Learn a scale and a shift per channel")

    def build(self, inputs: Inputs) -> nn.Module:
        inputs.rank(range(1, 6), "[channels, ...]")
        channels = inputs.dim(0, "channels")
        if channels % self.num_groups:
            raise ShapeError(f"num_groups {self.num_groups} must divide the {channels} input channels")
        return nn.GroupNorm(self.num_groups, channels, self.eps, self.affine)
