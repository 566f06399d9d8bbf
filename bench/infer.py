"""Inference speed: ONNX Runtime (float and int8, the served path) against PyTorch eager on the same
trained models, at batch 1 and 64, measured in one run. Goal: ONNX Runtime at least as fast as eager.

int8 is the quantized model whatever the export decided (static QDQ for convolutions, dynamic
otherwise), so its speed shows; then, per model, what the `onnx-int8` export chose: the method, its
own batch-64 measurement and accuracy change, and whether it kept the float model (goal: int8 >= 1.3x
float at batch 64 with <= 1 point of accuracy lost, else the export says why it keeps float).

    .venv/bin/python bench/infer.py
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from netcanvas import data
from netcanvas.artifacts import RunDir, RunInfo
from netcanvas.compiler import compile_graph
from netcanvas.export import export_run, quantize_int8
from netcanvas.export.int8 import speedup_at_batch
from netcanvas.export.service import calibration_data, validation_data
from netcanvas.training import TrainConfig, train
from netcanvas.weights import node_state_dict

GRAPHS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "graphs"
# golden graph, built-in dataset: an MLP, a CNN, a GRU+LSTM (ONNX's own recurrent ops) and a Transformer
MODELS = (("mlp", "iris"), ("lenet_digits", "digits"), ("recurrent", "sequences"),
          ("transformer_classifier", "text"))


def trained_run(name: str, dataset: str, root: Path) -> RunDir:
    graph = json.loads((GRAPHS / f"{name}.json").read_text())
    config = TrainConfig.model_validate({"epochs": 3, "optimizer": {"type": "adam", "lr": 0.005}})
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    prepared = data.prepare(data.load(dataset), compiled)
    result = train(compiled, prepared, config, lambda e: None)
    compiled.module.load_state_dict(result.best_state)
    run = RunDir(root / name)
    run.write_graph(graph)
    run.write_config(config.model_dump(mode="json"))
    run.write_info(RunInfo(dataset={"name": dataset}, seed=0))
    run.write_preprocessing(prepared.preprocessing)
    run.write_weights(node_state_dict(compiled), "best")
    return run


def per_call(fn: Callable[[], object], seconds: float = 0.5) -> float:
    fn()
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 20:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    torch.set_num_threads(1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    print(f"{'model':<24}{'batch':>6}{'eager':>11}{'onnx':>11}{'int8':>11}{'eager/onnx':>12}{'eager/int8':>12}"
          f"{'int8/onnx':>11}")
    decisions = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, dataset in MODELS:
            run = trained_run(name, dataset, Path(tmp))
            model = run.load_model()
            float_path, _ = export_run(run, "onnx")
            _, decided = export_run(run, "onnx-int8")
            decisions.append((name, decided))
            forced = Path(tmp) / f"{name}.int8.onnx"  # the int8 model even where the export keeps float
            quantize_int8(model, float_path, forced, validation_data(run, model), calibration_data(run, model),
                          min_speedup=0, max_accuracy_loss=1)
            sessions = {fmt: ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                        for fmt, path in (("onnx", float_path), ("int8", forced))}
            x_all = data.load(dataset).arrays["x"]
            feed = model.input_names[0]
            for batch in (1, 64):
                x = np.ascontiguousarray(np.resize(x_all, (batch, *x_all.shape[1:])))
                tx = torch.from_numpy(x)

                def eager(t: torch.Tensor = tx, m: torch.nn.Module = model.module) -> object:
                    with torch.inference_mode():
                        return m(t)

                e = per_call(eager)
                f = per_call(lambda s=sessions["onnx"], a={feed: x}: s.run(None, a))
                q = per_call(lambda s=sessions["int8"], a={feed: x}: s.run(None, a))
                times = f"{e * 1e6:>9.0f}us{f * 1e6:>9.0f}us{q * 1e6:>9.0f}us"
                ratio = speedup_at_batch(float_path, forced, {feed: x})  # interleaved, fastest calls: steadier
                print(f"{name:<24}{batch:>6}{times}{e / f:>12.2f}{e / q:>12.2f}{ratio:>11.2f}")
    print("eager/onnx > 1: the served ONNX Runtime path is faster than PyTorch eager (goal >= 1)")
    print("int8/onnx: int8 speed / float speed, measured as the export does (goal >= 1.3 at batch 64)\n")
    for name, report in decisions:
        change = "" if report.accuracy_change is None else f", accuracy {report.accuracy_change * 100:+.1f} points"
        print(f"{name:<24}{report.int8_method:<8} int8/onnx at batch 64 {report.int8_speedup}x{change}: "
              f"{report.kept_float or 'int8 delivered'}")


if __name__ == "__main__":
    main()
