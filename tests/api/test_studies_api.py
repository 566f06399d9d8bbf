"""Hyperparameter studies over HTTP: trials are ordinary runs, bad spaces are 422s naming the field, a grid runs
each point once, the median pruner stops a hopeless trial, a study stops and survives a server restart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from starlette.testclient import TestClient

from netcanvas.search.space import Categorical
from netcanvas.search.study import make_sampler
from runhelpers import IRIS_MLP, app_client, wait_for

FAST = {"epochs": 2, "batch_size": 16}


def study_body(space: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"graph": IRIS_MLP, "dataset": {"name": "iris"}, "config": FAST, "sampler": "random",
                            "trials": 2, "objective": "val_accuracy", "pruner": None}
    if space is not None:
        body["space"] = space
    return {**body, **options}


def wait_study(client: TestClient, study_id: str, status: str = "completed", timeout: float = 240) -> dict[str, Any]:
    """The study once it has ended, which must be with ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        study = client.get(f"/api/studies/{study_id}").json()
        if study["status"] != "running":
            assert study["status"] == status, study["error"]
            return dict(study)
        assert time.monotonic() < deadline, f"study stayed {study['status']}: {study['counts']}"
        time.sleep(0.2)


def wait_trial_run(client: TestClient, study_id: str, number: int = 0, timeout: float = 120) -> str:
    """The run id of a trial, once it has one."""
    deadline = time.monotonic() + timeout
    while True:
        trials = client.get(f"/api/studies/{study_id}").json()["trials"]
        if len(trials) > number and trials[number]["run_id"]:
            return str(trials[number]["run_id"])
        assert time.monotonic() < deadline, "the trial never got a run"
        time.sleep(0.1)


def test_every_trial_is_an_ordinary_run_with_the_trial_values(tmp_path: Path) -> None:
    space = {"config.optimizer.lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
             "nodes.n0.out_features": {"type": "int", "low": 4, "high": 24}}
    with app_client(tmp_path) as client:
        r = client.post("/api/studies", json=study_body(space, trials=3))
        assert r.status_code == 201, r.text
        study = wait_study(client, r.json()["id"])
        assert study["counts"] == {"complete": 3}
        assert [t["number"] for t in study["trials"]] == [0, 1, 2]
        for trial in study["trials"]:
            run = client.get(f"/api/runs/{trial['run_id']}").json()
            assert run["status"] == "completed"
            assert run["name"] == f"search: mlp · trial {trial['number']}"
            hidden = next(n for n in run["graph"]["nodes"] if n["id"] == "n0")
            assert hidden["params"]["out_features"] == trial["params"]["nodes.n0.out_features"]
            assert run["config"]["optimizer"]["lr"] == pytest.approx(trial["params"]["config.optimizer.lr"])
            per_epoch = [e["metrics"]["val_accuracy"] for e in run["history"]]
            assert trial["value"] == pytest.approx(max(per_epoch))
            assert [v for _, v in trial["intermediate"]] == pytest.approx(per_epoch)
            assert client.get(f"/api/runs/{trial['run_id']}/export?format=onnx").status_code == 200
        best = max(study["trials"], key=lambda t: t["value"])
        assert study["best"]["number"] == best["number"]
        assert study["direction"] == "maximize" and study["objective"] == "val_accuracy"
        listed = client.get("/api/studies").json()
        assert [s["id"] for s in listed] == [study["id"]] and listed[0]["counts"] == {"complete": 3}


def test_the_graphs_own_search_marks_are_the_default_space(tmp_path: Path) -> None:
    graph = {**IRIS_MLP, "search": {"config.batch_size": {"type": "categorical", "choices": [8, 32]}}}
    with app_client(tmp_path) as client:
        r = client.post("/api/studies", json={**study_body(), "graph": graph, "sampler": "grid"})
        assert r.status_code == 201, r.text
        study = wait_study(client, r.json()["id"])
        assert sorted(t["params"]["config.batch_size"] for t in study["trials"]) == [8, 32]
        assert study["space"] == graph["search"]
        assert client.post("/api/graphs/validate", json=graph).json()["valid"]


BAD = [
    ({"nodes.nope.out_features": {"type": "int", "low": 4, "high": 8}}, {}, ["space", "nodes.nope.out_features"],
     "no node 'nope'"),
    ({"nodes.n0.width": {"type": "int", "low": 4, "high": 8}}, {}, ["space", "nodes.n0.width"],
     "Linear has no param 'width'"),
    ({"nodes.n0.out_features": {"type": "int", "low": 9, "high": 8}}, {}, ["space", "nodes.n0.out_features"],
     "low (9) is greater than high (8)"),
    ({"config.optimizer.lr": {"type": "float", "low": 0.1, "high": 0.01}}, {}, ["space", "config.optimizer.lr"],
     "low (0.1) is greater than high (0.01)"),
    ({"nodes.n1.type": {"type": "categorical", "choices": []}}, {}, ["space", "nodes.n1.type"],
     "at least one choice"),
    ({"config.momentum_of_doom": {"type": "float", "low": 0.1, "high": 0.2}}, {}, ["space", "config.momentum_of_doom"],
     "no setting momentum_of_doom"),
    ({"nodes.n0.out_features": {"type": "int", "low": 0, "high": 8}}, {}, ["space", "nodes.n0.out_features"],
     "not a valid out_features"),
    ({"nodes.n0.out_features": {"type": "int", "low": 4, "high": 40}}, {"sampler": "grid", "trials": 10},
     ["trials"], "the grid has 37 points"),
    ({"config.optimizer.lr": {"type": "float", "low": 0.01, "high": 0.1}}, {"sampler": "grid"},
     ["space", "config.optimizer.lr"], "needs a step"),
    ({"config.optimizer.lr": {"type": "float", "low": 0.01, "high": 0.1}}, {"objective": "val_f1"},
     ["objective"], "do not report 'val_f1'"),
    ({"config.optimizer.lr": {"type": "float", "low": 0.01, "high": 0.1}}, {"parallel": 3},
     ["parallel"], "NETCANVAS_MAX_CONCURRENT_RUNS"),
    ({}, {}, ["space"], "the search space is empty"),
]


