"""Training speed: NetCanvas runs against a hand-written PyTorch loop (and Keras 3 / Lightning when installed).

    .venv/bin/python bench/train.py [--quick] [--repeats N (3)] [--device cuda] [--compile]

NetCanvas trains through the whole run machinery: the app (uvicorn, in a thread of this
process), the run manager, a spawned worker process, events piped to the server, stored
in SQLite and fanned out. Its samples per second come from the server-side arrival times
of the epoch events (epoch 1 is warm-up and not counted), so everything done per epoch
counts: steps, metrics, events, the best-weights copy. The hand-written loop is the
randperm loop a PyTorch user writes (running loss and accuracy kept on tensors), on the
same compiled module, the same tensors, batch size, optimizer and thread count: once with
PyTorch's defaults, and once tuned the way NetCanvas trains (the optimizer implementation
the run chose, e.g. fused Adam). ``--device cuda`` trains everything on the GPU (the hand
loops move the data there once) and adds NetCanvas on the CPU for the GPU/CPU ratio.
``--compile`` also times the CNN run with ``"compile": true`` (the compile time shown apart).
The watcher comparison trains the same run with 20 websocket watchers (in another
process, like browsers) against none. A benchmark prints ratios; it asserts nothing.

Beside the wall-clock ratio each row shows a CPU ratio: samples per CPU second of the training
process (the worker's CPU time read from /proc between its first and last epoch events, against
the hand loop's own process time). Both train on one thread, so the CPU ratio moves far less
with the load of a shared machine; it does not see time spent off the CPU (waiting for a disk
or for the server). ``--overhead`` compares health and TensorBoard on and off the same two ways.

Keras 3 and Lightning are optional and compared only when importable, for example after
``pip install --target /tmp/peers --no-deps keras absl-py namex h5py optree lightning
lightning-utilities torchmetrics tqdm`` and ``PYTHONPATH=/tmp/peers`` (``--no-deps`` keeps
pip from replacing the CPU torch).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from netcanvas.data import builtin  # noqa: E402

THREADS = 1
SYNTHETIC_ROWS = 25_000  # 20,000 train rows after the 20 % test split


def synthetic() -> builtin.Dataset:
    """64 Gaussian features, 10 classes from a random linear teacher."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SYNTHETIC_ROWS, 64)).astype(np.float32)
    y = (x @ rng.normal(size=(64, 10))).argmax(1).astype(np.int64)
    return builtin.Dataset("synthetic20k", "benchmark rows", "classification",
                           [builtin.FieldSpec("x", (64,), "float32", "input"),
                            builtin.FieldSpec("y", (), "int64", "target", tuple(str(i) for i in range(10)))],
                           {"x": x, "y": y})


# At import time on purpose: the spawned training workers re-import this main module, so they know it too.
builtin.LOADERS.setdefault("synthetic20k", synthetic)


def chain(shape: list[int], *layers: tuple[str, dict[str, Any]], name: str) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "x", "type": "Input", "params": {"shape": shape}}]
    edges, prev = [], "x"
    for i, (kind, params) in enumerate(layers):
        nodes.append({"id": f"n{i}", "type": kind, "params": params})
        edges.append({"source": prev, "target": f"n{i}"})
        prev = f"n{i}"
    nodes.append({"id": "y", "type": "Output"})
    edges.append({"source": prev, "target": "y"})
    return {"format": "netcanvas.graph/1", "name": name, "nodes": nodes, "edges": edges}


