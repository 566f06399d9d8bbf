"""Attention and Transformer layers over batch-first sequences [time, features]."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from torch import nn

from . import modules
from .registry import Inputs, Layer, Port, ShapeError, TensorSpec, fmt_shape, layer

DROPOUT = "Dropout probability during training"


def check_heads(embed_dim: int, heads: int) -> None:
    if embed_dim % heads:
        raise ShapeError(f"the feature size {embed_dim} must be divisible by the number of heads {heads}")


@layer(
    "attention",
    inputs=(
        Port("query", doc="[time, features]"),
        Port("key", optional=True, doc="[source time, key features]; defaults to query (self-attention)"),
        Port("value", optional=True, doc="[source time, value features]; defaults to key"),
    ),
    outputs=(Port("out", doc="[time, features]"), Port("weights", doc="[time, source time], averaged over heads")),
)
class MultiheadAttention(Layer):
    """Multi-head scaled dot-product attention. Connect only `query` for self-attention;
    connect `key` (and `value`) for cross-attention. The `weights` output gives the
    attention map averaged over heads."""

    num_heads: int = Field(default=4, ge=1, le=1024, description="Number of heads (must divide the feature size)")
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0, description=DROPOUT + " (on the attention weights)")

    def build(self, inputs: Inputs) -> nn.Module:
        need_weights = "weights" in inputs.used_outputs
        query = inputs.rank(2, "[time, features]", "query")
        embed_dim = inputs.dim(-1, "query features", "query")
        check_heads(embed_dim, self.num_heads)
        key = inputs.rank(2, "[time, features]", "key") if inputs.has("key") else query
        value = inputs.rank(2, "[time, features]", "value") if inputs.has("value") else key
        if key[0] is not None and value[0] is not None and key[0] != value[0]:
            raise ShapeError(f"key {fmt_shape(key)} and value {fmt_shape(value)} differ in length")
        kdim, vdim = key[-1], value[-1]
        if kdim is None or vdim is None:
            raise ShapeError("key and value need a fixed number of features")
        return modules.Attention(embed_dim, self.num_heads, self.dropout, need_weights, kdim, vdim)

    def output_specs(self, inputs: Inputs, module: nn.Module) -> list[TensorSpec]:
        query = inputs.shape("query")
        key = inputs.shape("key") if inputs.has("key") else query
        return [TensorSpec(query), TensorSpec((query[0], key[0]))]


@layer("attention")
class TransformerEncoderLayer(Layer):
    """One Transformer encoder block: self-attention and a feed-forward network, each
    with a residual connection and LayerNorm. Input [time, d_model], batch first."""

    nhead: int = Field(default=4, ge=1, le=1024, description="Number of attention heads (must divide d_model)")
    dim_feedforward: int = Field(default=128, ge=1, le=1_000_000, description="Width of the feed-forward network")
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0, description=DROPOUT)
    activation: Literal["relu", "gelu"] = Field(default="relu", description="Feed-forward activation")
    norm_first: bool = Field(default=False, description="Pre-norm (LayerNorm before each block) instead of post-norm")

    def build(self, inputs: Inputs) -> nn.Module:
        inputs.rank(2, "[time, d_model]")
        d_model = inputs.dim(-1, "features (d_model)")
        check_heads(d_model, self.nhead)
        return nn.TransformerEncoderLayer(d_model, self.nhead, self.dim_feedforward, self.dropout,
                                          self.activation, batch_first=True, norm_first=self.norm_first)

    def output_specs(self, inputs: Inputs, module: nn.Module) -> list[TensorSpec]:
        return [TensorSpec(inputs.shape())]


@layer(
    "attention",
    inputs=(Port("tgt", doc="target sequence [time, d_model]"),
            Port("memory", doc="encoder output [source time, d_model]")),
)
class TransformerDecoderLayer(Layer):
    """One Transformer decoder block: self-attention on `tgt`, cross-attention to the encoder's
    `memory`, and a feed-forward network. Inputs [time, d_model], batch first."""

    nhead: int = Field(default=4, ge=1, le=1024, description="Number of attention heads (must divide d_model)")
    dim_feedforward: int = Field(default=128, ge=1, le=1_000_000, description="Width of the feed-forward network")
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0, description=DROPOUT)
    activation: Literal["relu", "gelu"] = Field(default="relu", description="Feed-forward activation")
    norm_first: bool = Field(default=False, description="Pre-norm (LayerNorm before each block) instead of post-norm")

    def build(self, inputs: Inputs) -> nn.Module:
        inputs.rank(2, "[time, d_model]", "tgt")
        inputs.rank(2, "[time, d_model]", "memory")
        d_model = inputs.dim(-1, "features (d_model)", "tgt")
        memory = inputs.dim(-1, "memory features", "memory")
        if memory != d_model:
            raise ShapeError(f"memory has {memory} features but tgt has {d_model}; they must match")
        check_heads(d_model, self.nhead)
        return nn.TransformerDecoderLayer(d_model, self.nhead, self.dim_feedforward, self.dropout,
                                          self.activation, batch_first=True, norm_first=self.norm_first)

    def output_specs(self, inputs: Inputs, module: nn.Module) -> list[TensorSpec]:
        return [TensorSpec(inputs.shape("tgt"))]


@layer("attention")
class PositionalEncoding(Layer):
    """Adds position information to a [time, features] sequence: fixed sinusoids
    (Vaswani et al.) or a learned table."""

    max_len: int = Field(default=512, ge=1, le=100_000, description="Longest sequence supported")
    learned: bool = Field(default=False, description="Learn the position vectors instead of fixed sinusoids")

    def build(self, inputs: Inputs) -> nn.Module:
        shape = inputs.rank(2, "[time, features]")
        if shape[0] is not None and shape[0] > self.max_len:
            raise ShapeError(f"the sequence length {shape[0]} exceeds max_len {self.max_len}")
        return modules.PositionalEncoding(inputs.dim(-1, "features"), self.max_len, self.learned)
