"""Metrics computed on a whole split's predictions (macro-averaged for several classes).

``binary`` means one probability per label (a ``binary_crossentropy`` output): precision,
recall and F1 are those of class 1, like scikit-learn's default, and several labels are
pooled. With class scores they are macro averages over the classes present in the
targets or the predictions, and AUC-ROC is the macro one-vs-rest average over the
classes present in the targets. scikit-learn computes them; the tests cross-check the
definitions above against scikit-learn's own calls.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
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


def _auc(y_true: np.ndarray, score: np.ndarray) -> float | None:
    """scikit-learn's ROC AUC (ties counted half); None when only one class is present."""
    if y_true.min() == y_true.max():
        return None
    from sklearn.metrics import roc_auc_score  # scikit-learn loads in ~2 s: only for runs that ask for AUC

    return float(roc_auc_score(y_true, score))


def classification_metrics(names: list[str], probs: torch.Tensor, y: torch.Tensor,
                           binary: bool) -> dict[str, float]:
    """``probs``: [N, C] class probabilities (binary: any shape, the probability of 1); ``y``: [N] classes
    (binary: 0/1, soft labels rounded; one-hot rows become class indices). Accuracy is counted on the device;
    precision, recall, F1 and AUC come from scikit-learn."""
    if binary:
        y = (y.reshape(-1) >= 0.5).long()
    elif y.shape == probs.shape:
        y = y.argmax(-1)
    y = y.long().reshape(-1)
    if binary:
        scores = probs.reshape(-1)
        pred = (scores >= 0.5).long()
    else:
        scores = probs.reshape(-1, probs.shape[-1])
        pred = scores.argmax(-1)
    out: dict[str, float] = {}
    if "accuracy" in names:
        out["accuracy"] = float((pred == y).double().mean())
    wanted = [name for name in names if name in ("precision", "recall", "f1", "auc_roc")]
    if not wanted:
        return out
    y_np, pred_np = y.cpu().numpy(), pred.cpu().numpy()
    if any(name in ("precision", "recall", "f1") for name in wanted):
        from sklearn.metrics import precision_recall_fscore_support

        precision, recall, f1, _ = precision_recall_fscore_support(
            y_np, pred_np, average="binary" if binary else "macro", zero_division=0)
        found = {"precision": precision, "recall": recall, "f1": f1}
        out.update({name: float(found[name]) for name in wanted if name in found})
    if "auc_roc" in wanted:
        score_np = scores.detach().double().cpu().numpy()
        if binary:
            auc = _auc(y_np, score_np)
            out["auc_roc"] = auc if auc is not None else float("nan")
        else:  # macro one-vs-rest over the classes present in the targets
            aucs = [a for c in range(score_np.shape[1]) if (a := _auc((y_np == c).astype(np.int64),
                                                                      score_np[:, c])) is not None]
            out["auc_roc"] = float(sum(aucs) / len(aucs)) if aucs else float("nan")
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