WORKLOADS: list[dict[str, Any]] = [
    {"name": "MLP on digits", "dataset": "digits", "batch_size": 32, "epochs": 30,
     "graph": chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": 128}), ("ReLU", {}),
                    ("Linear", {"out_features": 10}), name="digits-mlp")},
    {"name": "CNN on digits", "dataset": "digits", "batch_size": 32, "epochs": 12,
     "graph": chain([1, 8, 8], ("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
                    ("MaxPool2d", {"kernel_size": 2}),
                    ("Conv2d", {"out_channels": 32, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
                    ("Flatten", {}), ("Linear", {"out_features": 64}), ("ReLU", {}),
                    ("Linear", {"out_features": 10}), name="digits-cnn")},
    {"name": "512-wide MLP, 20k rows", "dataset": "synthetic20k", "batch_size": 128, "epochs": 6,
     "graph": chain([64], ("Linear", {"out_features": 512}), ("ReLU", {}), ("Linear", {"out_features": 512}),
                    ("ReLU", {}), ("Linear", {"out_features": 10}), name="wide-mlp")},
]


DEVICE = "cpu"


def run_config(work: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"optimizer": {"type": "adam", "lr": 0.001}, "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"], "epochs": work["epochs"], "batch_size": work["batch_size"], "seed": 0,
            "validation_split": 0.0, "num_threads": THREADS, "device": DEVICE, **extra}


def prepared(work: dict[str, Any]) -> tuple[Any, Any]:
    import torch

    from netcanvas.compiler import compile_graph
    from netcanvas.data import load, prepare

    torch.manual_seed(0)
    compiled = compile_graph(work["graph"])
    return compiled, prepare(load(work["dataset"]), compiled, seed=0, validation_split=0.0)


# ---- the hand-written loop -------------------------------------------------------------------------------------


def hand_written(work: dict[str, Any], tuned: bool = False) -> tuple[float, float]:
    """Samples per second of the hand loop, wall-clock and per CPU second of this process (the loop is its only
    busy thread); ``tuned``: with the optimizer implementation NetCanvas picks."""
    import torch
    from torch import nn

    from netcanvas.training.optimizers import implementation

    torch.set_num_threads(THREADS)
    device = torch.device(DEVICE)
    compiled, data = prepared(work)
    model = compiled.module.to(device)
    x, y = data.train["x"].to(device), data.train["y"].to(device)
    n, bs = len(x), work["batch_size"]
    choice = implementation(torch.optim.Adam, device)
    options: dict[str, Any] = {choice: True} if tuned and choice != "for-loop" else {}
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001, **options)
    loss_fn = nn.CrossEntropyLoss()
    times, cpu_times = [], []
    for _ in range(work["epochs"]):
        started, cpu_started = time.perf_counter(), time.process_time()
        model.train()
        order = torch.randperm(n, device=device)
        total, correct = torch.zeros((), device=device), torch.zeros((), dtype=torch.int64, device=device)
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            out = model(x[idx])
            loss = loss_fn(out, y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(idx)
            correct += (out.detach().argmax(1) == y[idx]).sum()
        float(total), int(correct)  # one sync per epoch, as a logging user does
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    return n * (len(times) - 1) / sum(times[1:]), n * (len(times) - 1) / sum(cpu_times[1:])


# ---- optional peers --------------------------------------------------------------------------------------------


def keras_fit(work: dict[str, Any]) -> float | None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        return None
    import torch

    torch.set_num_threads(THREADS)
    _, data = prepared(work)
    x, y = data.train["x"].numpy(), data.train["y"].numpy()
    layers: list[Any] = [keras.Input(shape=x.shape[1:])]
    if x.ndim == 4:
        x = x.transpose(0, 2, 3, 1)  # Keras convolutions are channels-last
        layers = [keras.Input(shape=x.shape[1:])]
    for node in work["graph"]["nodes"][1:-1]:
        kind, p = node["type"], node["params"]
        if kind == "Linear":
            layers.append(keras.layers.Dense(p["out_features"]))
        elif kind == "ReLU":
            layers.append(keras.layers.ReLU())
        elif kind == "Flatten":
            layers.append(keras.layers.Flatten())
        elif kind == "Conv2d":
            layers.append(keras.layers.Conv2D(p["out_channels"], p["kernel_size"], padding="same"))
        elif kind == "MaxPool2d":
            layers.append(keras.layers.MaxPooling2D(p["kernel_size"]))
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(0.001),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    times: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            times.append(time.perf_counter() - self.started)

    model.fit(x, y, epochs=work["epochs"], batch_size=work["batch_size"], verbose=0, callbacks=[Timer()])
    return len(x) * (len(times) - 1) / sum(times[1:])


def lightning_fit(work: dict[str, Any]) -> float | None:
    try:
        import lightning as L  # noqa: N812
    except ImportError:
        try:
            import pytorch_lightning as L  # type: ignore[no-redef]  # noqa: N812
        except ImportError:
            return None
    import logging
    import warnings

    import torch
    from torch import nn

    for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", module="pytorch_lightning")
    torch.set_num_threads(THREADS)
    compiled, data = prepared(work)
    x, y = data.train["x"], data.train["y"]
    times: list[float] = []

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = compiled.module
            self.loss = nn.CrossEntropyLoss()

        def training_step(self, batch: Any, _: int) -> torch.Tensor:
            xb, yb = batch
            out = self.net(xb)
            loss = self.loss(out, yb)
            self.log("loss", loss, on_epoch=True, on_step=False)
            self.log("accuracy", (out.argmax(1) == yb).float().mean(), on_epoch=True, on_step=False)
            return loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.parameters(), lr=0.001)

        def on_train_epoch_start(self) -> None:
            self.started = time.perf_counter()

        def on_train_epoch_end(self) -> None:
            times.append(time.perf_counter() - self.started)

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=work["batch_size"],
                                         shuffle=True)
    trainer = L.Trainer(max_epochs=work["epochs"], accelerator="cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Module(), loader)
    return len(x) * (len(times) - 1) / sum(times[1:])


# ---- NetCanvas through the server ------------------------------------------------------------------------------


class Server:
    """The real app under uvicorn, in a thread of this process (so its workers know the synthetic dataset)."""

    def __init__(self, data_dir: Path):
        import socket

        import uvicorn

        from netcanvas.api.app import create_app
        from netcanvas.settings import Settings

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        app = create_app(Settings(data_dir=data_dir, worker_threads=THREADS, max_concurrent_runs=1))
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(60)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def watch_many(port: int, run_id: str, count: int, ready: Any, result: Any) -> None:
    """In its own process, like browsers: ``count`` websockets reading one run to its end."""
    import websockets

    async def one() -> int:
        received = 0
        async with websockets.connect(f"ws://127.0.0.1:{port}/api/runs/{run_id}/events") as ws:
            ready.release()
            async for message in ws:
                received += 1
                if json.loads(message)["type"] == "done":
                    break
        return received

    async def all_of_them() -> list[int]:
        return list(await asyncio.gather(*(one() for _ in range(count))))

    result.put(asyncio.run(all_of_them()))


class WorkerCpu:
    """The CPU time of a run's worker process (all its threads), sampled every ``EVERY`` seconds from /proc while it
    trains (Linux only: elsewhere ``between`` gives None). ``between(t0, t1)`` interpolates the CPU seconds the
    worker used between two wall-clock times (``time.time()``), such as the arrivals of two epoch events."""

    EVERY = 0.005

    def __init__(self, server: Server, run_id: str):
        self.manager, self.run_id = server.app.state.runs, run_id
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    @staticmethod
    def cpu_seconds(pid: int) -> float:
        """The first field of each thread's schedstat: nanoseconds on a CPU (the ticks of /proc/PID/stat are 10 ms)."""
        total = 0
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):  # a thread that ended meanwhile
                total += int((task / "schedstat").read_text().split()[0])
        return total / 1e9

    def sample(self) -> None:
        pid = None
        while pid is None and not self.done.is_set():
            pid = self.manager.worker_pid(self.run_id)
            time.sleep(self.EVERY)
        while pid is not None and not self.done.is_set():
            try:
                self.samples.append((time.time(), self.cpu_seconds(pid)))
            except OSError:  # the worker ended
                return
            time.sleep(self.EVERY)

    def stop(self) -> None:
        self.done.set()
        self.thread.join(5)

    def between(self, start: float, end: float) -> float | None:
        if not self.samples or self.samples[0][0] > start or self.samples[-1][0] < end:
            return None
        times = [t for t, _ in self.samples]
        cpus = [c for _, c in self.samples]
        return float(np.interp(end, times, cpus) - np.interp(start, times, cpus))


