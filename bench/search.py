"""Search: the overhead per trial of a study over running the same configs as plain runs.

    .venv/bin/python bench/search.py [--trials 6] [--epochs 5] [--dataset digits] [--rounds 1]

Starts the app in this process (a fresh data directory, one run at a time, the lifespan's standby worker) and,
per round, in this order:

  study  POST /api/studies: a grid over `trials` learning rates (no pruner, one trial at a time), timed from
         the POST until the study is completed
  plain  the same learning rates as plain runs, each POST /api/runs sent when the previous run has ended,
         timed from the first POST until the last run is done

It prints both times, the overhead per trial ((study - plain) / trials) and the ratio study / plain (the goal
is at most 1.10). Each side is timed by the wall clock of this process; the training itself is the same work.
A benchmark prints numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from netcanvas.api.app import create_app
from netcanvas.settings import Settings


def chain(shape: list[int], *layers: tuple[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """Input -> layers -> Output."""
    nodes: list[dict[str, Any]] = [{"id": "x", "type": "Input", "params": {"shape": shape}}]
    nodes += [{"id": f"n{i}", "type": kind, "params": params} for i, (kind, params) in enumerate(layers)]
    nodes.append({"id": "y", "type": "Output"})
    edges = [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:], strict=False)]
    return {"format": "netcanvas.graph/1", "name": name, "nodes": nodes, "edges": edges}


DIGITS_MLP = chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": 32}), ("ReLU", {}),
                   ("Linear", {"out_features": 10}), name="digits-mlp")
IRIS_MLP = chain([4], ("Linear", {"out_features": 16}), ("ReLU", {}), ("Linear", {"out_features": 3}), name="mlp")


def wait(client: TestClient, path: str, done: tuple[str, ...]) -> dict[str, Any]:
    while True:
        answer: dict[str, Any] = client.get(path).json()
        if answer["status"] in done:
            return answer
        time.sleep(0.05)


def lrs(count: int) -> list[float]:
    return [round(0.001 * (1.6 ** i), 6) for i in range(count)]


def study(client: TestClient, graph: dict[str, Any], dataset: str, config: dict[str, Any], count: int) -> float:
    body = {"graph": graph, "dataset": {"name": dataset}, "config": config, "sampler": "grid", "trials": count,
            "pruner": None, "space": {"config.optimizer.lr": {"type": "categorical", "choices": lrs(count)}}}
    start = time.perf_counter()
    r = client.post("/api/studies", json=body)
    assert r.status_code == 201, r.text
    finished = wait(client, f"/api/studies/{r.json()['id']}", ("completed", "stopped", "failed"))
    seconds = time.perf_counter() - start
    print(f"  study: {finished['status']}, trials {finished['counts']}")
    return seconds


def plain(client: TestClient, graph: dict[str, Any], dataset: str, config: dict[str, Any], count: int) -> float:
    start = time.perf_counter()
    for lr in lrs(count):
        body = {"graph": graph, "dataset": {"name": dataset},
                "config": {**config, "optimizer": {"type": "adam", "lr": lr}}}
        r = client.post("/api/runs", json=body)
        assert r.status_code == 201, r.text
        wait(client, f"/api/runs/{r.json()['id']}", ("completed", "stopped", "failed"))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--dataset", choices=("digits", "iris"), default="digits")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    graph = DIGITS_MLP if args.dataset == "digits" else IRIS_MLP
    config = {"epochs": args.epochs, "batch_size": 32, "optimizer": {"type": "adam", "lr": 0.001}}
    with tempfile.TemporaryDirectory() as tmp, TestClient(create_app(Settings(data_dir=Path(tmp))),
                                                          base_url="http://127.0.0.1") as client:
        for i in range(args.rounds):
            print(f"round {i + 1}: {args.trials} trials of {args.epochs} epochs on {args.dataset}")
            s = study(client, graph, args.dataset, config, args.trials)
            p = plain(client, graph, args.dataset, config, args.trials)
            print(f"  study {s:.2f} s, plain runs {p:.2f} s; overhead per trial {(s - p) / args.trials:+.3f} s; "
                  f"ratio study/plain {s / p:.3f} (goal <= 1.10)")


if __name__ == "__main__":
    main()
