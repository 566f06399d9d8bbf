"""Metrics computed on a whole split's predictions (macro-averaged for several classes).

``binary`` means one probability per label (a ``binary_crossentropy`` output): precision,
recall and F1 are those of class 1, like scikit-learn's default, and several labels are
pooled. With class scores they are macro averages over the classes present in the
targets or the predictions, and AUC-ROC is the macro one-vs-rest average over the
classes present in the targets. The tests check every function against scikit-learn.
"""

from __future__ import annotations

from typing import Literal

import torch

Direction = Literal["min", "max"]

METRIC_DOCS = {
    "accuracy": "Fraction of samples whose predicted class is right.",
    "precision": "True positives over predicted positives (macro-averaged over classes).",
    "recall": "True positives over actual positives (macro-averaged over classes).",
    "f1": "Harmonic mean of precision and recall (macro-averaged over classes).",
    "auc_roc": "Area under the ROC curve (binary, or macro one-vs-rest for several classes).",
    "mse": "Mean squared error.",
    "mae": "Mean absolute error.",
}
METRIC_DIRECTIONS: dict[str, Direction] = {
    "loss": "min", "accuracy": "max", "precision": "max", "recall": "max", "f1": "max", "auc_roc": "max",
    "mse": "min", "mae": "min",
}
"""Whether a larger or a smaller value is better, declared once per metric (as Keras metrics do)."""


def direction(name: str) -> Direction:
    """The direction of a reported metric such as ``val_accuracy`` or ``val_y_class_loss``: that of the metric
    its name ends with (an output named ``accuracy`` still has a loss, ``accuracy_loss``, to minimize)."""
    for metric in sorted(METRIC_DIRECTIONS, key=len, reverse=True):
        if name == metric or name.endswith("_" + metric):
            return METRIC_DIRECTIONS[metric]
    return "min"


def monitor_mode(monitor: str, mode: str) -> Direction:
    """An early-stopping or plateau ``mode``: ``min`` or ``max`` as given, ``auto`` the monitor's direction."""
    if mode == "min":
        return "min"
    return "max" if mode == "max" else direction(monitor)


def _confusion(y: torch.Tensor, pred: torch.Tensor, n: int) -> torch.Tensor:
    return torch.bincount(y * n + pred, minlength=n * n).reshape(n, n).double()


def _safe_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(b > 0, a / b.clamp_min(1e-12), torch.zeros_like(a))


def binary_auc(score: torch.Tensor, positive: torch.Tensor) -> float | None:
    """Mann–Whitney AUC with ties counted half; None when only one class is present."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = torch.argsort(score.double())
    sorted_scores = score.double()[order]
    ranks = torch.empty(len(score), dtype=torch.float64, device=score.device)
    uniq, inverse, counts = torch.unique_consecutive(sorted_scores, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()
    avg = ends - (counts.double() - 1) / 2
    ranks[order] = avg[inverse]
    rank_sum = ranks[positive.bool()].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def classification_metrics(names: list[str], probs: torch.Tensor, y: torch.Tensor,
                           binary: bool) -> dict[str, float]:
    """``probs``: [N, C] class probabilities (binary: any shape, the probability of 1); ``y``: [N] classes
    (binary: 0/1, soft labels rounded; one-hot rows become class indices)."""
    if binary:
        y = (y.reshape(-1) >= 0.5).long()
    elif y.shape == probs.shape:
        y = y.argmax(-1)
    y = y.long().reshape(-1)
    if binary:
        p1 = probs.reshape(-1)
        pred = (p1 >= 0.5).long()
        n = 2
    else:
        probs = probs.reshape(-1, probs.shape[-1])
        pred = probs.argmax(-1)
        n = probs.shape[-1]
    cm = _confusion(y.clamp(0, n - 1), pred, n)
    tp = cm.diag()
    precision = _safe_div(tp, cm.sum(0))
    recall = _safe_div(tp, cm.sum(1))
    f1 = _safe_div(2 * precision * recall, precision + recall)
    present = cm.sum(1) > 0
    out: dict[str, float] = {}
    for name in names:
        if name == "accuracy":
            out[name] = float((pred == y).double().mean())
        elif name in ("precision", "recall", "f1"):
            value = {"precision": precision, "recall": recall, "f1": f1}[name]
            out[name] = float(value[1]) if binary else float(value[present | (cm.sum(0) > 0)].mean())
        elif name == "auc_roc":
            if binary:
                auc = binary_auc(p1, y)
                out[name] = auc if auc is not None else float("nan")
            else:
                aucs = [a for c in range(n) if (a := binary_auc(probs[:, c], (y == c).long())) is not None]
                out[name] = float(sum(aucs) / len(aucs)) if aucs else float("nan")
    return out


def regression_metrics(names: list[str], out: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    y = y.reshape(out.shape).to(out.dtype) if y.numel() == out.numel() else y.to(out.dtype)
    result = {}
    for name in names:
        if name == "mse":
            result[name] = float(((out - y) ** 2).mean())
        elif name == "mae":
            result[name] = float((out - y).abs().mean())
    return result
