"""Your own data: reading and preprocessing an uploaded CSV, and training on an uploaded image set.

    .venv/bin/python bench/data.py [--rows 1000000] [--repeats 3]

1. A CSV of ``--rows`` rows × 20 columns (19 numbers, one 3-class label), generated into a temporary
   directory. NetCanvas's side is what an upload costs before the first batch: the store reads, sniffs and
   describes the file (``DatasetStore.add_path``), then ``prepare_upload`` splits it and standardizes every
   feature with training-split statistics. The reference is what a pandas user writes: ``pd.read_csv`` and
   scikit-learn's ``StandardScaler().fit_transform`` on the same file. The store writes its Arrow cache of the
   parsed table on a thread once ``add_path`` has answered (``prepare_upload`` uses the table in memory): that
   work counts only as far as it overlaps, and the time until the cache file is written is printed too. Each
   side runs in its own fresh subprocess, so its peak resident memory (``resource.getrusage`` maxrss) is its
   own; the sides run in turn ``--repeats`` times and the ratios are medians. The CPU time of each side (all
   its threads) is printed too: on a shared machine it varies less than the wall time. Goals: ≤ 1.5× the
   time, ≤ 2× the memory.
2. An epoch on an uploaded image set against an epoch on the same images as a built-in set: scikit-learn's
   8×8 digits written as PNGs into a ZIP (class folders) and uploaded, against the built-in ``digits``; the same
   CNN, config and seed. Seconds per epoch from the epoch events (epoch 1 is warm-up). Goal: ≤ 1.2×.

A benchmark prints ratios measured in the same run; it asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

NETCANVAS_SIDE = """
import json, sys, time, resource
from pathlib import Path
start = time.perf_counter()
from netcanvas.compiler import compile_graph
from netcanvas.data.fit import prepare_upload
from netcanvas.data.uploads import DatasetStore
imported = time.perf_counter()
cpu = time.process_time()
store = DatasetStore(Path(sys.argv[2]), max_upload_mb=100_000)
desc = store.add_path(Path(sys.argv[1]))
graph = {"format": "netcanvas.graph/1", "nodes": [{"id": "x", "type": "Input", "params": {"shape": [19]}},
         {"id": "fc", "type": "Linear", "params": {"out_features": 3}}, {"id": "y", "type": "Output"}],
         "edges": [{"source": "x", "target": "fc"}, {"source": "fc", "target": "y"}]}
