"""Element-wise non-linearities (and Softmax over one axis)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from torch import nn

from .registry import Inputs, Layer, Shape, ShapeError, layer


def _check_dim(inputs: Inputs, dim: int) -> None:
    rank = len(inputs.shape()) + 1  # with the batch axis
    if not -rank <= dim < rank:
        raise ShapeError(f"dim {dim} is out of range for an input of rank {rank} (batch axis included)")


@layer("activation")
class ReLU(Layer):
    """Rectified linear unit: max(0, x)."""

    shape_preserving = True

    def build(self, inputs: Inputs) -> nn.Module:
        return nn.ReLU()


@layer("activation")
class ReLU6(Layer):
    """ReLU capped at 6: min(max(0, x), 6). Used in MobileNets."""

    shape_preserving = True

    def build(self, inputs: Inputs) -> nn.Module:
        return nn.ReLU6()


@layer("activation")
class LeakyReLU(Layer):
    """Leaky ReLU: x if x > 0 else negative_slope * x; keeps a small gradient for negative inputs."""

    shape_preserving = True

    negative_slope: float = Field(default=0.01, ge=0.0, le=1.0, description="Slope for negative inputs")

    def build(self, inputs: Inputs) -> nn.Module:
        return nn.LeakyReLU(self.negative_slope)


@layer("activation")
class Sigmoid(Layer):
    """Logistic sigmoid 1 / (1 + exp(-x)); squashes to (0, 1) for binary outputs."""

    shape_preserving = True

    def build(self, inputs: Inputs) -> nn.Module:
        return nn.Sigmoid()


@layer("activation")
class Tanh(Layer):
    """Hyperbolic tangent; squashes to (-1, 1)."""

    shape_preserving = True

    def build(self, inputs: Inputs) -> nn.Module:
        return nn.Tanh()


@layer("activation")
class Softmax(Layer):
    """Softmax over one axis: turns scores into probabilities that sum to 1."""

    dim: int = Field(default=-1, description="Axis to normalize (PyTorch numbering, batch axis is 0)")

    def build(self, inputs: Inputs) -> nn.Module:
        _check_dim(inputs, self.dim)
        return nn.Softmax(dim=self.dim)

    def closed_form(self, inputs: Inputs) -> tuple[list[Shape], int]:
        _check_dim(inputs, self.dim)
        return [inputs.shape()], 0


@layer("activation")
class LogSoftmax(Layer):
    """Logarithm of the softmax over one axis (numerically stable log-probabilities)."""

    dim: int = Field(default=-1, description="Axis to normalize (PyTorch numbering, batch axis is 0)")

    def build(self, inputs: Inputs) -> nn.Module:
        _check_dim(inputs, self.dim)
        return nn.LogSoftmax(dim=self.dim)

    def closed_form(self, inputs: Inputs) -> tuple[list[Shape], int]:
        _check_dim(inputs, self.dim)
        return [inputs.shape()], 0


@layer("activation")
class GELU(Layer):
    """Gaussian error linear unit, the Transformer activation."""

    shape_preserving = True

    approximate: Literal["none", "tanh"] = Field(
        default="none", description="'tanh' uses the faster tanh approximation")

    def build(self, inputs: Inputs) -> nn.Module:
        return nn.GELU(approximate=self.approximate)


@layer("activation")
class ELU(Layer):
    """Exponential linear unit: x if x > 0 else alpha * (exp(x) - 1)."""

    shape_preserving = True

    alpha: float = Field(default=1.0, gt=0.0, description="Scale of the negative part")

    def build(self, inputs: Inputs) -> nn.Module:
        return nn.ELU(self.alpha)


@layer("activation")
class SiLU(Layer):
    """Sigmoid linear unit (swish): x * sigmoid(x)."""

    shape_preserving = True

    def build(self, inputs: Inputs) -> nn.Module:
        return nn.SiLU()


@layer("activation")
class Hardswish(Layer):
    """Hard swish, the cheap swish of MobileNetV3: x * relu6(x + 3) / 6."""

    shape_preserving = True

    def build(self, inputs: Inputs) -> nn.Module:
        return nn.Hardswish()
