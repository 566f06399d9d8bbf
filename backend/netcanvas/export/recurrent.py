"""Recurrent layers for the ONNX export, as ONNX's own RNN, GRU and LSTM operators.

torch.export traces ``nn.RNN``/``nn.GRU``/``nn.LSTM`` through a decomposition that fixes
the sequence length to the example's: a plain RNN is then unrolled into a file that runs
at that length only, and a GRU/LSTM declares a fixed-length output, so any layer after it
that reshapes by length (attention) breaks at other lengths. Here each direction of each
stacked layer is one custom op whose shape function keeps the length symbolic, and whose
ONNX translation is the native recurrent operator, which takes any length.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, fx, nn

from ..catalog.modules import last_step

# Gate order of ONNX's operators, as indices into PyTorch's gate blocks.
_ONNX_GATES = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}


@torch.library.custom_op("netcanvas_export::recurrent", mutates_args=())
def recurrent(x: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor, mode: str, reverse: bool) -> Tensor:
    """One direction of one layer: batch-first ``x`` [batch, time, features] -> [batch, time, hidden].

    ``mode`` is ``nn.RNNBase.mode``; weights are in PyTorch's layout.
    """
    if reverse:
        x = x.flip(1)
    params = [w_ih, w_hh, b_ih, b_hh]
    h0 = x.new_zeros(1, x.shape[0], w_hh.shape[1])
    aten = torch.ops.aten
    if mode == "LSTM":
        y = aten.lstm.input(x, [h0, h0], params, True, 1, 0.0, False, False, True)[0]
    elif mode == "GRU":
        y = aten.gru.input(x, h0, params, True, 1, 0.0, False, False, True)[0]
    elif mode == "RNN_TANH":
        y = aten.rnn_tanh.input(x, h0, params, True, 1, 0.0, False, False, True)[0]
    else:
        y = aten.rnn_relu.input(x, h0, params, True, 1, 0.0, False, False, True)[0]
    return y.flip(1) if reverse else y


@recurrent.register_fake
def _recurrent_shape(x: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor, mode: str,
                     reverse: bool) -> Tensor:
    return x.new_empty(x.shape[0], x.shape[1], w_hh.shape[1])


def recurrent_onnx(x: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any, mode: str, reverse: bool) -> Any:
    """ONNX translation of ``recurrent``: gates reordered to ONNX's layout (constant-folded), time-major op."""
    import onnxscript

    op: Any = onnxscript.opset18
    hidden = w_hh.shape[1]
    gates = _ONNX_GATES[mode]

    def reorder(t: Any) -> Any:
        if len(gates) == 1:
            return t
        return op.Concat(*(op.Slice(t, [g * hidden], [(g + 1) * hidden], [0]) for g in gates), axis=0)

    w = op.Unsqueeze(reorder(w_ih), [0])
    r = op.Unsqueeze(reorder(w_hh), [0])
    b = op.Unsqueeze(op.Concat(reorder(b_ih), reorder(b_hh), axis=0), [0])
    time_major = op.Transpose(x, perm=[1, 0, 2])
    direction = "reverse" if reverse else "forward"
    if mode == "LSTM":
        y, _, _ = op.LSTM(time_major, w, r, b, hidden_size=hidden, direction=direction)
    elif mode == "GRU":
        y, _ = op.GRU(time_major, w, r, b, hidden_size=hidden, direction=direction, linear_before_reset=1)
    else:
        y, _ = op.RNN(time_major, w, r, b, hidden_size=hidden, direction=direction,
                      activations=["Tanh" if mode == "RNN_TANH" else "Relu"])
    return op.Transpose(op.Squeeze(y, [1]), perm=[1, 0, 2])  # [time, 1, batch, hidden] -> [batch, time, hidden]


TRANSLATIONS: dict[Callable[..., Any], Callable[..., Any]] = {
    torch.ops.netcanvas_export.recurrent.default: recurrent_onnx}


class ExportableRecurrent(nn.Module):
    """Computes what one of our RNN/GRU/LSTM layers computes (eval mode), one ``recurrent`` op per direction."""

    def __init__(self, layer: nn.RNNBase):
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor) -> Tensor:
        layer = self.layer
        out = x
        for i in range(layer.num_layers):
            directions = [("", False), ("_reverse", True)][: 2 if layer.bidirectional else 1]
            outs = []
            for suffix, reverse in directions:
                w_ih, w_hh, b_ih, b_hh = (getattr(layer, f"{name}_l{i}{suffix}")
                                          for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                outs.append(recurrent(out, w_ih, w_hh, b_ih, b_hh, layer.mode, reverse))
            out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)
        if getattr(layer, "return_sequences", True):
            return out
        return last_step(out, layer.bidirectional, layer.hidden_size)


def exportable(module: fx.GraphModule) -> fx.GraphModule:
    """The same model (sharing its parameters) with every recurrent layer made exportable."""
    root = nn.Module()
    for name, child in module.named_children():
        if isinstance(child, nn.RNNBase) and child.bias and child.proj_size == 0 and child.batch_first:
            child = ExportableRecurrent(child)
        root.add_module(name, child)
    return fx.GraphModule(root, copy.deepcopy(module.graph), class_name=type(module).__name__)
