"""Devices and precision: the config names them, this machine is checked at submission, the run records what it used.

The CPU path runs everywhere. Tests marked ``gpu`` need a CUDA GPU (``make test-gpu``) and are skipped without one.
"""

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import ValidationError
from typer.testing import CliRunner

from helpers import chain, mlp
from netcanvas import data
from netcanvas.cli import app as cli
from netcanvas.compiler import compile_graph
from netcanvas.runs.execute import execute
from netcanvas.sdk import Model
from netcanvas.training import TrainConfig, devices, train
from netcanvas.training.devices import device_problem, resolve
from netcanvas.training.events import DoneEvent, Event, LogEvent
from runhelpers import IRIS_MLP, app_client, start_run, wait_for

HAS_CUDA = torch.cuda.is_available()
no_cuda = pytest.mark.skipif(HAS_CUDA, reason="checks how a server without a CUDA GPU refuses one")
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU: run `make test-gpu` on one")
CNN = chain([1, 8, 8], ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
            ("MaxPool2d", {"kernel_size": 2}), ("Flatten", {}), ("Linear", {"out_features": 10}), name="cnn")


def run(graph: dict[str, Any], dataset: str, **config: Any) -> tuple[Any, list[Event]]:
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    cfg = TrainConfig.model_validate({"epochs": 3, "batch_size": 32, **config})
    prepared = data.prepare(data.load(dataset), compiled, seed=0, validation_split=cfg.validation_split)
    events: list[Event] = []
    result = train(compiled, prepared, cfg, events.append)
    return result, events


def done_of(events: list[Event]) -> DoneEvent:
    done = events[-1]
    assert isinstance(done, DoneEvent)
    return done


# ---- the config and this machine -------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:3", "mps"])
def test_the_config_takes_every_device_spelling(device: str) -> None:
    assert TrainConfig.model_validate({"device": device}).device == device


@pytest.mark.parametrize("field,value,says", [("device", "tpu", "unknown device 'tpu'"),
                                              ("device", "cuda:x", "unknown device 'cuda:x'"),
                                              ("precision", "8-mixed", "'bf16-mixed'"),
                                              ("precision", 16, "'16-mixed'")])
