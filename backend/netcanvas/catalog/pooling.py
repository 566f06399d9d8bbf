"""Pooling: downsample sequences and images."""

from __future__ import annotations

from pydantic import Field
from torch import nn

from . import modules
from .conv import Size2, as_tuple, sliding_output
from .registry import Inputs, Layer, ShapeError, layer


class PoolBase(Layer):
    padding: int = Field(default=0, ge=0, description="Implicit padding on each side (at most half the kernel)")
    ceil_mode: bool = Field(default=False, description="Round the output size up instead of down")

    def _check(self, inputs: Inputs, n: int, kernel_size: Size2, stride: Size2 | None) -> None:
        layout = "[channels, length]" if n == 1 else "[channels, height, width]"
        shape = inputs.rank(n + 1, layout)
        kernel = as_tuple(kernel_size, n)
        if any(self.padding > k // 2 for k in kernel):
            raise ShapeError(f"padding {self.padding} must be at most half the kernel size {list(kernel)}")
        strides = as_tuple(stride if stride is not None else kernel_size, n)
        sliding_output(shape[1:], kernel, strides, (self.padding,) * n, (1,) * n, self.ceil_mode)


@layer("pooling")
class MaxPool1d(PoolBase):
    """Max over a sliding window of [channels, length] inputs."""

    kernel_size: int = Field(default=2, ge=1, description="Width of the window")
    stride: int | None = Field(default=None, ge=1, description="Step of the window; defaults to kernel_size")

    def build(self, inputs: Inputs) -> nn.Module:
        self._check(inputs, 1, self.kernel_size, self.stride)
        return nn.MaxPool1d(self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode)


@layer("pooling")
class AvgPool1d(PoolBase):
    """Average over a sliding window of [channels, length] inputs."""

    kernel_size: int = Field(default=2, ge=1, description="Width of the window")
    stride: int | None = Field(default=None, ge=1, description="Step of the window; defaults to kernel_size")

    def build(self, inputs: Inputs) -> nn.Module:
        self._check(inputs, 1, self.kernel_size, self.stride)
        return nn.AvgPool1d(self.kernel_size, self.stride or self.kernel_size, self.padding, ceil_mode=self.ceil_mode)


@layer("pooling")
class MaxPool2d(PoolBase):
    """Max over a sliding window of [channels, height, width] images."""

    kernel_size: Size2 = Field(default=2, description="Height and width of the window")
    stride: Size2 | None = Field(default=None, description="Step of the window; defaults to kernel_size")

    def build(self, inputs: Inputs) -> nn.Module:
        self._check(inputs, 2, self.kernel_size, self.stride)
        return nn.MaxPool2d(self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode)


@layer("pooling")
class AvgPool2d(PoolBase):
    """Average over a sliding window of [channels, height, width] images."""

    kernel_size: Size2 = Field(default=2, description="Height and width of the window")
    stride: Size2 | None = Field(default=None, description="Step of the window; defaults to kernel_size")

    def build(self, inputs: Inputs) -> nn.Module:
        self._check(inputs, 2, self.kernel_size, self.stride)
        return nn.AvgPool2d(self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode)


@layer("pooling")
class AdaptiveAvgPool2d(Layer):
    """Averages each [channels, height, width] image down to a fixed output size."""

    output_size: Size2 = Field(default=1, description="Output height and width (int or [h, w])")

    def build(self, inputs: Inputs) -> nn.Module:
        inputs.rank(3, "[channels, height, width]")
        if any(s < 1 for s in as_tuple(self.output_size, 2)):
            raise ShapeError("output_size must be positive")
        return nn.AdaptiveAvgPool2d(self.output_size)


@layer("pooling")
class GlobalAvgPool2d(Layer):
    """Averages each channel over the whole image: [C, H, W] -> [C]."""

    def build(self, inputs: Inputs) -> nn.Module:
        inputs.rank(3, "[channels, height, width]")
        return modules.GlobalAvgPool2d()
