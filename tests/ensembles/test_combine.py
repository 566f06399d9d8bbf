"""The combined model of an ensemble: what each method computes from its members, and its ONNX export checked in
ONNX Runtime against the PyTorch ensemble."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from helpers import chain, mlp
from netcanvas.compiler import CompiledGraph, compile_graph
from netcanvas.ensembles import Combiner, Meta, combine
from netcanvas.ensembles.methods import bootstrap, fit_meta, folds, samme, weighted_sample
from netcanvas.export.onnx import export_onnx


def members(graph: dict, count: int = 3) -> list[CompiledGraph]:
    made = []
    for seed in range(count):
        torch.manual_seed(seed)
        made.append(compile_graph(graph))
    return made


def outputs(models: list[CompiledGraph], x: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        return [m.module.eval()(x) for m in models]


X = torch.randn(11, 4, generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize("final", [None, "Softmax", "LogSoftmax"])
def test_bagging_averages_the_members_class_probabilities_whatever_their_final_layer(final: str | None) -> None:
    models = members(mlp(4, 3, hidden=8, final=final))
    combined = combine(models, Combiner(method="bagging", kinds={"y": "classes"}))
    probs = []
    for out in outputs(models, X):
        probs.append(out.exp() if final == "LogSoftmax" else out if final == "Softmax" else out.softmax(-1))
    with torch.no_grad():
        got = combined.module(X)
    torch.testing.assert_close(got, torch.stack(probs).mean(0), atol=1e-6, rtol=1e-5)
    assert combined.final_activation == {"y": "Softmax"}


def test_bagging_averages_values_and_binary_probabilities() -> None:
    regression = members(chain([4], ("Linear", {"out_features": 2}), name="reg"))
    with torch.no_grad():
        got = combine(regression, Combiner(method="bagging", kinds={"y": "values"})).module(X)
    torch.testing.assert_close(got, torch.stack(outputs(regression, X)).mean(0))
    binary = members(chain([4], ("Linear", {"out_features": 1}), name="bin"))
    with torch.no_grad():
        got = combine(binary, Combiner(method="bagging", kinds={"y": "binary"})).module(X)
    torch.testing.assert_close(got, torch.stack([o.sigmoid() for o in outputs(binary, X)]).mean(0), atol=1e-6,
                               rtol=1e-5)


def test_boosting_is_sammes_weighted_vote_as_scikit_learns_predict_proba() -> None:
    models = members(mlp(4, 3, hidden=8), 3)
    weights = [0.5, 1.5, 0.25]
    with torch.no_grad():
        got = combine(models, Combiner(method="boosting", kinds={"y": "classes"}, weights=weights)).module(X)
    votes = torch.zeros(len(X), 3)
    for out, alpha in zip(outputs(models, X), weights, strict=True):
        votes += alpha * torch.nn.functional.one_hot(out.argmax(-1), 3)
    expected = torch.softmax(votes / (sum(weights) * 2), -1)
    torch.testing.assert_close(got, expected)
    assert torch.equal(got.argmax(-1), votes.argmax(-1))


def test_stacking_feeds_the_mean_log_probabilities_to_the_meta_learner() -> None:
    models = members(mlp(4, 3, hidden=8), 2)
    weight = [[1.0, 0.5, 0.0], [0.0, 2.0, 0.0], [0.3, 0.0, 1.0]]
    bias = [0.1, -0.2, 0.0]
    combiner = Combiner(method="stacking", kinds={"y": "classes"}, meta={"y": Meta(weight=weight, bias=bias)})
    with torch.no_grad():
        got = combine(models, combiner).module(X)
    mean = torch.stack([o.softmax(-1) for o in outputs(models, X)]).mean(0)
    expected = torch.softmax(mean.clamp(min=1e-7).log() @ torch.tensor(weight).T + torch.tensor(bias), -1)
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("method", ["bagging", "boosting", "stacking"])
def test_the_onnx_file_is_one_model_that_onnx_runtime_runs_like_the_pytorch_ensemble(tmp_path: Path,
                                                                                       method: str) -> None:
    models = members(mlp(4, 3, hidden=8), 3)
    combiner = Combiner(method=method, kinds={"y": "classes"},  # type: ignore[arg-type]
                        weights=[0.7, 1.1, 0.4] if method == "boosting" else None,
                        meta={"y": Meta(weight=np.eye(3).tolist(), bias=[0.0, 0.1, 0.2])} if method == "stacking"
                        else None)
    combined = combine(models, combiner)
    report = export_onnx(combined, tmp_path / "ensemble.onnx")
    assert report.checked and report.max_abs_diff is not None and report.max_abs_diff < 1e-4
    session = ort.InferenceSession(str(tmp_path / "ensemble.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x"] and [o.name for o in session.get_outputs()] == ["y"]
    got = session.run(None, {"x": X.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, combined.module(X).numpy(), atol=1e-5, rtol=1e-4)
    if method == "bagging":  # one file that equals the mean of its members' outputs
        mean = torch.stack([o.softmax(-1) for o in outputs(models, X)]).mean(0).numpy()
        np.testing.assert_allclose(got, mean, atol=1e-5, rtol=1e-4)


def test_samples_folds_and_samme_steps() -> None:
    assert bootstrap(10, 1) == bootstrap(10, 1) != bootstrap(10, 2)
    assert len(bootstrap(10, 1)) == 10 and all(0 <= i < 10 for i in bootstrap(10, 1))
    heavy = np.array([0.0, 0.0, 1.0, 0.0])
    assert weighted_sample(heavy, 0) == [2, 2, 2, 2]
    labels = np.array([0, 1, 2] * 4)
    parts = folds(12, 3, 0, labels)
    assert sorted(np.concatenate(parts).tolist()) == list(range(12))
    assert all(len(set(labels[p].tolist())) == 3 for p in parts)  # stratified
    weights = np.full(4, 0.25)
    step = samme(np.array([0, 1, 2, 0]), np.array([0, 1, 2, 2]), weights, 3)
    assert step.error == pytest.approx(0.25)
    assert step.alpha == pytest.approx(np.log(3) + np.log(2))
    assert step.weights[3] > step.weights[0] and step.weights.sum() == pytest.approx(1.0)
    chance = samme(np.array([1, 1, 1]), np.array([0, 2, 1]), np.full(3, 1 / 3), 3)
    assert chance.alpha == 0.0


def test_the_meta_learner_maps_every_class_and_a_regression() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 60)
    probs = np.full((60, 3), 0.1)
    probs[np.arange(60), labels] = 0.8
    meta = fit_meta(probs, labels, "classes", 3, 0)
    scores = np.log(probs) @ np.array(meta.weight).T + np.array(meta.bias)
    assert (scores.argmax(1) == labels).mean() == 1.0
    two = fit_meta(probs[labels < 2], labels[labels < 2], "classes", 3, 0)  # class 2 never seen: never wins
    scores = np.log(probs) @ np.array(two.weight).T + np.array(two.bias)
    assert 2 not in scores.argmax(1)
    x = rng.normal(size=(50, 2))
    ridge = fit_meta(x, 2 * x + 1, "values", 2, 0)
    assert np.allclose(np.array(ridge.weight), 2 * np.eye(2), atol=0.1)
    assert np.allclose(ridge.bias, [1, 1], atol=0.1)


def test_a_recurrent_ensemble_keeps_its_dynamic_length_axis_in_onnx(tmp_path: Path) -> None:
    """Every member's recurrent layers reach the exporter's translation (their names carry the member's prefix)."""
    graph = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "graphs" / "rnn_dynamic.json").read_text())
    models = members(graph, 2)
    combined = combine(models, Combiner(method="bagging", kinds={name: "classes" for name in models[0].output_names}))
    report = export_onnx(combined, tmp_path / "rnn.onnx")
    assert any("length 17" in label for label in report.checked)