def netcanvas_run(server: Server, work: dict[str, Any], watchers: int = 0,
                  **extra: Any) -> tuple[float, int, float | None]:
    """Samples per second of one run, the messages each watcher received (0 without watchers), and the worker's
    CPU seconds per epoch (None where /proc cannot tell); ``extra``: config fields (device, compile)."""
    import httpx
    from sqlalchemy import select

    from netcanvas.store import EventRow

    _, data = prepared(work)
    n = len(data.train["x"])
    config = run_config(work, **extra)
    messages = 0
    if watchers:
        # The run waits in the queue behind a blocker until every watcher is connected.
        body = {"graph": work["graph"], "dataset": {"name": work["dataset"]}, "config": {**config, "epochs": 100_000}}
        blocker = httpx.post(server.url("/api/runs"), json=body).json()["id"]
    r = httpx.post(server.url("/api/runs"), json={"graph": work["graph"], "dataset": {"name": work["dataset"]},
                                                  "config": config})
    r.raise_for_status()
    run_id = r.json()["id"]
    cpu = WorkerCpu(server, run_id)
    if watchers:
        ctx = multiprocessing.get_context("spawn")
        ready, result = ctx.Semaphore(0), ctx.Queue()
        proc = ctx.Process(target=watch_many, args=(server.port, run_id, watchers, ready, result))
        proc.start()
        for _ in range(watchers):
            ready.acquire()
        httpx.delete(server.url(f"/api/runs/{blocker}"), timeout=60)
    while httpx.get(server.url(f"/api/runs/{run_id}")).json()["status"] in ("queued", "running"):
        time.sleep(0.2)
    cpu.stop()
    if watchers:
        counts = result.get(timeout=60)
        proc.join(30)
        messages = min(counts)
    run = httpx.get(server.url(f"/api/runs/{run_id}")).json()
    if run["status"] != "completed":
        raise RuntimeError(f"{work['name']}: the run ended {run['status']}: {run['error']}")
    db = server.app.state.db
    with db.session() as s:
        times = [at.timestamp() for at in s.scalars(select(EventRow.at).where(
            EventRow.run_id == run_id, EventRow.type == "epoch").order_by(EventRow.seq))]
    used = cpu.between(times[0], times[-1])
    return n * (len(times) - 1) / (times[-1] - times[0]), messages, used / (len(times) - 1) if used else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer epochs (a smoke run)")
    parser.add_argument("--repeats", type=int, default=3, help="take the median of this many runs of each (3)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda: where everything trains")
    parser.add_argument("--compile", action="store_true", help="also time the CNN with compile: true")
    parser.add_argument("--overhead", action="store_true", help="only the cost of layer health and TensorBoard files")
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    from netcanvas.training.devices import device_problem

    if problem := device_problem(DEVICE, "32"):
        sys.exit(f"bench/train.py: --device {DEVICE}: {problem[1]}")
    if args.quick:
        for work in WORKLOADS:
            work["epochs"] = max(3, work["epochs"] // 4)

    import torch

    where = torch.cuda.get_device_name() if DEVICE.startswith("cuda") else "CPU"
    print(f"torch {torch.__version__}, {THREADS} thread(s) per trainer, {os.cpu_count()} CPU(s), training on "
          f"{DEVICE} ({where}); samples/s, median of {args.repeats}; ratio = NetCanvas / other (>= 1 means NetCanvas "
          "is faster)\n")
    rows: list[tuple[str, str, float, float, float | None]] = []
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp)) as server:
        if args.overhead:
            overhead(server, args.repeats)
            return
        # Warm-up, not counted: the first run of each side in this process pays for what later ones reuse (the
        # worker's imports and first allocations, this process's first autograd graph).
        netcanvas_run(server, WORKLOADS[0])
        hand_written(WORKLOADS[0])
        for work in WORKLOADS:
            # Interleaved, the order turning each round, so that a change in the machine's load over time touches
            # each side alike and none always runs first.
            walls: dict[str, list[float]] = {"ours": [], "hand loop, defaults": [], "hand loop, tuned": []}
            cpus: dict[str, list[float]] = {name: [] for name in walls}
            n = len(prepared(work)[1].train["x"])
            sides = list(walls)
            for i in range(args.repeats):
                for side in sides[i % len(sides):] + sides[:i % len(sides)]:
                    if side == "ours":
                        speed, _, cpu = netcanvas_run(server, work)
                        per_cpu = n / cpu if cpu else None
                    else:
                        speed, per_cpu = hand_written(work, tuned=side == "hand loop, tuned")
                    walls[side].append(speed)
                    if per_cpu:
                        cpus[side].append(per_cpu)
            ours = statistics.median(walls.pop("ours"))
            ours_cpu = statistics.median(cpus.pop("ours")) if cpus["ours"] else None
            peers: dict[str, tuple[float, float | None]] = {
                label: (statistics.median(values), statistics.median(cpus[label])) for label, values in walls.items()}
            if DEVICE != "cpu":
                peers["NetCanvas on the CPU"] = (statistics.median(netcanvas_run(server, work, device="cpu")[0]
                                                                   for _ in range(args.repeats)), None)
            for label, fn in (("Keras 3 fit (torch)", keras_fit), ("Lightning Trainer", lightning_fit)):
                if DEVICE != "cpu":
                    continue
                try:
                    peer = fn(work)
                except Exception as e:  # an optional peer must not end the benchmark
                    print(f"  {label} failed on {work['name']}: {type(e).__name__}: {e}")
                    peer = None
                if peer is not None:
                    peers[label] = (peer, None)
            for label, (other, cpu_speed) in peers.items():
                cpu_ratio = ours_cpu / cpu_speed if ours_cpu and cpu_speed else None
                rows.append((work["name"], label, ours, other, cpu_ratio))
        print("(CPU ratio: samples per CPU second of the training process, NetCanvas's worker against the hand "
              "loop;\n steadier than wall-clock on a busy machine, blind to time spent off the CPU)")
        print(f"{'workload':26} {'vs':24} {'NetCanvas':>11} {'other':>11} {'ratio':>7} {'CPU ratio':>10}")
        for name, label, ours, other, cpu_ratio in rows:
            shown = f"{cpu_ratio:10.2f}" if cpu_ratio is not None else f"{'':10}"
            print(f"{name:26} {label:24} {ours:11.0f} {other:11.0f} {ours / other:7.2f} {shown}")
        missing = [p for p, m in (("keras", "keras"), ("lightning", "lightning")) if not _importable(m)]
        if missing:
            print(f"(not installed, skipped: {', '.join(missing)})")

        if args.compile:
            cnn = WORKLOADS[1]
            started = time.perf_counter()
            compiled_speed = netcanvas_run(server, cnn, compile=True)[0]
            took = time.perf_counter() - started
            eager = statistics.median(netcanvas_run(server, cnn)[0] for _ in range(args.repeats))
            print(f"\n{cnn['name']} with compile: true: {compiled_speed:.0f} samples/s vs {eager:.0f} eager: ratio "
                  f"{compiled_speed / eager:.2f} (the compiled run took {took:.0f} s in all, "
                  f"{cnn['epochs']} epochs)")

        work = WORKLOADS[0]
        alone = statistics.median(netcanvas_run(server, work)[0] for _ in range(args.repeats))
        watched = [netcanvas_run(server, work, watchers=20) for _ in range(args.repeats)]
        with_watchers = statistics.median(w[0] for w in watched)
        print(f"\n{work['name']} with 20 websocket watchers: {with_watchers:.0f} samples/s vs {alone:.0f} with none: "
              f"ratio {with_watchers / alone:.2f} (each watcher received {min(w[1] for w in watched)} events)")
        overhead(server, args.repeats)


