"""Losses under Keras names, aware of a final Softmax/LogSoftmax/Sigmoid (no double softmax).

A classification loss never takes the log of a probability the graph computed: when an
Output is fed by Softmax, LogSoftmax or Sigmoid, training reads the scores *before* that
layer (see ``loop.training_module``) and the loss applies ``log_softmax`` or
``binary_cross_entropy_with_logits`` itself. That is exact and stable even when the model
is confidently wrong, where ``log(clamp(softmax))`` has no gradient at all. Regression
losses see the output as the graph computes it (a Sigmoid autoencoder is compared in [0, 1]).

Classes are on the last axis (Keras convention); a final Softmax names its own axis, and
raw scores shaped ``[C, T]`` against targets ``[T]`` are recognised as PyTorch's layout.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

EPS = 1e-7
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOSS_DOCS = {
    "mse": "Mean squared error (regression).",
    "mae": "Mean absolute error (regression).",
    "huber": "Huber loss (delta 1): squared for small errors, absolute for large ones (robust regression).",
    "binary_crossentropy": "Binary cross-entropy on one score per label (raw, or through a final Sigmoid); "
                           "targets 0/1.",
    "categorical_crossentropy": "Cross-entropy with one-hot (or soft) targets; integer targets are one-hot "
                                "encoded. Raw scores or a final Softmax/LogSoftmax.",
    "sparse_categorical_crossentropy": "Cross-entropy with integer class targets. Raw scores or a final "
                                       "Softmax/LogSoftmax.",
    "margin": "CapsNet's margin loss on capsule lengths in [0, 1] (a CapsuleLength output): the target class's "
              "length should reach m_plus (0.9), every other class's stay under m_minus (0.1), the latter "
              "weighed by down_weight (0.5, the paper's lambda). Integer or one-hot targets.",
}
CLASSIFICATION = ("binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "margin")
MARGIN_DEFAULTS = (0.9, 0.1, 0.5)
"""The margin loss's m_plus, m_minus and down_weight (lambda) as in Sabour et al., 2017."""
FINAL_ACTIVATIONS = ("Softmax", "LogSoftmax", "Sigmoid")


def shape_error(out: torch.Tensor, target: torch.Tensor, hint: str = "") -> ValueError:
    return ValueError(f"the model outputs {list(out.shape[1:])} per sample but the target is "
                      f"{list(target.shape[1:])}; {hint or 'make the last layer produce the target shape'}")


