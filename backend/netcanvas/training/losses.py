"""Losses under Keras names, aware of a final Softmax/LogSoftmax/Sigmoid (no double softmax)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

EPS = 1e-7
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOSS_DOCS = {
    "mse": "Mean squared error (regression).",
    "mae": "Mean absolute error (regression).",
    "huber": "Huber loss: squared for small errors, absolute for large ones (robust regression).",
    "binary_crossentropy": "Binary cross-entropy on one logit or a Sigmoid output; targets 0/1.",
    "categorical_crossentropy": "Cross-entropy with one-hot (or soft) targets; integer targets are one-hot encoded.",
    "sparse_categorical_crossentropy": "Cross-entropy with integer class targets.",
}
CLASSIFICATION = ("binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy")


def align(target: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Reshape a target with the same number of values as the output (e.g. [B] vs [B, 1])."""
    if target.shape != out.shape and target.numel() == out.numel():
        return target.reshape(out.shape)
    if target.shape != out.shape:
        raise ValueError(f"the model outputs {list(out.shape[1:])} per sample but the target is "
                         f"{list(target.shape[1:])}; make the last layer produce the target's shape")
    return target


def class_last_to_dim1(t: torch.Tensor) -> torch.Tensor:
    """[B, T, C] (classes last, Keras style) -> [B, C, T] for PyTorch's class-dim-1 losses."""
    return t.movedim(-1, 1) if t.dim() > 2 else t


def log_probs(out: torch.Tensor, final: str | None) -> torch.Tensor:
    if final == "LogSoftmax":
        return out
    if final in ("Softmax", "Sigmoid"):
        return torch.log(out.clamp_min(EPS))
    return F.log_softmax(out, dim=-1)


def make_loss(kind: str, final: str | None) -> LossFn:
    if kind == "mse":
        return lambda out, y: F.mse_loss(out, align(y, out).to(out.dtype))
    if kind == "mae":
        return lambda out, y: F.l1_loss(out, align(y, out).to(out.dtype))
    if kind == "huber":
        return lambda out, y: F.huber_loss(out, align(y, out).to(out.dtype))
    if kind == "binary_crossentropy":
        if final == "Sigmoid":
            return lambda out, y: F.binary_cross_entropy(out.clamp(EPS, 1 - EPS), align(y, out).to(out.dtype))
        return lambda out, y: F.binary_cross_entropy_with_logits(out, align(y, out).to(out.dtype))
    if kind == "sparse_categorical_crossentropy":
        return lambda out, y: F.nll_loss(class_last_to_dim1(log_probs(out, final)), y.long())

    if kind == "categorical_crossentropy":
        def categorical(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            if y.dtype == torch.int64 and y.dim() == out.dim() - 1:
                y = F.one_hot(y, out.shape[-1]).to(out.dtype)
            return -(y * log_probs(out, final)).sum(-1).mean()

        return categorical
    raise ValueError(f"unknown loss '{kind}'")


def probabilities(out: torch.Tensor, kind: str, final: str | None) -> torch.Tensor:
    """Class probabilities from an output, for metrics and predictions."""
    if kind == "binary_crossentropy" or (out.shape[-1] == 1 and final == "Sigmoid"):
        return out if final == "Sigmoid" else torch.sigmoid(out)
    if final == "Softmax":
        return out
    if final == "LogSoftmax":
        return out.exp()
    return torch.softmax(out, dim=-1)
