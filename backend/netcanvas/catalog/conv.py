"""Convolutions over sequences [C, L] and images [C, H, W]."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from torch import nn

from .core import WEIGHT_NORM_DOC, with_weight_norm
from .registry import Inputs, Layer, ShapeError, fmt_shape, layer

Pos = Annotated[int, Field(ge=1, le=4096)]
NonNeg = Annotated[int, Field(ge=0, le=4096)]
Size1 = Pos
Size2 = Pos | tuple[Pos, Pos]
Pad2 = NonNeg | tuple[NonNeg, NonNeg]


def as_tuple(value: int | tuple[int, ...], n: int) -> Any:
    """``3`` -> ``(3, 3)``; a tuple stays as it is (typed Any: torch wants fixed-length tuples)."""
    return (value,) * n if isinstance(value, int) else tuple(value)


def sliding_output(
    spatial: tuple[int | None, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
    padding: tuple[int, ...], dilation: tuple[int, ...], ceil_mode: bool = False,
) -> tuple[int | None, ...]:
    """Output size of a convolution or pooling window along each spatial axis."""
    out: list[int | None] = []
    for size, k, s, p, d in zip(spatial, kernel, stride, padding, dilation, strict=True):
        if size is None:
            out.append(None)
            continue
        span = size + 2 * p - d * (k - 1) - 1
        if span < 0:
            raise ShapeError(
                f"kernel {list(kernel)} does not fit the input's spatial size {fmt_shape(spatial)}"
                + (f" with padding {list(padding)}" if any(padding) else "")
            )
        n = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (n - 1) * s >= size + p:
            n -= 1
        out.append(n)
    return tuple(out)


def resolve_groups(groups: int | Literal["depthwise"], in_channels: int, out_channels: int) -> int:
    g = in_channels if groups == "depthwise" else groups
    if in_channels % g or out_channels % g:
        raise ShapeError(
            f"groups={g} must divide both the input channels ({in_channels}) and out_channels ({out_channels})"
        )
    return g


class ConvBase(Layer):
    out_channels: int = Field(default=16, ge=1, le=100_000, description="Number of output channels (filters)")
    stride: Size2 = Field(default=1, description="Step of the sliding window")
    padding: Pad2 | Literal["same", "valid"] = Field(
        default=0, description="Zero padding on each side: a size, 'same' (keeps the size; stride 1) or 'valid' (0)")
    dilation: Size2 = Field(default=1, description="Spacing between kernel elements")
    groups: Pos | Literal["depthwise"] = Field(
        default=1, description="Blocked connections; 'depthwise' = one group per input channel")
    bias: bool = Field(default=True, description="Learn an additive bias")
    weight_norm: bool = Field(default=False, description=WEIGHT_NORM_DOC)

    def _build(self, inputs: Inputs, n: int, kernel_size: int | tuple[int, ...]) -> nn.Module:
        layout = "[channels, length]" if n == 1 else "[channels, height, width]"
        shape = inputs.rank(n + 1, layout)
        in_channels = inputs.dim(0, "input channels")
        groups = resolve_groups(self.groups, in_channels, self.out_channels)
        kernel, stride, dilation = (as_tuple(v, n) for v in (kernel_size, self.stride, self.dilation))
        if self.padding == "same":
            if any(s != 1 for s in stride):
                raise ShapeError("padding 'same' needs stride 1")
            padding: str | tuple[int, ...] = "same"
            spatial_padding = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation, strict=True))
        else:
            padding = (0,) * n if self.padding == "valid" else as_tuple(self.padding, n)
            spatial_padding = padding
        if self.padding != "same":
            sliding_output(shape[1:], kernel, stride, spatial_padding, dilation)
        cls = nn.Conv1d if n == 1 else nn.Conv2d
        conv = cls(in_channels, self.out_channels, kernel, stride=stride, padding=padding,  # type: ignore[arg-type]
                   dilation=dilation, groups=groups, bias=self.bias)
        return with_weight_norm(conv, self.weight_norm)


@layer("convolution")
class Conv1d(ConvBase):
    """1-D convolution over [channels, length] inputs (sequences, signals).
    Input channels are inferred."""

    kernel_size: Size1 = Field(default=3, ge=1, le=1024, description="Width of the sliding window")
    stride: Size1 = Field(default=1, ge=1, description="Step of the sliding window")
    padding: NonNeg | Literal["same", "valid"] = Field(
        default=0, description="Zero padding on each side: a size, 'same' (keeps the length; stride 1) or 'valid'")
    dilation: Size1 = Field(default=1, ge=1, description="Spacing between kernel elements")

    def build(self, inputs: Inputs) -> nn.Module:
        return self._build(inputs, 1, self.kernel_size)


@layer("convolution")
class Conv2d(ConvBase):
    """2-D convolution over [channels, height, width] images. Input channels are inferred;
    `groups: 'depthwise'` gives a depthwise convolution (MobileNet)."""

    kernel_size: Size2 = Field(default=3, description="Height and width of the sliding window (int or [h, w])")

    def build(self, inputs: Inputs) -> nn.Module:
        return self._build(inputs, 2, self.kernel_size)


@layer("convolution")
class ConvTranspose2d(Layer):
    """Transposed 2-D convolution ("deconvolution"): learned upsampling of [C, H, W] inputs,
    as in decoders and autoencoders."""

    out_channels: int = Field(default=16, ge=1, le=100_000, description="Number of output channels")
    kernel_size: Size2 = Field(default=2, description="Height and width of the kernel")
    stride: Size2 = Field(default=2, description="Upsampling step")
    padding: Pad2 = Field(default=0, description="Implicit padding removed from each side of the output")
    output_padding: Pad2 = Field(default=0, description="Extra size added to one side of the output")
    dilation: Size2 = Field(default=1, description="Spacing between kernel elements")
    bias: bool = Field(default=True, description="Learn an additive bias")
    weight_norm: bool = Field(default=False, description=WEIGHT_NORM_DOC)

    def build(self, inputs: Inputs) -> nn.Module:
        shape = inputs.rank(3, "[channels, height, width]")
        stride, out_pad, dilation = (as_tuple(v, 2) for v in (self.stride, self.output_padding, self.dilation))
        if any(o >= max(s, d) for o, s, d in zip(out_pad, stride, dilation, strict=True)):
            raise ShapeError("output_padding must be smaller than stride or dilation")
        kernel, padding = as_tuple(self.kernel_size, 2), as_tuple(self.padding, 2)
        for size, k, s, p, o, d in zip(shape[1:], kernel, stride, padding, out_pad, dilation, strict=True):
            if size is not None and (size - 1) * s - 2 * p + d * (k - 1) + o + 1 < 1:
                raise ShapeError(f"padding {list(padding)} leaves an empty output for input {fmt_shape(shape)}")
        conv = nn.ConvTranspose2d(inputs.dim(0, "input channels"), self.out_channels, kernel, stride=stride,
                                  padding=padding, output_padding=out_pad, dilation=dilation, bias=self.bias)
        return with_weight_norm(conv, self.weight_norm)
