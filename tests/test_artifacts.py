"""The run directory: the files a run is made of, written atomically, and the model they load into."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from helpers import mlp
from netcanvas.artifacts import Preprocessing, RunDir, RunInfo, Standardization
from netcanvas.compiler import compile_graph
from netcanvas.weights import node_state_dict

GRAPH = mlp(4, 3, hidden=8)


def _weights(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return node_state_dict(compile_graph(GRAPH))


def test_a_run_begins_with_its_graph_config_and_info(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    assert not run.exists()
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        run.graph()
    run.begin(GRAPH, {"epochs": 3, "seed": 5}, RunInfo(id="r1", dataset={"name": "iris"}, seed=5, status="running"))
    assert run.exists() and run.graph() == GRAPH and run.config() == {"epochs": 3, "seed": 5}
    info = run.info()
    assert (info.id, info.status, info.seed, info.dataset) == ("r1", "running", 5, {"name": "iris"})

    run.write_history([{"epoch": 1, "metrics": {"loss": 0.5}, "lr": 0.01, "seconds": 0.1}])
    run.write_preprocessing(Preprocessing(inputs={"x": Standardization(mean=[1.0] * 4, std=[2.0] * 4)},
                                          classes={"y": ["a", "b", "c"]}, dataset="iris"))
    assert run.history()[0]["metrics"] == {"loss": 0.5}
    assert run.preprocessing().classes == {"y": ["a", "b", "c"]}
    assert sorted(p.name for p in run.path.iterdir()) == ["config.json", "graph.json", "history.json",
                                                          "preprocessing.json", "run.json"]  # no temp file left


def test_a_missing_file_reads_as_empty(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.config() == {} and run.history() == [] and run.info().status == "completed"
    assert run.preprocessing().inputs == {} and run.weights_path() is None


def test_last_weights_copied_from_the_best_keep_their_values_when_the_best_changes(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    first, second = _weights(0), _weights(1)
    run.write_weights(first, "best")
    run.copy_weights("best", "last")
    run.write_weights(second, "best")  # a new best: "last" still holds the epoch it was copied at
    last, best = load_file(str(tmp_path / "last.safetensors")), load_file(str(tmp_path / "best.safetensors"))
    assert all(torch.equal(last[k], v) for k, v in first.items())
    assert all(torch.equal(best[k], v) for k, v in second.items())
    run.copy_weights("best", "last")  # again, over the existing file
    assert all(torch.equal(load_file(str(tmp_path / "last.safetensors"))[k], v) for k, v in second.items())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.safetensors", "last.safetensors"]


def test_weights_fall_back_to_the_other_file_and_load_into_an_eval_model(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.write_graph(GRAPH)
    untrained = run.load_model()
    assert not untrained.module.training  # no weights yet: the initial ones, in eval mode
    trained = _weights(3)
    run.write_weights(trained, "last")
    assert run.weights_path("best") == tmp_path / "last.safetensors"
    model = run.load_model("best")
    assert all(torch.equal(v, trained[k]) for k, v in node_state_dict(model).items())
    run.write_weights(_weights(4), "best")
    assert run.weights_path("best") == tmp_path / "best.safetensors"
    assert run.weights_path("last") == tmp_path / "last.safetensors"
