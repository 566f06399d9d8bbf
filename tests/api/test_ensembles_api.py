"""Ensembles over HTTP: members are ordinary runs on one shared split, bagging's ONNX file is the mean of its
members', boosting weights its members by SAMME, stacking fits a meta-learner on out-of-fold predictions, bad
input is a 422 naming the field with nothing queued, and an ensemble survives a server restart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from starlette.testclient import TestClient

from helpers import chain
from runhelpers import IRIS_MLP, app_client, wait_for

FAST = {"epochs": 2, "batch_size": 16, "optimizer": {"type": "adam", "lr": 0.05}}


def body(method: str = "bagging", members: int = 2, **options: Any) -> dict[str, Any]:
    return {"graph": IRIS_MLP, "dataset": {"name": "iris"}, "config": FAST, "method": method, "members": members,
            **options}


def wait_ensemble(client: TestClient, ensemble_id: str, status: str = "completed",
                  timeout: float = 240) -> dict[str, Any]:
    """The ensemble once it has ended, which must be with ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        ensemble = client.get(f"/api/ensembles/{ensemble_id}").json()
        if ensemble["status"] != "running":
            assert ensemble["status"] == status, ensemble["error"]
            return dict(ensemble)
        assert time.monotonic() < deadline, f"ensemble stayed running: {ensemble['member_runs']}"
        time.sleep(0.2)


def session(data: bytes) -> ort.InferenceSession:
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return np.asarray(e / e.sum(1, keepdims=True))


def test_bagging_members_are_runs_and_the_onnx_file_is_the_mean_of_theirs(tmp_path: Path) -> None:
    with app_client(tmp_path, max_concurrent_runs=2) as client:  # independent members: two train at once
        r = client.post("/api/ensembles", json=body("bagging", 3))
        assert r.status_code == 201, r.text
        ensemble = wait_ensemble(client, r.json()["id"])
        members = ensemble["member_runs"]
        assert [m["number"] for m in members] == [0, 1, 2] and [m["seed"] for m in members] == [0, 1, 2]
        samples = []
        for member in members:
            run = client.get(f"/api/runs/{member['run_id']}").json()
            assert run["status"] == member["status"] == "completed"
            assert run["name"] == f"bagging: mlp · member {member['number']}"
            assert run["config"]["seed"] == member["seed"]
            resample = run["dataset"]["resample"]
            assert resample["split_seed"] == 0 and len(resample["indices"]) == member["samples"]
            samples.append(resample["indices"])
            assert member["test_metrics"] == run["test_metrics"] and "test_accuracy" in run["test_metrics"]
        assert len({tuple(s) for s in samples}) == 3  # each its own bootstrap sample
        assert len(set(samples[0])) < len(samples[0])  # with repeats
        metrics = ensemble["test_metrics"]
        assert set(metrics) == {"test_loss", "test_accuracy"} and 0 <= metrics["test_accuracy"] <= 1
        assert [e["id"] for e in client.get("/api/ensembles").json()] == [ensemble["id"]]

        x = np.random.default_rng(0).normal(size=(9, 4)).astype(np.float32)
        member_probs = []
        for member in members:
            got = client.get(f"/api/runs/{member['run_id']}/export?format=onnx")
            assert got.status_code == 200
            member_probs.append(softmax(session(got.content).run(None, {"x": x})[0]))
        got = client.get(f"/api/ensembles/{ensemble['id']}/export?format=onnx")
        assert got.status_code == 200, got.text
        assert "ensemble" in got.headers["content-disposition"]
        combined = session(got.content).run(None, {"x": x})[0]
        np.testing.assert_allclose(combined, np.mean(member_probs, axis=0), atol=1e-5, rtol=1e-4)
        report = client.get(f"/api/ensembles/{ensemble['id']}/export/report").json()
        assert report["format"] == "onnx" and any("validation samples" in c for c in report["checked"])

        raw = [5.1, 3.5, 1.4, 0.2]
        answer = client.post(f"/api/ensembles/{ensemble['id']}/predict", json={"inputs": {"x": raw}})
        assert answer.status_code == 200, answer.text
        ranked = answer.json()["classes"]["y"]
        assert sum(c["probability"] for c in ranked) == pytest.approx(1.0, abs=1e-5)
        bad = client.post(f"/api/ensembles/{ensemble['id']}/predict", json={"inputs": {"x": [1, 2]}})
        assert bad.status_code == 422 and "input 'x'" in bad.json()["detail"]


