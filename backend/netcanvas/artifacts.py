"""A run directory: everything a trained model is, in plain files.

The CLI's ``train --out DIR``, the server's run store and every exporter share this
layout, so ``netcanvas export RUN_DIR`` works on either::

    graph.json            the graph JSON
    config.json           the training config (docs/training-config.md)
    run.json              dataset, seed, status, versions, timestamps, metrics, test metrics
    preprocessing.json    input standardization and class names (see Preprocessing)
    history.json          one entry per epoch: {"epoch": n, "metrics": {...}, "lr": x, "seconds": s}
    best.safetensors      best weights (keys are node ids), written whenever the monitored metric improves
    last.safetensors      weights after the last epoch, written as training goes

The weights are checkpoints: a run that is killed or fails mid-way keeps its best weights so far.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, Field
from safetensors.torch import load_file, save_file

from .compiler import CompiledGraph, compile_graph
from .graph import Graph
from .weights import load_node_state_dict


class Standardization(BaseModel):
    """x_model = (x_raw - mean) / std, broadcast over the input's trailing axes."""

    mean: list[float] | float
    std: list[float] | float
    axis: int = Field(default=-1, description="Axis of the input (batch excluded) that mean/std run along")


class Preprocessing(BaseModel):
    inputs: dict[str, Standardization] = Field(default_factory=dict, description="Per Input id; absent = none")
    classes: dict[str, list[str]] = Field(default_factory=dict, description="Class names per Output name")
    dataset: str | None = None
    pipeline: dict[str, Any] | None = Field(default=None, description="An uploaded dataset's recorded pipeline "
                                                                      "(netcanvas.data.options.Pipeline)")


class RunInfo(BaseModel):
    id: str | None = None
    dataset: dict[str, Any] | None = None
    seed: int | None = None
    status: str = "completed"
    error: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    test_metrics: dict[str, float] = Field(default_factory=dict)
    created_at: str | None = None
    finished_at: str | None = None
    netcanvas_version: str | None = None
    torch_version: str | None = None
    runtime: dict[str, Any] | None = None
    """Device, precision, optimizer implementation and memory peak (training's ``done`` event says the same)."""


class RunDir:
    """Reads and writes one run directory."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def exists(self) -> bool:
        return (self.path / "graph.json").is_file()

    def _write(self, name: str, data: Any) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(self.path / name)

    def _read(self, name: str, default: Any = None) -> Any:
        file = self.path / name
        return json.loads(file.read_text()) if file.is_file() else default

    def begin(self, graph: Graph | dict[str, Any], config: dict[str, Any], info: RunInfo) -> None:
        """A run starts: its graph, config and info (the one place a run writes graph.json and config.json)."""
        self.write_graph(graph)
        self.write_config(config)
        self.write_info(info)

    def write_graph(self, graph: Graph | dict[str, Any]) -> None:
        self._write("graph.json", graph.model_dump(mode="json") if isinstance(graph, Graph) else graph)

    def graph(self) -> dict[str, Any]:
        data = self._read("graph.json")
        if data is None:
            raise FileNotFoundError(f"{self.path} is not a run directory (no graph.json)")
        return dict(data)

    def write_config(self, config: dict[str, Any]) -> None:
        self._write("config.json", config)

    def config(self) -> dict[str, Any]:
        return dict(self._read("config.json", {}))

    def write_info(self, info: RunInfo) -> None:
        self._write("run.json", info.model_dump(mode="json"))

    def info(self) -> RunInfo:
        return RunInfo.model_validate(self._read("run.json", {}))

    def write_preprocessing(self, pre: Preprocessing) -> None:
        self._write("preprocessing.json", pre.model_dump(mode="json"))

    def preprocessing(self) -> Preprocessing:
        return Preprocessing.model_validate(self._read("preprocessing.json", {}))

    def write_history(self, history: list[dict[str, Any]]) -> None:
        self._write("history.json", history)

    def history(self) -> list[dict[str, Any]]:
        return list(self._read("history.json", []))

    def write_weights(self, tensors: dict[str, torch.Tensor], which: str = "best") -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".{which}.safetensors.tmp"
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
        tmp.replace(self.path / f"{which}.safetensors")

    def copy_weights(self, source: str, target: str) -> None:
        """``target`` becomes the same weights as ``source`` (a hard link where the file system allows one)."""
        tmp = self.path / f".{target}.safetensors.tmp"
        tmp.unlink(missing_ok=True)
        try:
            os.link(self.path / f"{source}.safetensors", tmp)
        except OSError:
            shutil.copyfile(self.path / f"{source}.safetensors", tmp)
        tmp.replace(self.path / f"{target}.safetensors")

    def weights_path(self, which: str = "best") -> Path | None:
        for name in (which, "last", "best"):
            file = self.path / f"{name}.safetensors"
            if file.is_file():
                return file
        return None

    def load_model(self, which: str = "best") -> CompiledGraph:
        """Compile the graph and load its weights (initial weights if none were saved), in eval mode. A GAN run's
        model is its generator (its weights hold the discriminator's too: only the generator's are loaded)."""
        from .training.gan import generator_graph

        graph = self.graph()
        part = generator_graph(graph, self.config())
        compiled = compile_graph(part)
        file = self.weights_path(which)
        if file is not None:
            tensors = load_file(str(file))
            if part is not graph:
                tensors = {k: v for k, v in tensors.items() if _node_of(k, compiled.module_names)}
            load_node_state_dict(compiled, tensors)
        compiled.module.eval()
        return compiled


def _node_of(key: str, node_ids: dict[str, str]) -> bool:
    """Whether the weight ``key`` ("node id.param") belongs to one of ``node_ids``."""
    return any(key.startswith(node_id + ".") for node_id in node_ids)
