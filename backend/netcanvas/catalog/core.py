"""Core layers: dense, reshaping, dropout and embeddings."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from . import modules
from .registry import DType, Inputs, Layer, Shape, ShapeError, fmt_shape, layer

ANY_DTYPE: tuple[DType, ...] = ("float32", "int64")


def with_weight_norm(module: nn.Module, enabled: bool) -> nn.Module:
    """Weight normalization (Salimans & Kingma): weight = g * v / ||v||, learned g and v."""
    return weight_norm(module) if enabled else module


WEIGHT_NORM_DOC = "Reparametrize the weight as g * v / ||v|| (weight normalization)"


@layer("core")
class Linear(Layer):
    """Fully connected (dense) layer over the last axis: y = x Wᵀ + b.
    The number of input features is inferred from the incoming shape."""

    out_features: int = Field(default=64, ge=1, le=1_000_000, description="Number of output features (units)")
    bias: bool = Field(default=True, description="Learn an additive bias")
    weight_norm: bool = Field(default=False, description=WEIGHT_NORM_DOC)

    def build(self, inputs: Inputs) -> nn.Module:
        linear = nn.Linear(self._in_features(inputs), self.out_features, bias=self.bias)
        return with_weight_norm(linear, self.weight_norm)

    def closed_form(self, inputs: Inputs) -> tuple[list[Shape], int]:
        in_features = self._in_features(inputs)
        weights = self.out_features * (in_features + (1 if self.weight_norm else 0))  # weight norm: v and g
        return [(*inputs.shape()[:-1], self.out_features)], weights + (self.out_features if self.bias else 0)

    @staticmethod
    def _in_features(inputs: Inputs) -> int:
        inputs.rank(range(1, 7), "[..., features]")
        return inputs.dim(-1, "input features")


@layer("core")
class Flatten(Layer):
    """Flattens axes start_dim..end_dim into one (PyTorch numbering: the batch axis is 0)."""

    accepts = ANY_DTYPE
    keeps_dtype = True
    start_dim: int = Field(default=1, ge=1, description="First axis to flatten (1 = first axis after the batch)")
    end_dim: int = Field(default=-1, description="Last axis to flatten (-1 = the last axis)")

    def build(self, inputs: Inputs) -> nn.Module:
        self._axes(inputs)
        return nn.Flatten(self.start_dim, self.end_dim)

    def closed_form(self, inputs: Inputs) -> tuple[list[Shape], int]:
        start, end = self._axes(inputs)
        shape = inputs.shape()
        joined = shape[start - 1:end]
        size = None if None in joined else math.prod(s for s in joined if s is not None)
        return [(*shape[:start - 1], size, *shape[end:])], 0

    def _axes(self, inputs: Inputs) -> tuple[int, int]:
        """The first and last axis flattened (the batch axis is 0)."""
        rank = len(inputs.shape()) + 1
        if self.start_dim >= rank:
            raise ShapeError(f"start_dim {self.start_dim} is out of range for an input of rank {rank}")
        end = self.end_dim % rank if -rank <= self.end_dim < rank else None
        if end is None or end < self.start_dim:
            raise ShapeError(f"end_dim {self.end_dim} does not fit start_dim {self.start_dim} and rank {rank}")
        return self.start_dim, end


@layer("core")
class Reshape(Layer):
    """Reshapes each sample to `shape` (batch axis excluded); one axis may be -1 (inferred)."""

    accepts = ANY_DTYPE
    keeps_dtype = True
    shape: list[int] = Field(default=[-1], min_length=1, max_length=6,
                             description="Target shape without the batch axis; -1 infers one axis")

    def build(self, inputs: Inputs) -> nn.Module:
        if self.shape.count(-1) > 1 or any(s == 0 or s < -1 for s in self.shape):
            raise ShapeError(f"shape {self.shape} may hold positive sizes and at most one -1")
        source = inputs.shape()
        if None not in source:
            total = math.prod(s for s in source if s is not None)
            known = math.prod(s for s in self.shape if s != -1)
            fits = total % known == 0 if -1 in self.shape else total == known
            if not fits:
                raise ShapeError(f"cannot reshape {fmt_shape(source)} ({total} values) to {self.shape}")
        return modules.Reshape(tuple(self.shape))


@layer("core")
class Permute(Layer):
    """Reorders the axes of each sample. `dims` numbers the axes after the batch axis
    from 1 (PyTorch numbering): `[2, 1]` swaps time and features. The batch axis stays first."""

    accepts = ANY_DTYPE
    keeps_dtype = True
    dims: list[int] = Field(default=[2, 1], min_length=1, max_length=6,
                            description="New order of the axes 1..rank (a leading 0 for the batch axis is allowed)")

    def build(self, inputs: Inputs) -> nn.Module:
        dims = self.dims[1:] if self.dims and self.dims[0] == 0 else self.dims
        rank = len(inputs.shape())
        if sorted(dims) != list(range(1, rank + 1)):
            shape = fmt_shape(inputs.shape())
            raise ShapeError(f"dims {self.dims} is not a permutation of the axes 1..{rank} of {shape}")
        return modules.Permute(tuple(dims))


@layer("core")
class Mean(Layer):
    """Mean over one axis (PyTorch numbering: the batch axis is 0), e.g. pooling over time."""

    dim: int = Field(default=1, description="Axis to average over (1 = first axis after the batch)")
    keepdim: bool = Field(default=False, description="Keep the averaged axis with size 1")

    def build(self, inputs: Inputs) -> nn.Module:
        rank = len(inputs.shape()) + 1
        if not -rank <= self.dim < rank or self.dim % rank == 0:
            raise ShapeError(f"dim {self.dim} must name a non-batch axis of an input of rank {rank}")
        return modules.Mean(self.dim, self.keepdim)


@layer("core")
class Upsample(Layer):
    """Upsamples [C, L], [C, H, W] or [C, D, H, W] inputs by a scale factor."""

    scale_factor: float = Field(default=2.0, gt=0.0, le=64.0, description="Multiplier for each spatial size")
    mode: Literal["nearest", "linear", "bilinear", "bicubic", "trilinear"] = Field(
        default="nearest", description="Interpolation: nearest, or linear/bilinear/bicubic/trilinear by rank")

    def build(self, inputs: Inputs) -> nn.Module:
        rank = len(inputs.rank((2, 3, 4), "[channels, spatial...]"))
        needed = {"linear": 2, "bilinear": 3, "bicubic": 3, "trilinear": 4}.get(self.mode)
        if needed is not None and needed != rank:
            raise ShapeError(f"mode '{self.mode}' needs {needed - 1} spatial axes, the input has {rank - 1}")
        return nn.Upsample(scale_factor=self.scale_factor, mode=self.mode)


@layer("core")
class Identity(Layer):
    """Passes its input through unchanged (a named junction in the graph)."""

    shape_preserving = True

    accepts = ANY_DTYPE
    keeps_dtype = True

    def build(self, inputs: Inputs) -> nn.Module:
        return nn.Identity()


@layer("core")
class Dropout(Layer):
    """Zeroes each element with probability p during training (scaled by 1/(1-p)); identity at inference."""

    shape_preserving = True

    p: float = Field(default=0.5, ge=0.0, lt=1.0, description="Probability of zeroing an element")

    def build(self, inputs: Inputs) -> nn.Module:
        return nn.Dropout(self.p)


@layer("core")
class Dropout2d(Layer):
    """Zeroes whole channels of a [C, H, W] input with probability p during training."""

    p: float = Field(default=0.5, ge=0.0, lt=1.0, description="Probability of zeroing a channel")

    def build(self, inputs: Inputs) -> nn.Module:
        inputs.rank(3, "[channels, height, width]")
        return nn.Dropout2d(self.p)


@layer("core")
class Embedding(Layer):
    """Maps integer token ids (int64) to learned dense vectors: [T] -> [T, embedding_dim]."""

    accepts: ClassVar[tuple[DType, ...]] = ("int64",)
    num_embeddings: int = Field(default=1000, ge=1, le=10_000_000, description="Vocabulary size (ids 0..n-1)")
    embedding_dim: int = Field(default=32, ge=1, le=100_000, description="Size of each vector")
    padding_idx: int | None = Field(default=None, ge=0, description="An id whose vector stays zero (padding)")

    def build(self, inputs: Inputs) -> nn.Module:
        if self.padding_idx is not None and self.padding_idx >= self.num_embeddings:
            raise ShapeError(f"padding_idx {self.padding_idx} must be below num_embeddings {self.num_embeddings}")
        return nn.Embedding(self.num_embeddings, self.embedding_dim, padding_idx=self.padding_idx)