def align(target: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """The target reshaped to the output when both hold as many values (e.g. [B] vs [B, 1])."""
    if target.shape == out.shape:
        return target
    if target.numel() == out.numel():
        return target.reshape(out.shape)
    raise shape_error(out, target)


def class_axis(out: torch.Tensor, target: torch.Tensor, dim: int | None = None) -> int:
    """The axis of ``out`` that holds the classes: a final Softmax's dim, [B, C, T] against
    integer targets [B, T], else the last axis."""
    if dim is not None:
        return dim % out.dim()
    if out.dim() == 2:
        return 1
    if (out.dim() > 2 and target.dim() == out.dim() - 1 and out.shape[2:] == target.shape[1:]
            and out.shape[1:-1] != target.shape[1:]):
        return 1
    return out.dim() - 1


def log_probs(scores: torch.Tensor, final: str | None, axis: int) -> torch.Tensor:
    """Log-probabilities from pre-activation scores. Several Sigmoid units are normalized to sum to 1."""
    if final == "Sigmoid":
        return F.log_softmax(F.logsigmoid(scores), dim=axis)
    return F.log_softmax(scores, dim=axis)


def class_targets(target: torch.Tensor, scores: torch.Tensor, axis: int) -> torch.Tensor:
    """Integer class targets shaped like ``scores`` without its class axis (one-hot targets are argmaxed)."""
    if target.dim() == 1 and scores.dim() == 2 and len(target) == len(scores):
        return target if target.dtype == torch.int64 else target.long()
    expected = scores.shape[:axis] + scores.shape[axis + 1:]
    if target.dim() == scores.dim() and target.shape == scores.shape:
        return target.argmax(axis)
    if target.shape != expected:
        if target.numel() != math.prod(expected):
            raise shape_error(scores, target, "sparse_categorical_crossentropy needs one score per class "
                                              "and one integer class per sample")
        target = target.reshape(expected)
    return target.long()


def margin_loss(m_plus: float, m_minus: float, down_weight: float, dim: int | None = None) -> LossFn:
    """Sum over classes of T·max(0, m_plus − ‖v‖)² + down_weight·(1 − T)·max(0, ‖v‖ − m_minus)², averaged over
    samples, where ‖v‖ are the capsule lengths and T is 1 for the target class (Sabour et al., 2017, eq. 4)."""
    def margin(lengths: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        axis = class_axis(lengths, y, dim)
        if y.is_floating_point() and y.shape == lengths.shape:  # one-hot targets
            present = y.to(lengths.dtype)
        else:
            labels = class_targets(y, lengths, axis)
            if int(labels.min()) < 0 or int(labels.max()) >= lengths.shape[axis]:
                raise ValueError(f"the margin loss needs class targets from 0 to {lengths.shape[axis] - 1}")
            present = F.one_hot(labels, lengths.shape[axis]).movedim(-1, axis).to(lengths.dtype)
        loss = (present * F.relu(m_plus - lengths) ** 2
                + down_weight * (1 - present) * F.relu(lengths - m_minus) ** 2)
        return loss.sum(axis).mean()

    return margin


def make_loss(kind: str, final: str | None = None, dim: int | None = None,
              options: tuple[float, ...] = ()) -> LossFn:
    """``loss(values, target)``. For classification kinds with a ``final`` activation, ``values`` are the
    scores before it; ``dim`` is that Softmax's axis (batch included, PyTorch numbering). ``options``: the margin
    loss's (m_plus, m_minus, down_weight)."""
    if kind == "margin":
        m_plus, m_minus, down_weight = options or MARGIN_DEFAULTS
        return margin_loss(m_plus, m_minus, down_weight, dim)
    if kind == "mse":
        return lambda out, y: F.mse_loss(out, align(y, out).to(out.dtype))
    if kind == "mae":
        return lambda out, y: F.l1_loss(out, align(y, out).to(out.dtype))
    if kind == "huber":
        return lambda out, y: F.huber_loss(out, align(y, out).to(out.dtype))
    if kind == "binary_crossentropy":
        def binary(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            y = align(y, scores).to(scores.dtype)
            if final in (None, "Sigmoid"):
                return F.binary_cross_entropy_with_logits(scores, y)
            # a Softmax under binary_crossentropy: its outputs are read as per-label probabilities
            probs = torch.softmax(scores, dim if dim is not None else -1)
            return F.binary_cross_entropy(probs.clamp(EPS, 1 - EPS), y)

        return binary
    if kind in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        def crossentropy(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            axis = class_axis(scores, y, dim)
            if final == "Sigmoid":
                scores = F.logsigmoid(scores)  # normalized by the softmax inside cross_entropy
            if y.is_floating_point() and y.shape == scores.shape:  # one-hot or soft targets
                y = y.to(scores.dtype)
                return F.cross_entropy(scores, y) if axis == 1 else F.cross_entropy(
                    scores.movedim(axis, 1), y.movedim(axis, 1))
            y = class_targets(y, scores, axis)
            return F.cross_entropy(scores if axis == 1 else scores.movedim(axis, 1), y)

        return crossentropy
    raise ValueError(f"unknown loss '{kind}'")


@dataclass(frozen=True)
class Head:
    """One graph output as training sees it: its loss, weight, metrics and final activation."""

    name: str
    kind: str
    weight: float
    metrics: tuple[str, ...]
    final: str | None = None
    final_dim: int | None = None
    options: tuple[float, ...] = ()
    """The loss's own options (the margin loss's m_plus, m_minus, down_weight)."""

    @property
    def classification(self) -> bool:
        return self.kind in CLASSIFICATION

    @property
    def binary(self) -> bool:
        return self.kind == "binary_crossentropy"

    @property
    def reads_scores(self) -> bool:
        """Training reads this output before its final activation."""
        return self.classification and self.kind != "margin" and self.final in FINAL_ACTIVATIONS

    def loss_fn(self) -> LossFn:
        return make_loss(self.kind, self.final if self.reads_scores else None, self.final_dim, self.options)

    def axis(self, values: torch.Tensor, target: torch.Tensor) -> int:
        return class_axis(values, target, self.final_dim)

    def probabilities(self, values: torch.Tensor, axis: int) -> torch.Tensor:
        """Class probabilities with classes last (binary: the probability of 1, same shape as the values)."""
        final = self.final if self.reads_scores else None
        if self.kind == "margin":  # capsule lengths, each in [0, 1]: their shares of the total
            return (values / values.sum(axis, keepdim=True).clamp_min(EPS)).movedim(axis, -1)
        if self.binary:
            if final in ("Softmax", "LogSoftmax"):
                return torch.softmax(values, axis)
            return torch.sigmoid(values)
        return log_probs(values, final, axis).exp().movedim(axis, -1)
