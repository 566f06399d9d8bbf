"""Small nn.Modules for layers PyTorch has no single module for.

This file imports only torch: the PyTorch-code exporter copies the source of the
classes a model uses into its standalone ``.py`` file.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


class Reshape(nn.Module):
    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = tuple(shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape((x.shape[0], *self.shape))


class Permute(nn.Module):
    def __init__(self, dims: tuple[int, ...]):
        super().__init__()
        self.dims = tuple(dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, *self.dims)


class Mean(nn.Module):
    def __init__(self, dim: int, keepdim: bool = False):
        super().__init__()
        self.dim = dim
        self.keepdim = keepdim

    def extra_repr(self) -> str:
        return f"dim={self.dim}, keepdim={self.keepdim}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=self.dim, keepdim=self.keepdim)


class GlobalAvgPool2d(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class Add(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Multiply(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Average(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out / len(xs)


class Concat(nn.Module):
    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)


def last_step(out: torch.Tensor, bidirectional: bool, hidden_size: int) -> torch.Tensor:
    """The final output of a batch-first recurrent layer.

    Forward direction: the last time step. Backward direction (bidirectional): the
    first time step, which is where the backward pass ends (Keras semantics).
    """
    if not bidirectional:
        return out[:, -1]
    return torch.cat([out[:, -1, :hidden_size], out[:, 0, hidden_size:]], dim=-1)


class Recurrent(nn.RNNBase):
    """Batch first; outputs the whole sequence, or only its last step (``last_step``).

    The one body of ``RNNLayer``, ``LSTMLayer`` and ``GRULayer``, which add only their PyTorch base class.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, bidirectional: bool,
                 dropout: float, return_sequences: bool, **options: Any):
        # nn.RNN, nn.LSTM and nn.GRU, next in the subclasses' method order, supply the mode.
        super().__init__(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,  # type: ignore[call-arg,arg-type]
                         batch_first=True, dropout=dropout, bidirectional=bidirectional, **options)
        self.return_sequences = return_sequences

    def extra_repr(self) -> str:
        text = (f"input_size={self.input_size}, hidden_size={self.hidden_size}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, dropout={self.dropout}, "
                f"return_sequences={self.return_sequences}")
        return text + (f", nonlinearity='{self.nonlinearity}'" if isinstance(self, nn.RNN) else "")

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        out, _ = super().forward(x)
        return out if self.return_sequences else last_step(out, self.bidirectional, self.hidden_size)


class RNNLayer(Recurrent, nn.RNN):  # type: ignore[misc]  # Recurrent.forward returns one tensor
    """Elman RNN; ``nonlinearity`` is "tanh" or "relu"."""


class LSTMLayer(Recurrent, nn.LSTM):  # type: ignore[misc]  # Recurrent.forward returns one tensor
    """LSTM."""


class GRULayer(Recurrent, nn.GRU):  # type: ignore[misc]  # Recurrent.forward returns one tensor
    """GRU."""


class Attention(nn.MultiheadAttention):
    """Batch-first multi-head attention; key defaults to query, value to key."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float, need_weights: bool,
                 kdim: int | None = None, vdim: int | None = None):
        super().__init__(embed_dim, num_heads, dropout=dropout, batch_first=True, kdim=kdim, vdim=vdim)
        self.need_weights = need_weights

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"need_weights={self.need_weights}, kdim={self.kdim}, vdim={self.vdim}")

    def forward(  # type: ignore[override]
        self, query: torch.Tensor, key: torch.Tensor | None = None, value: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        key = query if key is None else key
        value = key if value is None else value
        return super().forward(query, key, value, need_weights=self.need_weights)


class PositionalEncoding(nn.Module):
    """Adds a position signal to a batch-first sequence [batch, time, features]."""

    def __init__(self, d_model: int, max_len: int, learned: bool):
        super().__init__()
        self.learned = learned
        self.d_model, self.max_len = d_model, max_len
        if learned:
            self.pe = nn.Parameter(torch.zeros(max_len, d_model))
            nn.init.normal_(self.pe, std=0.02)
        else:
            position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
            div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, d_model)
            pe[:, 0::2] = torch.sin(position * div)
            pe[:, 1::2] = torch.cos(position * div)[:, : d_model // 2]
            self.register_buffer("pe", pe, persistent=False)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, learned={self.learned}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[: x.shape[1]]


class PrimaryCapsules(nn.Module):
    """A convolution whose channels are read as capsules: [C, H, W] -> [capsules * H' * W', capsule_dim], squashed."""

    def __init__(self, in_channels: int, capsules: int, capsule_dim: int, kernel_size: int, stride: int):
        super().__init__()
        self.in_channels, self.capsules, self.capsule_dim = in_channels, capsules, capsule_dim
        self.kernel_size, self.stride = kernel_size, stride
        self.conv = nn.Conv2d(in_channels, capsules * capsule_dim, kernel_size, stride)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, capsules={self.capsules}, capsule_dim={self.capsule_dim}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # [batch, capsules * dim, H', W']
        y = y.reshape(y.shape[0], self.capsules, self.capsule_dim, -1).transpose(2, 3)
        s = y.reshape(y.shape[0], -1, self.capsule_dim)
        norm2 = (s * s).sum(dim=-1, keepdim=True)  # squash: short vectors shrink to 0, long ones to length 1
        return s * norm2 / ((1 + norm2) * torch.sqrt(norm2 + 1e-8))


class RoutingCapsules(nn.Module):
    """Capsules computed from capsules by routing-by-agreement (Sabour et al., 2017), a fixed number of iterations."""

    def __init__(self, in_capsules: int, in_dim: int, capsules: int, capsule_dim: int, iterations: int):
        super().__init__()
        self.in_capsules, self.in_dim, self.capsules = in_capsules, in_dim, capsules
        self.capsule_dim, self.iterations = capsule_dim, iterations
        bound = 1 / math.sqrt(in_dim)
        self.weight = nn.Parameter(torch.empty(in_capsules, capsules, capsule_dim, in_dim).uniform_(-bound, bound))

    def extra_repr(self) -> str:
        return (f"in_capsules={self.in_capsules}, in_dim={self.in_dim}, capsules={self.capsules}, "
                f"capsule_dim={self.capsule_dim}, iterations={self.iterations}")

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        # Each input capsule's prediction of each output capsule: [batch, in_capsules, capsules, capsule_dim].
        u_hat = (self.weight @ u[:, :, None, :, None]).squeeze(-1)
        logits = torch.zeros_like(u_hat[..., 0])  # [batch, in_capsules, capsules]
        v = u_hat[:, 0]
        for i in range(self.iterations):
            c = torch.softmax(logits, dim=2)  # each input capsule splits its vote over the output capsules
            s = (c.unsqueeze(-1) * u_hat).sum(dim=1)
            norm2 = (s * s).sum(dim=-1, keepdim=True)  # squash
            v = s * norm2 / ((1 + norm2) * torch.sqrt(norm2 + 1e-8))
            if i < self.iterations - 1:
                logits = logits + (u_hat * v.unsqueeze(1)).sum(dim=-1)  # agreement raises the coupling
        return v


class CapsuleLength(nn.Module):
    """The length of each capsule vector: [capsules, dim] -> [capsules] (class scores of a capsule network)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sqrt((x * x).sum(dim=-1) + 1e-8)
