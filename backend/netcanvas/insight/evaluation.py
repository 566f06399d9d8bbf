"""A run's evaluation per Output on its test (or validation) split, computed with scikit-learn.

Classification outputs: the confusion matrix (counts, normalized by true class, and the sample indices of
each cell), per-class precision/recall/F1/support, one-vs-rest ROC and precision-recall curves with their
AUC, and the worst-classified samples. Regression outputs: MAE, RMSE, R², a predicted-vs-true scatter and a
histogram of the residuals, and the samples with the largest errors.

The predictions are those of the run's best weights, read the way training reads them (``Evaluator``), so the
accuracy here is the run's test accuracy.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from sklearn import metrics as skm

from ..training.loop import Evaluator
from ..training.losses import Head, align, class_targets
from .rundata import InsightError, RunData, SplitName

Part = Literal["confusion_matrix", "per_class", "roc", "pr", "worst", "scatter", "residuals"]
CLASSIFICATION_PARTS: tuple[Part, ...] = ("confusion_matrix", "per_class", "roc", "pr", "worst")
REGRESSION_PARTS: tuple[Part, ...] = ("scatter", "residuals", "worst")
CELL_SAMPLES = 200
"""At most this many sample indices per confusion-matrix cell."""
CURVE_POINTS = 200
WORST = 12
SCATTER_POINTS = 2000
HISTOGRAM_BINS = 30


def _thin(*curves: np.ndarray) -> list[list[float]]:
    """At most CURVE_POINTS points of each curve (same indices, first and last kept)."""
    n = len(curves[0])
    keep = np.unique(np.linspace(0, n - 1, min(n, CURVE_POINTS)).round().astype(int)) if n else np.arange(0)
    return [[float(v) for v in c[keep]] for c in curves]


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def class_predictions(head: Head, values: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities [M, C] and true classes [M] of a classification head; M = samples × positions
    (a sequence output gives one prediction per position)."""
    axis = head.axis(values, y)
    probs = head.probabilities(values, axis)
    if head.binary:
        p = probs.reshape(-1)
        labels = align(y, values).reshape(-1).round().long()
        return torch.stack([1 - p, p], dim=1).double().numpy(), labels.numpy()
    probs = probs.reshape(-1, probs.shape[-1])
    if y.shape == values.shape:  # one-hot or soft targets
        labels = y.movedim(axis, -1).reshape(probs.shape).argmax(-1)
    else:
        labels = class_targets(y, values, axis).reshape(-1)
    return probs.double().numpy(), labels.numpy()