data = prepare_upload(store, {"id": desc["id"], "target": "label"}, compile_graph(graph), seed=0, validation_split=0.2)
done = time.perf_counter()
cpu_done = time.process_time()
from netcanvas.data.uploads import wait_for_cache
wait_for_cache(store.path(desc["id"]))
print(json.dumps({"seconds": done - imported, "cpu_seconds": cpu_done - cpu,
    "cached_seconds": time.perf_counter() - imported, "import_seconds": imported - start, "rows": int(sum(
    len(next(iter(part.values()))) for part in (data.train, data.val, data.test) if part)),
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

PANDAS_SIDE = """
import json, sys, time, resource
start = time.perf_counter()
import pandas as pd
from sklearn.preprocessing import StandardScaler
imported = time.perf_counter()
cpu = time.process_time()
frame = pd.read_csv(sys.argv[1])
x = StandardScaler().fit_transform(frame.drop(columns=["label"]).to_numpy("float32"))
y = frame["label"].astype("category").cat.codes.to_numpy()
done = time.perf_counter()
print(json.dumps({"seconds": done - imported, "cpu_seconds": time.process_time() - cpu,
                  "import_seconds": imported - start, "rows": len(x),
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def write_csv(path: Path, rows: int) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    labels = np.array(["low", "mid", "high"])
    chunk = 100_000
    with path.open("w") as f:
        f.write(",".join([f"f{i}" for i in range(19)] + ["label"]) + "\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            x = rng.normal(10, 3, (n, 19))
            y = labels[rng.integers(0, 3, n)]
            body = "\n".join(",".join(f"{v:.4f}" for v in row) + f",{lab}" for row, lab in zip(x, y, strict=True))
            f.write(body + "\n")


def side(code: str, *args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def digits_zip(path: Path) -> None:
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    bunch = load_digits()
    with zipfile.ZipFile(path, "w") as z:
        for i, (image, label) in enumerate(zip(bunch.images, bunch.target, strict=True)):
            buf = io.BytesIO()
            Image.fromarray(np.round(image / 16 * 255).astype(np.uint8), "L").save(buf, "PNG")
            z.writestr(f"{label}/{i:04d}.png", buf.getvalue())


def seconds_per_epoch(data: Any, graph: dict[str, Any], epochs: int) -> float:
    import torch

    from netcanvas.compiler import compile_graph
    from netcanvas.training import TrainConfig, train
    from netcanvas.training.events import EpochEvent, Event

    torch.manual_seed(0)
    compiled = compile_graph(graph)
    stamps: list[float] = []

    def emit(event: Event) -> None:
        if isinstance(event, EpochEvent):
            stamps.append(time.perf_counter())

    config = TrainConfig.model_validate({"epochs": epochs, "batch_size": 32, "seed": 0, "num_threads": 1,
                                         "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]})
    train(compiled, data, config, emit)
    return (stamps[-1] - stamps[0]) / (len(stamps) - 1)


def image_epochs(tmp: Path, epochs: int) -> tuple[float, float]:
    from netcanvas.compiler import compile_graph
    from netcanvas.data import load, prepare
    from netcanvas.data.fit import prepare_upload
    from netcanvas.data.uploads import DatasetStore

    graph = json.loads((ROOT / "backend/netcanvas/templates/lenet-digits.json").read_text())["graph"]
    digits_zip(tmp / "digits.zip")
    store = DatasetStore(tmp / "images")
    desc = store.add_path(tmp / "digits.zip")
    uploaded = prepare_upload(store, {"id": desc["id"], "test_split": 0.2}, compile_graph(graph), seed=0,
                              validation_split=0.2)
    builtin = prepare(load("digits"), compile_graph(graph), seed=0, validation_split=0.2)
    return seconds_per_epoch(uploaded, graph, epochs), seconds_per_epoch(builtin, graph, epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3, help="CSV runs of each side, taken in turn (medians)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        csv = tmp / "big.csv"
        started = time.perf_counter()
        write_csv(csv, args.rows)
        print(f"CSV: {args.rows:,} rows x 20 columns, {csv.stat().st_size / 1e6:.0f} MB "
              f"(written in {time.perf_counter() - started:.0f} s)")
        pairs = []
        for repeat in range(args.repeats):  # the two sides in turn, each in a fresh store and process
            pairs.append((side(NETCANVAS_SIDE, str(csv), str(tmp / f"store{repeat}")), side(PANDAS_SIDE, str(csv))))
        for ours, theirs in pairs:
            print(f"  NetCanvas upload + describe + split + standardize: {ours['seconds']:.2f} s "
                  f"(CPU {ours['cpu_seconds']:.2f} s), peak {ours['maxrss_kb'] / 1024:.0f} MB ({ours['rows']:,} rows; "
                  f"cache written at {ours['cached_seconds']:.2f} s)")
            print(f"  pandas read_csv + StandardScaler:                  {theirs['seconds']:.2f} s "
                  f"(CPU {theirs['cpu_seconds']:.2f} s), peak {theirs['maxrss_kb'] / 1024:.0f} MB "
                  f"({theirs['rows']:,} rows)")
        time_ratio = statistics.median(o["seconds"] / t["seconds"] for o, t in pairs)
        cpu_ratio = statistics.median(o["cpu_seconds"] / t["cpu_seconds"] for o, t in pairs)
        memory_ratio = statistics.median(o["maxrss_kb"] / t["maxrss_kb"] for o, t in pairs)
        ours, theirs = pairs[0]
        print(f"  ratio (median of {len(pairs)}): time {time_ratio:.2f}x (goal <= 1.5x), memory {memory_ratio:.2f}x "
              f"(goal <= 2x); CPU time {cpu_ratio:.2f}x  [imports excluded from time: {ours['import_seconds']:.1f} s "
              f"vs {theirs['import_seconds']:.1f} s; load average {os.getloadavg()[0]:.1f}]")
        uploaded, builtin = image_epochs(tmp, args.epochs)
        print(f"Image epoch (digits 8x8 as an uploaded ZIP vs built-in, LeNet template, batch 32): "
              f"{uploaded * 1000:.0f} ms vs {builtin * 1000:.0f} ms, ratio {uploaded / builtin:.2f}x (goal <= 1.2x)")


if __name__ == "__main__":
    main()
