"""Shape inference and validation.

Every node is built from its inferred input shapes and run once on a batch of two.
Small nodes run for real on the CPU (microseconds); nodes that could be big (many
parameters or large activations) are built and run on the ``meta`` device, which
allocates nothing but runs its kernels in Python (~0.3 ms a node). Layers whose cost
grows with an input size (RNNs) compute their output shape instead. Results are cached
per (type, params, input specs), so re-validating after an edit recomputes only the
changed node and what lies downstream of it — everything else is a cache hit.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import BaseModel
from torch import nn

from .catalog import REGISTRY, Inputs, Layer, ShapeError, TensorSpec
from .graph import EdgeRef, Graph, ParsedGraph, Problem, describe, parse_graph

DYNAMIC_PROBES = (32, 37)
"""Sizes tried for a dynamic (null) axis; an output axis that differs between them is dynamic."""
SHAPE_BATCH = 2
CACHE_SIZE = 8192
CPU_COST_LIMIT = 1 << 22
"""Nodes whose cost bound (see ``cost_bound``) stays below this run on the CPU, the rest on meta."""


@dataclass(frozen=True)
class NodeResult:
    outputs: tuple[TensorSpec, ...] | None
    params: int
    error: str | None = None


_cache: OrderedDict[tuple[Any, ...], NodeResult] = OrderedDict()
_cache_lock = threading.Lock()
"""Held only while the cache is read or written: validations run side by side, never one behind another."""


def node_inputs(parsed: ParsedGraph, node_id: str, results: dict[str, NodeResult],
                used_outputs: frozenset[str] | None = None) -> Inputs | None:
    """The input specs of a node from its upstream results; None if one is unknown."""
    spec = REGISTRY[parsed.node(node_id).type]
    ports = parsed.incoming.get(node_id, {})
    specs: dict[str, list[TensorSpec]] = {}
    for port in spec.inputs:
        for edge in ports.get(port.name, []):
            upstream = results.get(edge.source)
            if upstream is None or upstream.outputs is None:
                return None
            out_ports = [p.name for p in REGISTRY[parsed.node(edge.source).type].outputs]
            specs.setdefault(port.name, []).append(upstream.outputs[out_ports.index(edge.source_port)])
    used = used_outputs if used_outputs is not None else frozenset(p.name for p in spec.outputs)
    return Inputs(spec.type_name, specs, used)


def torch_message(error: Exception) -> str:
    """A one-line message from a torch exception, without fx or C++ traces."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    text = re.sub(r"\s*While executing.*$", "", text)
    return text[:300]


def infer_node(layer: Layer, inputs: Inputs, params_key: str | None = None) -> NodeResult:
    """Output specs and parameter count of one node, cached by (type, params, input specs)."""
    if params_key is None:
        params_key = json.dumps(layer.model_dump(mode="json"), sort_keys=True)
    key = (layer.type_name, params_key,
           tuple((p, tuple(inputs.specs[p])) for p in sorted(inputs.specs)), inputs.used_outputs)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    result = _infer_uncached(layer, inputs)  # two threads may compute the same node: both get the same answer
    with _cache_lock:
        _cache[key] = result
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _infer_uncached(layer: Layer, inputs: Inputs) -> NodeResult:
    for port, specs in inputs.specs.items():
        for spec in specs:
            if spec.dtype not in layer.accepts:
                hint = " (token ids need an Embedding first)" if spec.dtype == "int64" else ""
                port_text = "" if port == "in" else f" on port '{port}'"
                return NodeResult(None, 0, f"expects {' or '.join(layer.accepts)} input{port_text}, "
                                           f"got {spec.dtype}{hint}")
    device = "cpu" if cost_bound(layer, inputs) <= CPU_COST_LIMIT else "meta"
    try:
        if device == "meta":
            with torch.device("meta"):
                module = layer.build(inputs)
        else:  # the default device; a device context would tax every torch call
            with skipped_init():
                module = layer.build(inputs)
        params = sum(p.numel() for p in module.parameters())
        outputs = layer.output_specs(inputs, module)
        if outputs is None:
            outputs = _run(layer, module, inputs, device)
        return NodeResult(tuple(outputs), params)
    except ShapeError as e:
        return NodeResult(None, 0, str(e))
    except Exception as e:  # torch's own checks: report its first line, never a traceback
        return NodeResult(None, 0, torch_message(e))


_INIT_FUNCTIONS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "xavier_uniform_",
                   "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_")
_init_lock = threading.Lock()


@contextmanager
def skipped_init() -> Iterator[None]:
    """Build modules without initializing their weights: shapes never depend on the values, and
    initialization is most of the cost of building a layer."""
    with _init_lock:
        saved = {name: getattr(nn.init, name) for name in _INIT_FUNCTIONS}
        for name in _INIT_FUNCTIONS:
            setattr(nn.init, name, _keep)
        try:
            yield
        finally:
            for name, fn in saved.items():
                setattr(nn.init, name, fn)


