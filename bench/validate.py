"""Validation speed: NetCanvas shape inference vs torchinfo.summary on the same models, measured in one run.

Prints ratios (NetCanvas time / torchinfo time; below 1 is faster), and re-validation after a one-node
param change as a fraction of a full (cold-cache) validation. Goals: <= 0.5 and <= 0.2; and a residual MLP
of about 5,000 nodes (``--nodes``) validated cold in <= 0.5 s.

    .venv/bin/python bench/validate.py [--nodes 5000]
"""

from __future__ import annotations

import argparse
import copy
import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torchinfo

from netcanvas import shapes
from netcanvas.api.app import warm_up
from netcanvas.compiler import compile_graph
from netcanvas.shapes import validate_graph


def residual_cnn(blocks: int = 50) -> dict[str, Any]:
    """~200 nodes: stages of conv-bn-relu + skip, widening every 10 blocks (as in a ResNet)."""
    nodes: list[dict[str, Any]] = [{"id": "x", "type": "Input", "params": {"shape": [16, 32, 32]}}]
    edges: list[dict[str, Any]] = []
    prev, width = "x", 16
    for i in range(blocks):
        if i and i % 10 == 0:
            width += 16
            nodes.append({"id": f"proj{i}", "type": "Conv2d", "params": {"out_channels": width, "kernel_size": 1}})
            edges.append({"source": prev, "target": f"proj{i}"})
            prev = f"proj{i}"
        conv, bn, act, add = f"conv{i}", f"bn{i}", f"relu{i}", f"add{i}"
        nodes += [{"id": conv, "type": "Conv2d", "params": {"out_channels": width, "kernel_size": 3, "padding": 1}},
                  {"id": bn, "type": "BatchNorm2d"}, {"id": act, "type": "ReLU"}, {"id": add, "type": "Add"}]
        edges += [{"source": prev, "target": conv}, {"source": conv, "target": bn}, {"source": bn, "target": act},
                  {"source": act, "target": add}, {"source": prev, "target": add}]
        prev = add
    nodes.append({"id": "y", "type": "Output"})
    edges.append({"source": prev, "target": "y"})
    return {"name": "residual CNN", "nodes": nodes, "edges": edges}


def residual_mlp(blocks: int = 50) -> dict[str, Any]:
    """~200 nodes: Linear-ReLU + skip blocks, each block a different width pair (no two alike)."""
    nodes: list[dict[str, Any]] = [{"id": "x", "type": "Input", "params": {"shape": [256]}}]
    edges: list[dict[str, Any]] = []
    prev = "x"
    for i in range(blocks):
        fc, act, back, add = f"fc{i}", f"relu{i}", f"back{i}", f"add{i}"
        nodes += [{"id": fc, "type": "Linear", "params": {"out_features": 128 + i}}, {"id": act, "type": "ReLU"},
                  {"id": back, "type": "Linear", "params": {"out_features": 256}}, {"id": add, "type": "Add"}]
        edges += [{"source": prev, "target": fc}, {"source": fc, "target": act}, {"source": act, "target": back},
                  {"source": back, "target": add}, {"source": prev, "target": add}]
        prev = add
    nodes.append({"id": "y", "type": "Output"})
    edges.append({"source": prev, "target": "y"})
    return {"name": "residual MLP", "nodes": nodes, "edges": edges}


def best(fn: Callable[[], object], repeat: int = 9, before: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if before:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cold() -> None:
    shapes.clear_caches()


def big_graph(nodes: int) -> None:
    """A residual MLP of about ``nodes`` nodes (every Linear a new width): cold, unchanged and after one edit."""
    graph = residual_mlp(max(1, (nodes - 2) // 4))
    full = best(lambda: validate_graph(graph), repeat=3, before=cold)
    unchanged = best(lambda: validate_graph(graph), repeat=3)
    middle = next(n for n in graph["nodes"][len(graph["nodes"]) // 2:] if n["type"] == "Linear")
    fresh = itertools.count(2)

    def edit_and_validate() -> None:
        middle["params"]["out_features"] = 4000 + next(fresh)  # never seen before: recomputed with what follows
        validate_graph(graph)

    edited = best(edit_and_validate, repeat=3)
    print(f"residual MLP of {len(graph['nodes']):,} nodes: {full * 1000:.0f} ms cold (goal <= 500 ms), "
          f"{unchanged * 1000:.1f} ms unchanged, {edited * 1000:.1f} ms after one param change")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=5000, help="size of the big graph (0: skip it)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    validate_graph(residual_mlp(2))  # imports and first-call costs, for both sides
    warm_up()  # as the server starts: its garbage collector no longer walks what was loaded (both sides gain)
    print(f"{'model':<14}{'nodes':>6}{'netcanvas':>12}{'torchinfo':>12}{'ratio':>8}{'revalidate':>12}{'fraction':>10}"
          f"{'unchanged':>12}")
    for graph in (residual_cnn(), residual_mlp()):
        first_input = graph["nodes"][0]["params"]["shape"]
        module = compile_graph(graph).module
        torchinfo.summary(module, input_size=(1, *first_input), verbose=0)
        ours = best(lambda g=graph: validate_graph(g), before=cold)
        theirs = best(lambda m=module, s=first_input: torchinfo.summary(m, input_size=(1, *s), verbose=0))
        edited = copy.deepcopy(graph)
        target = next(n for n in edited["nodes"] if n["id"] in ("conv30", "fc30"))  # a block in the middle
        validate_graph(edited)
        fresh = itertools.count(2)

        def edit_and_validate(e: dict[str, Any] = edited, t: dict[str, Any] = target,
                              fresh: Iterator[int] = fresh) -> None:
            # A value never seen before on every call, so the edited node is never a cache hit. A Linear's new
            # width is recomputed downstream too (ReLU, the next Linear); a Conv's dilation keeps its output shape.
            k = next(fresh)
            if t["type"] == "Linear":
                t["params"]["out_features"] = 400 + k
            else:
                t["params"].update(dilation=k, padding=k)
            validate_graph(e)

        again = best(edit_and_validate)
        unchanged = best(lambda e=edited: validate_graph(e))
        print(f"{graph['name']:<14}{len(graph['nodes']):>6}{ours * 1000:>10.1f}ms{theirs * 1000:>10.1f}ms"
              f"{ours / theirs:>8.2f}{again * 1000:>10.1f}ms{again / ours:>10.2f}{unchanged * 1000:>10.1f}ms")
    print()
    print("ratio: NetCanvas full validation / torchinfo.summary (goal <= 0.5); "
          "fraction: re-validation after one param change / full validation (goal <= 0.2); "
          "unchanged: re-validation with nothing changed (the per-graph floor)")
    if args.nodes:
        big_graph(args.nodes)


if __name__ == "__main__":
    main()
