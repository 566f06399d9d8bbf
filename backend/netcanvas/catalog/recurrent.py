"""Recurrent layers over batch-first sequences [time, features]."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from torch import nn

from . import modules
from .registry import Inputs, Layer, ShapeError, TensorSpec, layer


class RecurrentBase(Layer):
    hidden_size: int = Field(default=32, ge=1, le=100_000, description="Size of the hidden state")
    num_layers: int = Field(default=1, ge=1, le=32, description="Number of stacked layers")
    bidirectional: bool = Field(default=False, description="Also read the sequence backwards; doubles the output size")
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0,
                           description="Dropout between stacked layers (only with num_layers > 1)")
    return_sequences: bool = Field(
        default=False, description="Output every time step [time, hidden]; otherwise only the last [hidden]")

    def _args(self, inputs: Inputs) -> dict[str, object]:
        inputs.rank(2, "[time, features]")
        return {
            "input_size": inputs.dim(-1, "features"),
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "dropout": self.dropout if self.num_layers > 1 else 0.0,
            "return_sequences": self.return_sequences,
        }

    def output_specs(self, inputs: Inputs, module: nn.Module) -> list[TensorSpec]:
        # Computed, not run: an RNN's cost grows with the sequence length.
        width = self.hidden_size * (2 if self.bidirectional else 1)
        time = inputs.shape()[0]
        if time == 0:
            raise ShapeError("the sequence is empty")
        return [TensorSpec((time, width) if self.return_sequences else (width,))]


@layer("recurrent")
class RNN(RecurrentBase):
    """Elman recurrent network: h_t = tanh(W x_t + U h_(t-1) + b). Input [time, features], batch first."""

    nonlinearity: Literal["tanh", "relu"] = Field(default="tanh", description="Activation of the hidden state")

    def build(self, inputs: Inputs) -> nn.Module:
        return modules.RNNLayer(**self._args(inputs), nonlinearity=self.nonlinearity)  # type: ignore[arg-type]


@layer("recurrent")
class LSTM(RecurrentBase):
    """Long short-term memory: gated recurrence that keeps long-range dependencies.
    Input [time, features], batch first."""

    def build(self, inputs: Inputs) -> nn.Module:
        return modules.LSTMLayer(**self._args(inputs))  # type: ignore[arg-type]


@layer("recurrent")
class GRU(RecurrentBase):
    """Gated recurrent unit: a lighter gated recurrence than the LSTM. Input [time, features], batch first."""

    def build(self, inputs: Inputs) -> nn.Module:
        return modules.GRULayer(**self._args(inputs))  # type: ignore[arg-type]