def _keep(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    with torch.no_grad():
        return tensor.zero_()  # a memset, not random numbers (and no denormals from uninitialized memory)


def cost_bound(layer: Layer, inputs: Inputs) -> int:
    """An upper bound, for any layer, on its parameter count and work per sample.

    The input size times the product of the layer's integer params bounds the weights
    of Linear, Conv, Embedding, attention and the rest, without building anything.
    """
    numel = 0
    for specs in inputs.specs.values():
        for spec in specs:
            n = 1
            for s in spec.shape:
                n *= DYNAMIC_PROBES[1] if s is None else s
            numel += n
    bound = max(numel, 1)
    for value in layer.model_dump().values():
        for v in value if isinstance(value, list | tuple) else (value,):
            if isinstance(v, int) and not isinstance(v, bool) and v > 1:
                bound *= v
    return bound


def _run(layer: Layer, module: nn.Module, inputs: Inputs, device: str) -> list[TensorSpec]:
    dynamic = any(None in s.shape for specs in inputs.specs.values() for s in specs)
    if not dynamic:
        return _execute(layer, module, inputs, DYNAMIC_PROBES[0], device)
    first, second = (_execute(layer, module, inputs, size, device) for size in DYNAMIC_PROBES)
    merged = []
    for a, b in zip(first, second, strict=True):
        if len(a.shape) != len(b.shape):
            raise ShapeError("the output rank depends on a dynamic axis")
        merged.append(TensorSpec(tuple(x if x == y else None for x, y in zip(a.shape, b.shape, strict=True)),
                                 a.dtype))
    return merged


DTYPES = {"float32": torch.float32, "int64": torch.int64}


def _execute(layer: Layer, module: nn.Module, inputs: Inputs, dynamic_size: int, device: str) -> list[TensorSpec]:
    args: list[torch.Tensor | None] = []
    for port in layer.inputs:
        specs = inputs.specs.get(port.name, [])
        tensors = [torch.zeros((SHAPE_BATCH, *(dynamic_size if s is None else s for s in spec.shape)),
                               dtype=DTYPES[spec.dtype], device=device) for spec in specs]
        args.extend(tensors if tensors else [None])
    while args and args[-1] is None:
        args.pop()
    module.eval()
    with torch.no_grad():
        out = module(*args)
    outs = out if isinstance(out, tuple) else (out,)
    dtype = layer.output_dtype(inputs)
    return [TensorSpec(tuple(int(s) for s in o.shape[1:]), dtype) for o in outs]


def infer_shapes(parsed: ParsedGraph) -> dict[str, NodeResult]:
    """Output specs and parameter counts of every node that can be computed."""
    results: dict[str, NodeResult] = {}
    for node_id in parsed.order:
        if node_id in parsed.broken or node_id not in parsed.layers:
            continue
        layer = parsed.layers[node_id]
        if layer.type_name == "Input":
            shape = tuple(layer.shape)  # type: ignore[attr-defined]
            results[node_id] = NodeResult((TensorSpec(shape, layer.dtype),), 0)  # type: ignore[attr-defined]
            continue
        inputs = node_inputs(parsed, node_id, results)
        if inputs is None:
            continue
        if layer.type_name == "Output":
            results[node_id] = NodeResult((inputs.spec(),), 0)
            continue
        results[node_id] = infer_node(layer, inputs, parsed.param_keys.get(node_id))
    return results


class NodeInfo(BaseModel):
    type: str
    output_shape: list[int | None] | None
    output_shapes: dict[str, list[int | None] | None]
    dtype: str | None
    params: int
    error: str | None = None


class EdgeInfo(EdgeRef):
    shape: list[int | None] | None


class ValidationReport(BaseModel):
    valid: bool
    nodes: dict[str, NodeInfo]
    edges: list[EdgeInfo]
    total_params: int
    errors: list[Problem]
    warnings: list[Problem]


def shape_problems(parsed: ParsedGraph, results: dict[str, NodeResult]) -> list[Problem]:
    return [Problem(node=node_id, message=f"{describe(parsed.node(node_id))}: {r.error}")
            for node_id, r in results.items() if r.error]


def validate_graph(raw: dict[str, Any] | Graph) -> ValidationReport:
    """Structural checks plus shapes: what ``POST /api/graphs/validate`` answers."""
    parsed = parse_graph(raw)
    results = infer_shapes(parsed)
    errors = parsed.errors + shape_problems(parsed, results)
    node_errors: dict[str, str] = {}
    for problem in errors:
        for node_id in problem.nodes or ([problem.node] if problem.node else []):
            node_errors.setdefault(node_id, problem.message)
    nodes: dict[str, dict[str, Any]] = {}
    for node in parsed.graph.nodes:
        result = results.get(node.id)
        spec = REGISTRY.get(node.type)
        ports = [p.name for p in spec.outputs] if spec else []
        outputs = result.outputs if result and result.outputs else None
        shapes = {p: list(o.shape) for p, o in zip(ports, outputs, strict=False)} if outputs else {}
        nodes[node.id] = {"type": node.type, "output_shape": list(outputs[0].shape) if outputs else None,
                          "output_shapes": shapes, "dtype": outputs[0].dtype if outputs else None,
                          "params": result.params if result else 0, "error": node_errors.get(node.id)}
    edges = []
    for edge in parsed.graph.edges:
        shape = nodes[edge.source]["output_shapes"].get(edge.source_port) if edge.source in nodes else None
        edges.append({"source": edge.source, "target": edge.target, "source_port": edge.source_port,
                      "target_port": edge.target_port, "shape": shape})
    total = sum(results[n].params for n in parsed.live if n in results)
    # One validation call for the whole report (pydantic's core is fast on plain dicts and lists).
    return ValidationReport.model_validate({"valid": not errors, "nodes": nodes, "edges": edges, "total_params": total,
                                            "errors": errors, "warnings": parsed.warnings})