def test_boosting_weights_each_member_by_samme_and_resamples_the_hard_samples(tmp_path: Path) -> None:
    config = {**FAST, "epochs": 4}
    with app_client(tmp_path) as client:
        r = client.post("/api/ensembles", json=body("boosting", 3, config=config))
        assert r.status_code == 201, r.text
        ensemble = wait_ensemble(client, r.json()["id"])
        members = ensemble["member_runs"]
        assert members, ensemble
        for member in members:
            assert member["error"] is not None and member["weight"] is not None
            if member["weight"] > 0:  # log((1 - err) / err) + log(K - 1)
                assert member["weight"] == pytest.approx(np.log((1 - member["error"]) / max(member["error"], 1e-10))
                                                         + np.log(2))
        used = ensemble["combiner"]["weights"]
        assert used == [m["weight"] for m in members][:len(used)]
        assert ensemble["combiner"]["method"] == "boosting" and "test_accuracy" in ensemble["test_metrics"]
        runs = [client.get(f"/api/runs/{m['run_id']}").json() for m in members]
        assert all(r["dataset"]["resample"]["split_seed"] == 0 for r in runs)
        assert client.get(f"/api/ensembles/{ensemble['id']}/export").status_code == 200


def test_stacking_trains_each_member_without_its_fold_and_fits_a_meta_learner(tmp_path: Path) -> None:
    with app_client(tmp_path, max_concurrent_runs=2) as client:
        r = client.post("/api/ensembles", json=body("stacking", 3))
        assert r.status_code == 201, r.text
        ensemble = wait_ensemble(client, r.json()["id"])
        runs = [client.get(f"/api/runs/{m['run_id']}").json() for m in ensemble["member_runs"]]
        train = {len(r["dataset"]["resample"]["indices"]) for r in runs}
        kept = [set(r["dataset"]["resample"]["indices"]) for r in runs]
        size = len(kept[0] | kept[1] | kept[2])
        held = [set(range(size)) - k for k in kept]
        assert all(held) and sum(len(h) for h in held) == size and not (held[0] & held[1])  # folds
        assert all(len(set(r["dataset"]["resample"]["indices"])) == n for r, n in zip(runs, train, strict=False))
        meta = ensemble["combiner"]["meta"]["y"]
        assert np.array(meta["weight"]).shape == (3, 3) and len(meta["bias"]) == 3
        assert "test_accuracy" in ensemble["test_metrics"]
        got = client.get(f"/api/ensembles/{ensemble['id']}/export")
        assert got.status_code == 200, got.text


def test_stacking_a_regression_fits_a_ridge_meta_learner(tmp_path: Path) -> None:
    graph = chain([10], ("Linear", {"out_features": 8}), ("ReLU", {}), ("Linear", {"out_features": 1}),
                  name="reg")
    config = {**FAST, "loss": "mse", "metrics": ["mae"]}
    with app_client(tmp_path, max_concurrent_runs=2) as client:
        r = client.post("/api/ensembles", json={"graph": graph, "dataset": {"name": "diabetes"}, "config": config,
                                                "method": "stacking", "members": 2})
        assert r.status_code == 201, r.text
        ensemble = wait_ensemble(client, r.json()["id"])
        assert set(ensemble["test_metrics"]) == {"test_loss", "test_mae"}
        assert np.array(ensemble["combiner"]["meta"]["y"]["weight"]).shape == (1, 1)