def classification(probs: np.ndarray, labels: np.ndarray, names: list[str], per_sample: int,
                   parts: set[Part]) -> dict[str, Any]:
    """The classification report of probabilities [M, C] against true classes [M]; prediction ``m`` is of
    sample ``m // per_sample``."""
    n_classes = probs.shape[1]
    classes = list(range(n_classes))
    pred = probs.argmax(1)
    result: dict[str, Any] = {"task": "classification", "classes": names, "samples": int(len(labels) // per_sample),
                              "accuracy": float(skm.accuracy_score(labels, pred))}
    if "confusion_matrix" in parts:
        cm = skm.confusion_matrix(labels, pred, labels=classes)
        totals = cm.sum(axis=1, keepdims=True)
        normalized = np.divide(cm, totals, out=np.zeros(cm.shape, dtype=np.float64), where=totals > 0)
        cells: list[list[list[int]]] = [[[] for _ in classes] for _ in classes]
        for m in np.argsort(-probs[np.arange(len(pred)), pred], kind="stable"):  # most confident first
            cell = cells[labels[m]][pred[m]]
            if len(cell) < CELL_SAMPLES:
                cell.append(int(m // per_sample))
        result["confusion_matrix"] = {"counts": cm.tolist(), "normalized": normalized.round(6).tolist(),
                                      "samples": cells, "samples_cap": CELL_SAMPLES}
    if "per_class" in parts:
        precision, recall, f1, support = skm.precision_recall_fscore_support(labels, pred, labels=classes,
                                                                             zero_division=0)
        result["per_class"] = [{"class": names[c], "precision": float(precision[c]), "recall": float(recall[c]),
                                "f1": float(f1[c]), "support": int(support[c])} for c in classes]
        result["macro_f1"] = float(np.mean(f1))
    if "roc" in parts or "pr" in parts:
        roc: dict[str, dict[str, Any]] = {}
        pr: dict[str, dict[str, Any]] = {}
        for c in classes:
            positive = labels == c
            if positive.all() or not positive.any():
                note = "only one class is present in this split: no curve"
                roc[names[c]] = {"fpr": [], "tpr": [], "auc": None, "note": note}
                pr[names[c]] = {"recall": [], "precision": [], "auc": None, "average_precision": None, "note": note}
                continue
            fpr, tpr, _ = skm.roc_curve(positive, probs[:, c])
            thin_fpr, thin_tpr = _thin(fpr, tpr)
            roc[names[c]] = {"fpr": thin_fpr, "tpr": thin_tpr, "auc": _number(skm.roc_auc_score(positive, probs[:, c]))}
            precision_c, recall_c, _ = skm.precision_recall_curve(positive, probs[:, c])
            thin_recall, thin_precision = _thin(recall_c, precision_c)
            pr[names[c]] = {"recall": thin_recall, "precision": thin_precision,
                            "auc": _number(skm.auc(recall_c, precision_c)),
                            "average_precision": _number(skm.average_precision_score(positive, probs[:, c]))}
        if "roc" in parts:
            result["roc"] = roc
        if "pr" in parts:
            result["pr"] = pr
    if "worst" in parts and per_sample == 1:
        true_p = probs[np.arange(len(labels)), labels]
        worst = []
        for m in np.argsort(true_p, kind="stable")[:WORST]:
            top = np.argsort(-probs[m])[:3]
            worst.append({"index": int(m), "true": names[labels[m]], "predicted": names[pred[m]],
                          "true_probability": float(true_p[m]),
                          "probabilities": [{"label": names[c], "probability": float(probs[m, c])} for c in top]})
        result["worst"] = worst
    return result


def regression(pred: np.ndarray, true: np.ndarray, parts: set[Part]) -> dict[str, Any]:
    """The regression report of predictions against targets, both [N, D]."""
    residual = pred - true
    result: dict[str, Any] = {"task": "regression", "samples": int(len(true)),
                              "mae": float(skm.mean_absolute_error(true, pred)),
                              "rmse": float(np.sqrt(skm.mean_squared_error(true, pred))),
                              "r2": _number(skm.r2_score(true, pred)) if len(true) > 1 else None}
    if "scatter" in parts:
        flat_true, flat_pred = true.reshape(-1), pred.reshape(-1)
        keep = np.linspace(0, len(flat_true) - 1, min(len(flat_true), SCATTER_POINTS)).round().astype(int)
        result["scatter"] = {"true": [float(v) for v in flat_true[np.unique(keep)]],
                             "predicted": [float(v) for v in flat_pred[np.unique(keep)]]}
    if "residuals" in parts:
        counts, edges = np.histogram(residual.reshape(-1), bins=HISTOGRAM_BINS)
        result["residuals"] = {"counts": counts.tolist(), "edges": [float(e) for e in edges],
                               "mean": float(residual.mean()), "std": float(residual.std())}
    if "worst" in parts:
        error = np.abs(residual).mean(axis=1)
        result["worst"] = [{"index": int(i), "error": float(error[i]),
                            "true": [float(v) for v in true[i][:8]], "predicted": [float(v) for v in pred[i][:8]]}
                           for i in np.argsort(-error, kind="stable")[:WORST]]
    return result


def evaluate_run(rd: RunData, split: SplitName = "test", output: str | None = None,
                 include: list[Part] | None = None) -> dict[str, Any]:
    """``{"split", "outputs": {name: report}}`` for every Output (or the one named)."""
    names = rd.compiled.output_names
    if output is not None and output not in names:
        raise InsightError(f"no output '{output}'; outputs: {', '.join(names)}", "output")
    data = rd.split(split)
    evaluator = Evaluator(rd.compiled, rd.data, rd.config)
    heads = [(i, h) for i, h in enumerate(evaluator.heads) if output is None or h.name == output]
    wanted = set(include or ())
    class_only = sorted(wanted - set(REGRESSION_PARTS))
    if class_only and not any(h.classification for _, h in heads):
        outputs = ", ".join(f"'{h.name}' (loss {h.kind})" for _, h in heads)
        raise InsightError(f"{', '.join(class_only)}: only for classification outputs, and output {outputs} "
                           "is a regression output; a regression output has mae, rmse, r2, scatter, residuals "
                           "and worst", "include")
    outs = evaluator.outputs(data)
    targets = rd.data.targets(data)
    n = len(next(iter(data.values())))
    reports: dict[str, Any] = {}
    for i, head in heads:
        values = torch.cat([o[i] for o in outs]) if len(outs) > 1 else outs[0][i]
        y = targets[head.name]
        if head.classification:
            parts = (wanted & set(CLASSIFICATION_PARTS)) if wanted else set(CLASSIFICATION_PARTS)
            probs, labels = class_predictions(head, values, y)
            labels_named = rd.data.preprocessing.classes.get(head.name) or []
            class_names = [labels_named[c] if c < len(labels_named) else str(c) for c in range(probs.shape[1])]
            report = classification(probs, labels, class_names, max(1, len(labels) // n), parts)
        else:
            parts = (wanted & set(REGRESSION_PARTS)) if wanted else set(REGRESSION_PARTS)
            pred = values.detach().double().reshape(n, -1).numpy()
            true = align(y, values).double().reshape(n, -1).numpy()
            report = regression(pred, true, parts)
        reports[head.name] = {"output": head.name, "loss": head.kind, **report}
    return {"split": split, "outputs": reports}