def test_the_config_refuses_unknown_devices_and_precisions(field: str, value: Any, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TrainConfig.model_validate({field: value})
    error = caught.value.errors()[0]
    assert error["loc"] == (field,)
    assert says in error["msg"]


def test_defaults_are_auto_float32_eager() -> None:
    config = TrainConfig()
    assert (config.device, config.precision, config.compile) == ("auto", "32", False)
    assert resolve("auto") == (torch.device("cuda", 0) if HAS_CUDA else torch.device("cpu"))


@no_cuda
def test_a_server_without_cuda_names_the_device_it_lacks() -> None:
    field, message = device_problem("cuda:1", "32") or ("", "")
    assert field == "device"
    assert message == "device 'cuda:1' is not available on this server (it has no CUDA GPU); available: cpu"


def test_the_cpu_does_bf16_but_not_float16() -> None:
    assert device_problem("cpu", "bf16-mixed") is None
    field, message = device_problem("cpu", "16-mixed") or ("", "")
    assert field == "precision"
    assert "not available on cpu" in message and "use bf16-mixed" in message


# ---- through the API, the CLI and the Python API ------------------------------------------------------------------


@no_cuda
def test_the_api_refuses_an_absent_device_or_precision_at_submission(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        for config, field, says in [({"device": "cuda"}, "device", "device 'cuda' is not available"),
                                    ({"device": "cpu", "precision": "16-mixed"}, "precision", "use bf16-mixed"),
                                    ({"device": "gpu"}, "device", "unknown device 'gpu'")]:
            r = client.post("/api/runs", json={"graph": IRIS_MLP, "dataset": {"name": "iris"}, "config": config})
            assert r.status_code == 422, r.text
            problem = r.json()["detail"][0]
            assert problem["loc"][-1] == field and says in problem["msg"]
        assert client.get("/api/runs").json() == []  # nothing was queued


def test_the_catalog_lists_this_servers_devices(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        found = {d["name"]: d for d in client.get("/api/catalog").json()["devices"]}
    assert found["cpu"]["precisions"] == ["32", "bf16-mixed"]
    assert found["cpu"]["auto"] is not HAS_CUDA
    assert ("cuda:0" in found) is HAS_CUDA


def test_a_server_run_records_device_precision_optimizer_and_memory(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        run_id = start_run(client, config={"epochs": 2, "batch_size": 16, "device": "cpu",
                                           "precision": "bf16-mixed"})
        assert wait_for(client, run_id, ("completed", "failed"))["status"] == "completed"
        done = client.get(f"/api/runs/{run_id}/events").json()[-1]
    assert done["type"] == "done"
    runtime = done["runtime"]
    assert runtime["device"] == "cpu" and runtime["precision"] == "bf16-mixed"
    assert runtime["optimizer"] == "fused" and runtime["compiled"] is False
    assert runtime["peak_memory_of"] == "process" and runtime["peak_memory_bytes"] > 50_000_000
    assert json.loads((tmp_path / "runs" / run_id / "run.json").read_text())["runtime"] == runtime


@no_cuda
def test_the_cli_refuses_an_absent_device(tmp_path: Path) -> None:
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps(IRIS_MLP))
    result = CliRunner().invoke(cli, ["train", str(graph), "--dataset", "iris", "--device", "cuda",
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "config.device: device 'cuda' is not available on this server" in result.output
    assert not (tmp_path / "run").exists()


def test_the_cli_trains_on_the_device_it_is_given(tmp_path: Path) -> None:
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps(IRIS_MLP))
    result = CliRunner().invoke(cli, ["train", str(graph), "--dataset", "iris", "--device", "cpu", "--epochs", "2",
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "run" / "run.json").read_text())["runtime"]["device"] == "cpu"


@no_cuda
def test_fit_refuses_an_absent_device_before_training() -> None:
    model = Model(IRIS_MLP)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="device 'cuda' is not available on this server"):
        model.fit("iris", epochs=1, device="cuda", verbose=0)


def test_fit_on_the_cpu_in_bf16() -> None:
    model = Model(IRIS_MLP)
    model.compile(optimizer={"type": "adam", "lr": 0.02}, metrics=["accuracy"], precision="bf16-mixed")
    history = model.fit("iris", epochs=10, batch_size=16, device="cpu", verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


# ---- training in mixed precision and compiled ----------------------------------------------------------------------


def test_bf16_mixed_on_the_cpu_trains_with_a_finite_falling_loss() -> None:
    result, events = run(CNN, "digits", device="cpu", precision="bf16-mixed", epochs=4,
                         optimizer={"type": "adam", "lr": 0.01}, validation_split=0.2)
    assert result.status == "completed", result.error
    losses = [h["metrics"]["loss"] for h in result.history]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0] / 2
    assert result.metrics["val_accuracy"] > 0.8
    assert all(v.dtype == torch.float32 for v in result.best_state.values())  # weights stay float32
    assert done_of(events).runtime is not None and done_of(events).runtime.precision == "bf16-mixed"


def test_bf16_stays_close_to_float32() -> None:
    full, _ = run(mlp(4, 3), "iris", device="cpu", epochs=10, batch_size=16)
    mixed, _ = run(mlp(4, 3), "iris", device="cpu", precision="bf16-mixed", epochs=10, batch_size=16)
    assert abs(full.metrics["loss"] - mixed.metrics["loss"]) < 0.1


def test_compile_that_fails_falls_back_with_a_logged_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(module: torch.nn.Module) -> Any:
        def fails(*args: Any) -> Any:
            raise RuntimeError("no C++ compiler found")  # what a machine without one says, in short
        return fails

    monkeypatch.setattr(torch, "compile", broken)
    result, events = run(mlp(4, 3), "iris", compile=True, epochs=2)
    eager, _ = run(mlp(4, 3), "iris", epochs=2)
    assert result.status == "completed"
    warnings = [e.message for e in events if isinstance(e, LogEvent) and e.level == "warning"]
    assert warnings == ["compile: torch.compile failed (RuntimeError: no C++ compiler found); training in eager "
                        "mode"]
    assert done_of(events).runtime is not None and done_of(events).runtime.compiled is False
    assert result.metrics == eager.metrics  # the failed batch trained again, eagerly


# ---- on a CUDA GPU (make test-gpu) ----------------------------------------------------------------------------------


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("precision", ["32", "bf16-mixed", "16-mixed"])
def test_cuda_trains_in_every_precision_and_hands_back_cpu_weights(precision: str) -> None:
    result, events = run(CNN, "digits", device="cuda", precision=precision, epochs=4,
                         optimizer={"type": "adam", "lr": 0.01}, validation_split=0.2)
    assert result.status == "completed", result.error
    assert result.metrics["val_accuracy"] > 0.8
    runtime = done_of(events).runtime
    assert runtime is not None and runtime.device == "cuda:0" and runtime.optimizer == "fused"
    assert runtime.peak_memory_of == "device" and runtime.peak_memory_bytes > 0
    assert all(v.device.type == "cpu" for v in result.best_state.values())


@pytest.mark.gpu
@needs_cuda
def test_cuda_and_cpu_reach_the_same_accuracy() -> None:
    cpu, _ = run(mlp(4, 3), "iris", device="cpu", epochs=15, batch_size=16, optimizer={"type": "adam", "lr": 0.02})
    gpu, _ = run(mlp(4, 3), "iris", device="cuda", epochs=15, batch_size=16, optimizer={"type": "adam", "lr": 0.02})
    assert abs(cpu.metrics["val_accuracy"] - gpu.metrics["val_accuracy"]) <= 0.1


@pytest.mark.gpu
@needs_cuda
def test_a_cuda_run_through_execute_writes_cpu_weights(tmp_path: Path) -> None:
    events: list[Event] = []
    outcome = execute(IRIS_MLP, {"name": "iris"}, {"epochs": 2, "device": "cuda", "precision": "bf16-mixed"},
                      tmp_path / "run", events.append)
    assert outcome.status == "completed", outcome.error
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["runtime"]["device"] == "cuda:0"
    assert (tmp_path / "run" / "best.safetensors").is_file()


@pytest.mark.gpu
@needs_cuda
def test_cuda_trains_from_host_memory_when_the_data_does_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "FIT_SHARE", 0.0)  # nothing fits: every batch goes through pinned memory
    result, _ = run(mlp(4, 3), "iris", device="cuda", epochs=10, batch_size=16, optimizer={"type": "adam", "lr": 0.02})
    assert result.status == "completed", result.error
    assert result.metrics["val_accuracy"] > 0.8
