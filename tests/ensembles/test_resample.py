"""A run trained on a recorded sample of its training split (``dataset.resample``): one split whatever the seed,
the sample applied after standardization, a bad sample named; and a combined model of a multi-output graph."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from netcanvas.compiler import compile_graph
from netcanvas.data import load, prepare
from netcanvas.data.resample import resample, split_seed
from netcanvas.ensembles import Combiner, combine
from netcanvas.runs import execute
from runhelpers import IRIS_MLP

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "graphs"


def test_the_sample_replaces_the_training_split_after_its_statistics_are_fit() -> None:
    compiled = compile_graph(IRIS_MLP)
    data = prepare(load("iris"), compiled, seed=0, validation_split=0.2)
    train, test, stats = dict(data.train), data.test, data.preprocessing.inputs["x"]
    sampled = resample(data, {"name": "iris", "resample": {"split_seed": 0, "indices": [0, 0, 5]}})
    assert torch.equal(sampled.train["x"], train["x"][[0, 0, 5]])
    assert sampled.test is test and sampled.preprocessing.inputs["x"] == stats
    assert split_seed({"resample": {"split_seed": 7, "indices": [1]}}, 3) == 7
    member = {"name": "iris", "resample": {"split_seed": 0, "indices": [1]}}  # a member with seed 5
    shared = prepare(load("iris"), compiled, seed=split_seed(member, 5), validation_split=0.2).test
    own = prepare(load("iris"), compiled, seed=5, validation_split=0.2).test
    assert shared is not None and test is not None and own is not None
    assert torch.equal(shared["x"], test["x"]) and not torch.equal(own["x"], test["x"])
    assert split_seed({"name": "iris"}, 3) == 3


def test_members_with_other_seeds_share_the_split_and_a_bad_sample_fails_naming_it(tmp_path: Path) -> None:
    spec = {"name": "iris", "resample": {"split_seed": 0, "indices": list(range(10))}}
    events: list[object] = []
    config = {"epochs": 1, "batch_size": 8, "seed": 5}
    outcome = execute(IRIS_MLP, spec, config, tmp_path / "ok", events.append)
    assert outcome.status == "completed"
    assert "training on 10 samples" in " ".join(str(getattr(e, "message", "")) for e in events)
    bad = execute(IRIS_MLP, {"name": "iris", "resample": {"split_seed": 0, "indices": [0, 500]}}, config,
                  tmp_path / "bad", lambda e: None)
    assert bad.status == "failed" and bad.error is not None and "dataset.resample.indices" in bad.error


def test_bagging_a_multi_output_graph_combines_every_output() -> None:
    graph = json.loads((FIXTURES / "multi_io.json").read_text())
    members = []
    for seed in range(2):
        torch.manual_seed(seed)
        members.append(compile_graph(graph))
    combined = combine(members, Combiner(method="bagging", kinds={"y_class": "classes", "y_value": "values"}))
    x_a, x_b = torch.randn(5, 8), torch.randn(5, 4)
    with torch.no_grad():
        got = combined.module(x_a, x_b)
        outs = [m.module.eval()(x_a, x_b) for m in members]
    assert combined.output_names == ["y_class", "y_value"]
    probs = [o[0] if members[0].final_activation["y_class"] == "Softmax" else o[0].softmax(-1) for o in outs]
    torch.testing.assert_close(got[0], torch.stack(probs).mean(0), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(got[1], torch.stack([o[1] for o in outs]).mean(0))
