"""Load: validation and run submission under 50 concurrent clients while a run trains, and what that costs training.

    .venv/bin/python bench/load.py [--clients 50] [--seconds 12]

Starts `netcanvas serve` in a subprocess on 127.0.0.1 (a fresh data directory, default settings, no token) and
one long training run (the LeNet-style digits CNN). Then, phase by phase, on that same run:

  alone     nothing but the training run
  validate  N clients, each sending POST /api/graphs/validate (the same CNN) as fast as it is answered
  runs      N clients, each sending POST /api/runs (the CNN, 1 epoch): every accepted one is queued behind
            the training run (one run trains at a time), so this measures submission, not more training
  alone     again, to see the drift of the machine itself

For the two loaded phases it prints requests per second, p50 and p99 latency and the answers other than 2xx; for
every phase the median epoch time of the training run (the worker's own `seconds` of each epoch that ended in
the phase), and the slow-down as the ratio of loaded to alone. The clients run in this process, on the same
cores as the server and the trainer, as they would on a one-machine deployment. Loopback only; every phase is
bounded in time and every request by a timeout. A benchmark prints numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
GRAPH = json.loads((ROOT / "tests" / "fixtures" / "graphs" / "lenet_digits.json").read_text())
TRAIN = {"graph": GRAPH, "dataset": {"name": "digits"}, "config": {"epochs": 100_000, "batch_size": 16, "seed": 0},
         "name": "load-bench trainer"}
SUBMIT = {"graph": GRAPH, "dataset": {"name": "digits"}, "config": {"epochs": 1}, "name": "load-bench submission"}
REQUEST_TIMEOUT = 30.0
MAX_CLIENTS = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "NETCANVAS_DATA_DIR": str(data_dir), "NETCANVAS_HOST": "127.0.0.1"}
    env.pop("NETCANVAS_TOKEN", None)
    proc = subprocess.Popen([sys.executable, "-m", "netcanvas.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        try:
            httpx.get(f"{url}/api/health", timeout=1).raise_for_status()
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start in 90 s")


class Trainer:
    """The long run: its epoch events, read as they come, split into phases."""

    def __init__(self, url: str) -> None:
        self.url = url
        r = httpx.post(f"{url}/api/runs", json=TRAIN, timeout=REQUEST_TIMEOUT)
        r.raise_for_status()
        self.id = str(r.json()["id"])
        self.last_seq = 0

    def epoch_seconds(self) -> list[float]:
        """The `seconds` of every epoch that ended since the last call."""
        r = httpx.get(f"{self.url}/api/runs/{self.id}/events", params={"after": self.last_seq}, timeout=60)
        r.raise_for_status()
        events = r.json()
        if events:
            self.last_seq = events[-1]["seq"]
        failed = [e for e in events if e["type"] in ("error", "done")]
        if failed:
            raise RuntimeError(f"the training run ended: {failed[0]}")
        return [float(e["seconds"]) for e in events if e["type"] == "epoch"]

    def wait_for_epochs(self, count: int, timeout: float = 120) -> None:
        deadline, seen = time.monotonic() + timeout, 0
        while seen < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the training run finished {seen} epochs in {timeout:.0f} s")
            seen += len(self.epoch_seconds())
            time.sleep(0.2)

    def stop(self) -> None:
        httpx.post(f"{self.url}/api/runs/{self.id}/stop", timeout=60)


async def hammer(url: str, path: str, body: dict[str, Any], clients: int, seconds: float) -> tuple[list[float],
                                                                                                   Counter[str]]:
    """`clients` concurrent clients, each sending `body` to `path` again as soon as it is answered, for `seconds`."""
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    payload = json.dumps(body).encode()
    deadline = time.monotonic() + seconds

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT) as http:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                try:
                    r = await http.post(path, content=payload, headers={"content-type": "application/json"})
                    outcomes[str(r.status_code)] += 1
                    if r.is_success:
                        latencies.append(time.perf_counter() - start)
                except httpx.HTTPError as e:
                    outcomes[type(e).__name__] += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, outcomes


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help=f"concurrent clients (at most {MAX_CLIENTS})")
    parser.add_argument("--seconds", type=float, default=12.0, help="length of each phase (at most 60)")
    args = parser.parse_args()
    clients = max(1, min(args.clients, MAX_CLIENTS))
    seconds = max(2.0, min(args.seconds, 60.0))

    print(f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} before; {clients} clients; {seconds:.0f} s "
          "per phase; server, trainer and clients on this machine (loopback)\n")
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp))
        try:
            trainer = Trainer(url)
            trainer.wait_for_epochs(3)  # past the first epochs' warm-up
            trainer.epoch_seconds()
            epochs: dict[str, list[float]] = {}
            loaded: dict[str, tuple[list[float], Counter[str], float]] = {}

            time.sleep(seconds)
            epochs["alone (before)"] = trainer.epoch_seconds()
            for phase, path, body in (("validate", "/api/graphs/validate", GRAPH), ("runs", "/api/runs", SUBMIT)):
                start = time.perf_counter()
                latencies, outcomes = asyncio.run(hammer(url, path, body, clients, seconds))
                loaded[phase] = latencies, outcomes, time.perf_counter() - start
                epochs[phase] = trainer.epoch_seconds()
            time.sleep(seconds)
            epochs["alone (after)"] = trainer.epoch_seconds()
            trainer.stop()
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()

    print(f"{'endpoint under load':28} {'requests/s':>10} {'p50 ms':>8} {'p99 ms':>8}  answers")
    for phase, path in (("validate", "POST /api/graphs/validate"), ("runs", "POST /api/runs")):
        latencies, outcomes, elapsed = loaded[phase]
        ok = len(latencies)
        if not ok:
            print(f"{path:28} no successful answer: {dict(outcomes)}")
            continue
        print(f"{path:28} {ok / elapsed:10.1f} {percentile(latencies, 50) * 1000:8.0f} "
              f"{percentile(latencies, 99) * 1000:8.0f}  {dict(sorted(outcomes.items()))}")

    alone = epochs["alone (before)"] + epochs["alone (after)"]
    base = statistics.median(alone)
    print(f"\n{'training run, phase':28} {'epochs':>6} {'median epoch s':>15} {'vs alone':>9}")
    for phase, values in epochs.items():
        if values:
            print(f"{phase:28} {len(values):6} {statistics.median(values):15.3f} "
                  f"{statistics.median(values) / base:9.2f}")
    print(f"(load average {os.getloadavg()[0]:.1f} after: other work on the machine skews every number)")
    ratios = {phase: f"{statistics.median(epochs[phase]) / base:.2f}x" if epochs[phase] else "no epoch ended"
              for phase in ("validate", "runs")}
    print(f"\nslow-down of training: {ratios['validate']} while {clients} clients validate, {ratios['runs']} while "
          "they submit runs")


if __name__ == "__main__":
    main()