def overhead(server: Server, repeats: int) -> None:
    """What the default layer health (one step in 100 probed) and TensorBoard files (scalars, histograms per epoch)
    cost: each workload trained with both on (the defaults), with health off and with TensorBoard off, interleaved
    (the order turning each round, so that none always runs first), at least 5 rounds, medians compared. Two
    measures: the wall-clock samples per second, and the worker's CPU time per epoch (median, and least: load
    only ever adds to it). The worker trains on one thread, so its CPU time moves less with the load of a shared
    machine than its wall-clock time does; on a virtual machine whose host is busy it still moves (a stolen CPU
    still counts as running), and then the least of the rounds is the steadier figure."""
    variants: dict[str, dict[str, Any]] = {"defaults": {}, "no health": {"health": None},
                                           "no tensorboard": {"tensorboard": False}}
    rounds = max(5, repeats)
    print(f"\nhealth and TensorBoard on vs off: medians of {rounds} interleaved runs; samples/s wall-clock and the "
          "worker's CPU ms per epoch; cost = how much slower the defaults are")
    print(f"{'workload':26} {'measure':12} {'defaults':>9} {'no health':>10} {'no tensorboard':>15} "
          f"{'health cost':>12} {'tensorboard cost':>17}")
    for work in WORKLOADS:
        walls: dict[str, list[float]] = {name: [] for name in variants}
        cpus: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        for i in range(rounds):
            for name in names[i % len(names):] + names[:i % len(names)]:
                speed, _, cpu = netcanvas_run(server, work, **variants[name])
                walls[name].append(speed)
                if cpu is not None:
                    cpus[name].append(cpu)
        on, no_health, no_board = (statistics.median(v) for v in walls.values())
        print(f"{work['name']:26} {'samples/s':12} {on:9.0f} {no_health:10.0f} {no_board:15.0f} "
              f"{no_health / on - 1:11.1%} {no_board / on - 1:16.1%}")
        if all(cpus.values()):
            for label, pick in (("CPU ms/epoch", statistics.median), ("  least", min)):
                on, no_health, no_board = (pick(v) * 1e3 for v in cpus.values())
                print(f"{'':26} {label:12} {on:9.2f} {no_health:10.2f} {no_board:15.2f} "
                      f"{on / no_health - 1:11.1%} {on / no_board - 1:16.1%}")


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    main()
