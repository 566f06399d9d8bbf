"""The server under repeated use: time from POST /api/runs to the first epoch, and memory over many runs.

    .venv/bin/python bench/server.py [--runs 100] [--repeats 3]

Each measurement starts ``netcanvas serve`` as its own process on a fresh data directory and
talks to it over HTTP and the websocket, as a browser does.

- First epoch: seconds from sending POST /api/runs (the digits CNN of bench/train.py) to
  receiving its first ``epoch`` event on the websocket. *Warm*: the server's standby worker
  has finished warming up (torch imported, a tiny graph trained) before the POST. *Cold*: the
  POST is sent as soon as the server answers, while its first worker is still starting.
- Memory: the server process's resident memory (VmRSS) after 10 warm-up runs and after
  ``--runs`` more short runs (the digits MLP, one epoch each), and the peak resident memory of
  a worker training the digits CNN (the run records it in its ``done`` event).

A benchmark prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from train import WORKLOADS  # noqa: E402

CNN = next(w for w in WORKLOADS if w["name"] == "CNN on digits")
MLP = next(w for w in WORKLOADS if w["name"] == "MLP on digits")


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int):
        self.process, self.port = process, port
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)

    def rss(self, pid: int | None = None) -> int:
        """Resident memory of the server (or of ``pid``) in bytes."""
        status = Path(f"/proc/{pid or self.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024

    def children(self) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def cpu_seconds(self, pids: list[int]) -> float:
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, quiet: float = 0.5, timeout: float = 120) -> None:
        """Until the server's worker processes have stopped using the CPU (the standby has warmed up)."""
        deadline = time.monotonic() + timeout
        last = -1.0
        while time.monotonic() < deadline:
            used = self.cpu_seconds(self.children())
            if used == last and self.children():
                return
            last = used
            time.sleep(quiet)

    def post_run(self, work: dict[str, Any], epochs: int) -> tuple[str, float]:
        """Submit a run; its id and the time the POST was sent."""
        config = {"optimizer": {"type": "adam", "lr": 0.001}, "loss": "sparse_categorical_crossentropy",
                  "metrics": ["accuracy"], "epochs": epochs, "batch_size": work["batch_size"], "seed": 0,
                  "validation_split": 0.0}
        sent = time.perf_counter()
        r = self.http.post("/api/runs", json={"graph": work["graph"], "dataset": {"name": work["dataset"]},
                                              "config": config})
        r.raise_for_status()
        return r.json()["id"], sent

    def events_until(self, run_id: str, kind: str) -> list[dict[str, Any]]:
        events = []
        with connect(f"ws://127.0.0.1:{self.port}/api/runs/{run_id}/events") as ws:
            for message in ws:
                events.append(json.loads(message))
                if events[-1]["type"] in (kind, "done"):
                    return events
        return events


@contextmanager
def server() -> Iterator[Server]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "NETCANVAS_DATA_DIR": data_dir, "NETCANVAS_WORKER_THREADS": "1"}
        process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "netcanvas"), "serve", "--port", str(port)],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        running = Server(process, port)
        try:
            while True:
                try:
                    if running.http.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            yield running
        finally:
            process.terminate()
            process.wait(60)


def first_epoch(warm: bool) -> float:
    with server() as running:
        if warm:
            running.wait_idle()
        run_id, sent = running.post_run(CNN, epochs=2)
        events = running.events_until(run_id, "epoch")
        arrived = time.perf_counter()
        if events[-1]["type"] != "epoch":
            raise RuntimeError(f"the run ended without an epoch: {events[-3:]}")
        running.events_until(run_id, "done")
        return arrived - sent


def memory(runs: int) -> tuple[int, int, int]:
    """Server RSS after warm-up runs and after ``runs`` more, and a digits CNN worker's peak RSS."""
    with server() as running:
        def one(work: dict[str, Any]) -> dict[str, Any]:
            run_id, _ = running.post_run(work, epochs=1)
            done = running.events_until(run_id, "done")[-1]
            if done.get("status") != "completed":
                raise RuntimeError(f"a run ended {done.get('status')}")
            return done

        for _ in range(10):
            one(MLP)
        before = running.rss()
        for i in range(runs):
            one(MLP)
            if (i + 1) % 25 == 0:
                print(f"  after {10 + i + 1} runs: server RSS {running.rss() / 2**20:.1f} MiB", flush=True)
        after = running.rss()
        peak = one(CNN)["runtime"]["peak_memory_bytes"]
        return before, after, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100, help="short runs for the memory figure")
    parser.add_argument("--repeats", type=int, default=3, help="first-epoch measurements of each kind (median)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU(s); medians of {args.repeats}\n")
    warm = [first_epoch(warm=True) for _ in range(args.repeats)]
    cold = [first_epoch(warm=False) for _ in range(args.repeats)]
    print(f"time from POST /api/runs to the first epoch event, digits CNN: warm worker "
          f"{statistics.median(warm):.2f} s (all: {', '.join(f'{t:.2f}' for t in warm)}), cold "
          f"{statistics.median(cold):.2f} s (all: {', '.join(f'{t:.2f}' for t in cold)}); "
          f"cold / warm {statistics.median(cold) / statistics.median(warm):.1f}x")
    before, after, peak = memory(args.runs)
    print(f"server RSS after 10 runs {before / 2**20:.1f} MiB, after {10 + args.runs} runs {after / 2**20:.1f} MiB: "
          f"growth {(after - before) / 2**20:.1f} MiB over {args.runs} runs "
          f"({(after - before) / args.runs / 2**20:.2f} MiB per run)")
    print(f"peak RSS of a worker training the digits CNN: {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