@pytest.mark.parametrize(("change", "loc"), [
    ({"members": 0}, ["body", "members"]),
    ({"members": 1000}, ["body", "members"]),
    ({"method": "voting"}, ["body", "method"]),
    ({"config": {"epochs": 0}}, ["body", "config", "epochs"]),
    ({"dataset": {"name": "no-such-set"}}, ["body", "dataset"]),
])
def test_bad_input_is_a_422_naming_the_field_and_nothing_is_queued(tmp_path: Path, change: dict[str, Any],
                                                                   loc: list[str]) -> None:
    with app_client(tmp_path) as client:
        r = client.post("/api/ensembles", json={**body(), **change})
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert any(d["loc"][:len(loc)] == loc for d in detail), detail
        assert client.get("/api/ensembles").json() == [] and client.get("/api/runs").json() == []


def test_a_graph_the_method_cannot_combine_is_a_422_naming_the_node_or_method(tmp_path: Path) -> None:
    bad_graph = {**IRIS_MLP, "nodes": [*IRIS_MLP["nodes"][:-1], {"id": "y", "type": "Output"}],
                 "edges": [*IRIS_MLP["edges"][:-1], {"source": "missing", "target": "y"}]}
    regression = chain([10], ("Linear", {"out_features": 1}), name="reg")
    with app_client(tmp_path) as client:
        r = client.post("/api/ensembles", json={**body(), "graph": bad_graph})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "graph"], r.text
        r = client.post("/api/ensembles", json={"graph": regression, "dataset": {"name": "diabetes"},
                                                "config": {**FAST, "loss": "mse"}, "method": "boosting"})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "method"] and "SAMME" in r.json()["detail"][0]["msg"]
        assert client.get("/api/runs").json() == []


def test_unknown_or_unfinished_ensembles(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        assert client.get("/api/ensembles/nope").status_code == 404
        assert client.get("/api/ensembles/nope/export").status_code == 404
        assert client.post("/api/ensembles/nope/stop").status_code == 404
        r = client.post("/api/ensembles", json=body("bagging", 2, config={**FAST, "epochs": 100_000}))
        ensemble_id = r.json()["id"]
        answer = client.get(f"/api/ensembles/{ensemble_id}/export")
        assert answer.status_code == 409 and "running" in answer.json()["detail"]
        stopped = client.post(f"/api/ensembles/{ensemble_id}/stop").json()
        assert stopped["status"] == "stopped"
        for member in client.get(f"/api/ensembles/{ensemble_id}").json()["member_runs"]:
            wait_for(client, member["run_id"], ("stopped",), timeout=60)


def test_an_ensemble_in_progress_continues_after_a_server_restart(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        r = client.post("/api/ensembles", json=body("bagging", 2, config={**FAST, "epochs": 100_000}))
        ensemble_id = r.json()["id"]
        deadline = time.monotonic() + 60
        while not client.get(f"/api/ensembles/{ensemble_id}").json()["member_runs"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        first = client.get(f"/api/ensembles/{ensemble_id}").json()["member_runs"][0]["run_id"]
        wait_for(client, first, ("running",), timeout=60)
    with app_client(tmp_path) as client:  # the old server stopped its members; this one trains them again
        ensemble = client.get(f"/api/ensembles/{ensemble_id}").json()
        assert ensemble["status"] == "running"
        deadline = time.monotonic() + 60
        while first == client.get(f"/api/ensembles/{ensemble_id}").json()["member_runs"][0]["run_id"]:
            assert time.monotonic() < deadline, "member 0 was not trained again"
            time.sleep(0.1)
        ensemble = client.get(f"/api/ensembles/{ensemble_id}").json()
        assert "trained again" in (ensemble["message"] or "")
        assert client.app.state.ensembles.resume() == []  # type: ignore[attr-defined]  # a live server drives it
        client.post(f"/api/ensembles/{ensemble_id}/stop")
        assert client.get(f"/api/ensembles/{ensemble_id}").json()["status"] == "stopped"



