"""The samples and weights of each ensemble method (numpy and scikit-learn; no torch, no server).

- bagging: a bootstrap sample of the training split per member (``bootstrap``).
- boosting: SAMME (Zhu et al., 2009; scikit-learn's ``AdaBoostClassifier``) by weighted resampling: each member
  trains on a sample drawn with the current sample weights (``weighted_sample``), then ``samme`` gives it its
  weight and raises the weights of the samples it got wrong.
- stacking: K folds of the training split (``folds``, K = the members); member k trains without fold k and
  predicts it, and ``fit_meta`` fits the meta-learner on those out-of-fold predictions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold

from .combine import META_TINY, Meta


def bootstrap(size: int, seed: int) -> list[int]:
    """``size`` positions drawn with replacement, seeded."""
    return sorted(np.random.default_rng(seed).integers(0, size, size).tolist())


def weighted_sample(weights: np.ndarray, seed: int) -> list[int]:
    """As many positions as there are weights, drawn with replacement in proportion to them, seeded."""
    p = weights / weights.sum()
    return sorted(np.random.default_rng(seed).choice(len(weights), size=len(weights), replace=True, p=p).tolist())


@dataclass
class Boost:
    alpha: float
    """The member's weight in the vote; 0 when it is no better than chance (boosting ends there)."""
    error: float
    """Its weighted error on the training split."""
    weights: np.ndarray
    """The sample weights for the next member (sum 1)."""


def samme(predicted: np.ndarray, labels: np.ndarray, weights: np.ndarray, classes: int) -> Boost:
    """One SAMME step: the weighted error of a member's predicted classes, its weight
    ``log((1 - err) / err) + log(K - 1)`` and the new sample weights ``w * exp(alpha * wrong)``."""
    wrong = predicted != labels
    error = float(weights[wrong].sum() / weights.sum())
    if error >= 1.0 - 1.0 / classes - 1e-9:  # no better than chance (rounding included)
        return Boost(0.0, error, weights)
    alpha = math.log((1.0 - max(error, 1e-10)) / max(error, 1e-10)) + math.log(classes - 1)
    updated = weights * np.exp(alpha * wrong)
    return Boost(alpha, error, updated / updated.sum())


def folds(size: int, k: int, seed: int, labels: np.ndarray | None) -> list[np.ndarray]:
    """The held-out positions of each of ``k`` folds (stratified by ``labels`` when every class can be)."""
    positions = np.arange(size)
    if labels is not None and np.unique(labels, return_counts=True)[1].min() >= k:
        splits = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(positions, labels)
    else:
        splits = KFold(n_splits=k, shuffle=True, random_state=seed).split(positions)
    return [np.sort(held) for _, held in splits]


def fit_meta(features: np.ndarray, targets: np.ndarray, kind: str, classes: int, seed: int) -> Meta:
    """The meta-learner on out-of-fold predictions. ``classes``: logistic regression on the log of the class
    probabilities ``features`` [N, K] against class labels [N], as K x K weights (a class the labels lack gets a
    score it never wins with). ``values``: ridge regression of targets [N, d] on predictions [N, d]."""
    if kind == "values":
        ridge = Ridge(alpha=1.0).fit(features, targets.reshape(len(targets), -1))
        weight = np.atleast_2d(ridge.coef_)
        return Meta(weight=weight.tolist(), bias=np.atleast_1d(ridge.intercept_).tolist())
    logs = np.log(np.clip(features, META_TINY, None))
    labels = targets.reshape(-1).astype(np.int64)
    weight = np.zeros((classes, classes))
    bias = np.full(classes, -30.0)
    present = np.unique(labels)
    if len(present) == 1:  # one class only: it always wins
        bias[present[0]] = 0.0
        return Meta(weight=weight.tolist(), bias=bias.tolist())
    model = LogisticRegression(max_iter=1000, random_state=seed).fit(logs, labels)
    coef, intercept = np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_)
    if len(model.classes_) == 2 and coef.shape[0] == 1:  # one score for the second class against the first
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.array([0.0, intercept[0]])
    for row, label in enumerate(model.classes_):
        weight[int(label)] = coef[row]
        bias[int(label)] = intercept[row]
    return Meta(weight=weight.tolist(), bias=bias.tolist())
