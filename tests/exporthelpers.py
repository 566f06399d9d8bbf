"""Run directories for the export tests: one trained the way the server trains, and untrained ones made by hand.

Both are made once per test session (training and exporting take seconds) under one
temporary data directory laid out like the server's (``<data_dir>/runs/<id>/``).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import torch

from golden import load
from helpers import chain
from netcanvas.artifacts import Preprocessing, RunDir, RunInfo, Standardization
from netcanvas.compiler import compile_graph
from netcanvas.weights import node_state_dict

DIGITS_RUN = "digitsrun"
MULTI_IO_RUN = "multiio"
SEQUENCE_RUN = "sequences"
UNTRAINED_RUN = "noweights"


@cache
def data_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="netcanvas-export-tests-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def run_path(run_id: str) -> Path:
    return data_dir() / "runs" / run_id


@cache
def trained_digits_run() -> RunDir:
    """The LeNet-style digits CNN trained by the same code the server's workers run (8 epochs)."""
    from netcanvas.runs.execute import execute

    config = {"epochs": 8, "optimizer": {"type": "adam", "lr": 0.005}, "seed": 0, "batch_size": 32}
    outcome = execute(load("lenet_digits"), {"name": "digits"}, config, run_path(DIGITS_RUN), lambda event: None,
                      run_id=DIGITS_RUN, threads=2)
    assert outcome.status == "completed", outcome.error
    return RunDir(run_path(DIGITS_RUN))


def hand_made_run(run_id: str, graph: dict[str, Any], preprocessing: Preprocessing | None = None,
                  info: RunInfo | None = None, seed: int = 0) -> RunDir:
    """A run directory written by hand: the graph's seeded initial weights, as if trained for zero epochs."""
    torch.manual_seed(seed)
    compiled = compile_graph(graph)
    run = RunDir(run_path(run_id))
    run.write_graph(graph)
    run.write_config({"seed": seed})
    run.write_info(info or RunInfo(id=run_id))
    run.write_preprocessing(preprocessing or Preprocessing())
    run.write_weights(node_state_dict(compiled), "best")
    return run


@cache
def multi_io_run() -> RunDir:
    """Two inputs (x_a standardized), two outputs (y_class a classifier with names, y_value a regression)."""
    pre = Preprocessing(inputs={"x_a": Standardization(mean=[float(i) for i in range(8)], std=[2.0] * 8)},
                        classes={"y_class": ["red", "green", "blue"]})
    return hand_made_run(MULTI_IO_RUN, load("multi_io"), pre)


@cache
def sequence_run() -> RunDir:
    """Token ids of any length -> Embedding -> bidirectional LSTM -> Transformer -> 4 classes with Softmax."""
    graph = chain([None], ("Embedding", {"num_embeddings": 20, "embedding_dim": 16}),
                  ("LSTM", {"hidden_size": 8, "bidirectional": True, "return_sequences": True}),
                  ("TransformerEncoderLayer", {"nhead": 4, "dim_feedforward": 32}), ("Mean", {"dim": 1}),
                  ("Linear", {"out_features": 4}), ("Softmax", {}), dtype="int64", input_id="tokens",
                  output_id="label", name="token classifier")
    return hand_made_run(SEQUENCE_RUN, graph, Preprocessing(classes={"label": ["a", "b", "c", "d"]}))


@cache
def run_without_weights() -> RunDir:
    run = RunDir(run_path(UNTRAINED_RUN))
    run.write_graph(load("mlp"))
    run.write_info(RunInfo(id=UNTRAINED_RUN, status="queued"))
    return run