@pytest.mark.parametrize(("space", "options", "loc", "words"), BAD, ids=[b[3] for b in BAD])
def test_a_bad_study_is_a_422_naming_the_field_and_queues_nothing(tmp_path: Path, space: dict[str, Any],
                                                                   options: dict[str, Any], loc: list[str],
                                                                   words: str) -> None:
    with app_client(tmp_path, max_concurrent_runs=2) as client:
        r = client.post("/api/studies", json=study_body(space, **options))
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert detail[0]["loc"] == ["body", *loc], detail
        assert words in detail[0]["msg"], detail
        assert client.get("/api/studies").json() == []
        assert client.get("/api/runs").json() == []


def test_a_space_without_a_search_in_the_graph_or_the_body_is_a_422(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        r = client.post("/api/studies", json=study_body())
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "space"]
        r = client.post("/api/studies", json={**study_body(), "graph": {**IRIS_MLP, "search": {
            "config.batch_size": {"type": "categorical", "choices": "many"}}}})
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"][:3] == ["body", "graph", "search"], r.text
        assert client.get("/api/runs").json() == []


def grid_order(space: dict[str, Any], seed: int) -> list[Any]:
    """The order in which the grid sampler visits a one-dimension grid with this seed."""
    key, dim = next(iter(space.items()))
    study = optuna.create_study(sampler=make_sampler("grid", {key: Categorical.model_validate(dim)}, seed, 3))
    order = []
    for _ in dim["choices"]:
        trial = study.ask()
        order.append(trial.suggest_categorical(key, dim["choices"]))
        study.tell(trial, 0.0)
    return order


def test_the_median_pruner_stops_a_hopeless_trial_and_says_so(tmp_path: Path) -> None:
    space = {"config.optimizer.lr": {"type": "categorical", "choices": [0.05, 0.04, 1e-9]}}
    seed = next(s for s in range(100) if grid_order(space, s)[-1] == 1e-9)  # two good trials before the bad one
    with app_client(tmp_path) as client:
        body = study_body(space, sampler="grid", trials=3, pruner="median", objective="val_loss", seed=seed,
                          config={"epochs": 300, "batch_size": 16})  # long enough to be stopped
        r = client.post("/api/studies", json=body)
        assert r.status_code == 201, r.text
        study = wait_study(client, r.json()["id"])
        states = {t["params"]["config.optimizer.lr"]: t for t in study["trials"]}
        assert states[0.05]["state"] == states[0.04]["state"] == "complete"
        pruned = states[1e-9]
        assert pruned["state"] == "pruned", pruned
        assert pruned["message"].startswith("pruned after epoch ")
        run = wait_for(client, pruned["run_id"], ("stopped",))
        assert run["epochs_done"] < 300
        logs = [e["message"] for e in client.get(f"/api/runs/{pruned['run_id']}/events").json() if e["type"] == "log"]
        assert "stop requested" in logs
        assert study["best"]["params"]["config.optimizer.lr"] in (0.05, 0.04)


def test_a_stopped_study_stops_its_running_trial_and_starts_no_other(tmp_path: Path) -> None:
    space = {"config.optimizer.lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True}}
    with app_client(tmp_path) as client:
        body = study_body(space, trials=5, config={"epochs": 100_000, "batch_size": 8})
        study_id = client.post("/api/studies", json=body).json()["id"]
        run_id = wait_trial_run(client, study_id)
        wait_for(client, run_id, ("running",))
        r = client.post(f"/api/studies/{study_id}/stop")
        assert r.status_code == 200 and r.json()["status"] == "stopped"
        wait_for(client, run_id, ("stopped",))
        study = client.get(f"/api/studies/{study_id}").json()
        assert [t["state"] for t in study["trials"]] == ["stopped"]
        assert len(client.get("/api/runs").json()) == 1
        assert client.post("/api/studies/nope/stop").status_code == 404
        assert client.get("/api/studies/nope").status_code == 404


def test_a_study_carries_on_after_a_server_restart(tmp_path: Path) -> None:
    space = {"config.optimizer.lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True}}
    body = study_body(space, trials=2, config={"epochs": 100_000, "batch_size": 8})
    with app_client(tmp_path) as client:
        study_id = client.post("/api/studies", json=body).json()["id"]
        first = wait_trial_run(client, study_id)
        wait_for(client, first, ("running",))
    with app_client(tmp_path) as client:  # the run was stopped with the server; two other trials finish the study
        study = client.get(f"/api/studies/{study_id}").json()
        assert study["status"] == "running"
        second = wait_trial_run(client, study_id, 1)
        wait_for(client, second, ("running",))
        client.post(f"/api/runs/{second}/stop")
        third = wait_trial_run(client, study_id, 2)
        wait_for(client, third, ("running",))
        client.post(f"/api/runs/{third}/stop")
        study = wait_study(client, study_id)
        assert [t["state"] for t in study["trials"]] == ["interrupted", "stopped", "stopped"]
        assert "server stopped" in study["trials"][0]["message"]
        assert study["trials"][1]["params"] != study["trials"][2]["params"]
