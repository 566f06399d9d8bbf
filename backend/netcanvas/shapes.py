"""Shape inference and validation.

Layers with a closed form (``Layer.closed_form``: Linear, activations, merges, norms, ...) give their
output shapes and parameter counts without building anything. Every other node is built from its
inferred input shapes and run once on a batch of two. Small nodes run for real on the CPU
(microseconds); nodes that could be big (many parameters or large activations) are built
and run on the ``meta`` device, which allocates nothing but runs its kernels in Python
(~0.3 ms a node). Layers whose cost grows with an input size (RNNs) compute their output
shape instead. Results are cached per (type, params, input specs), so re-validating after an edit recomputes only the
changed node and what lies downstream of it — everything else is a cache hit.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError
from torch import nn

from .blocks import sharing_problems
from .catalog import REGISTRY, Inputs, Layer, ShapeError, TensorSpec
from .graph import EdgeRef, Graph, Node, ParsedGraph, Problem, _validated, describe, parse_graph, validated_params

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
            index = _output_ports(parsed.node(edge.source).type)[edge.source_port]
            specs.setdefault(port.name, []).append(upstream.outputs[index])
    used = used_outputs if used_outputs is not None else frozenset(_output_ports(spec.type_name))
    return Inputs(spec.type_name, specs, used)


@functools.cache
def _output_ports(node_type: str) -> dict[str, int]:
    """A layer type's output port names, each with its position in the outputs."""
    return {p.name: i for i, p in enumerate(REGISTRY[node_type].outputs)}


def torch_message(error: Exception) -> str:
    """A one-line message from a torch exception, without fx or C++ traces."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    text = re.sub(r"\s*While executing.*$", "", text)
    return text[:300]


def infer_node(layer: Layer, inputs: Inputs, params_key: str | None = None) -> NodeResult:
    """Output specs and parameter count of one node, cached by (type, params, input specs)."""
    if params_key is None:
        params_key = json.dumps(layer.model_dump(mode="json"), sort_keys=True)
    # Plain tuples, not TensorSpecs: a dataclass's __hash__ and __eq__ run in Python on every lookup.
    key = (layer.type_name, params_key,
           tuple((p, tuple((s.shape, s.dtype) for s in inputs.specs[p])) for p in sorted(inputs.specs)),
           inputs.used_outputs)
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
    try:
        closed = layer.closed_form(inputs)
    except ShapeError as e:
        return NodeResult(None, 0, str(e))
    if closed is not None:
        dtype = layer.output_dtype(inputs)
        return NodeResult(tuple(TensorSpec(shape, dtype) for shape in closed[0]), closed[1])
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
_skipping = threading.local()
"""``active`` is true while this thread builds modules for shape inference; other threads initialize as usual."""


def _skippable(original: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    @functools.wraps(original)
    def init(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        if getattr(_skipping, "active", False):
            return _keep(tensor)
        return original(tensor, *args, **kwargs)

    init.netcanvas_original = original  # type: ignore[attr-defined]
    return init


for _name in _INIT_FUNCTIONS:  # once per process; a second import keeps the first wrappers
    if not hasattr(getattr(nn.init, _name), "netcanvas_original"):
        setattr(nn.init, _name, _skippable(getattr(nn.init, _name)))


@contextmanager
def skipped_init() -> Iterator[None]:
    """Build modules without initializing their weights, in this thread only: shapes never depend on the
    values, and initialization is most of the cost of building a layer."""
    saved = getattr(_skipping, "active", False)
    _skipping.active = True
    try:
        yield
    finally:
        _skipping.active = saved


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
        result = _infer_in_graph(parsed, node_id, results)
        if result is not None:
            results[node_id] = result
    return results


def _infer_in_graph(parsed: ParsedGraph, node_id: str, results: dict[str, NodeResult]) -> NodeResult | None:
    """One node's result from its upstream ones; None when it cannot be computed."""
    if node_id in parsed.broken or node_id not in parsed.layers:
        return None
    layer = parsed.layers[node_id]
    if layer.type_name == "Input":
        shape = tuple(layer.shape)  # type: ignore[attr-defined]
        return NodeResult((TensorSpec(shape, layer.dtype),), 0)  # type: ignore[attr-defined]
    inputs = node_inputs(parsed, node_id, results)
    if inputs is None:
        return None
    if layer.type_name == "Output":
        return NodeResult((inputs.spec(),), 0)
    return infer_node(layer, inputs, parsed.param_keys.get(node_id))


class NodeInfo(BaseModel):
    model_config = ConfigDict(frozen=True)  # one entry serves every report of an unchanged node

    type: str
    output_shape: list[int | None] | None
    output_shapes: dict[str, list[int | None] | None]
    dtype: str | None
    params: int
    error: str | None = None


class EdgeInfo(EdgeRef):
    model_config = ConfigDict(frozen=True)

    shape: list[int | None] | None


class Estimates(BaseModel):
    """What training the graph would take, estimated before a run (the API's pre-flight fills it in)."""

    batch_size: int = Field(description="The batch size the estimate is for")
    optimizer: str = Field(description="The optimizer whose state is counted")
    parameter_bytes: int = Field(description="The float32 weights")
    training_bytes: int = Field(description="Weights, their gradients, the optimizer's state, and one batch's "
                                            "activations and their gradients")
    training_limit_bytes: int = Field(description="The server's limit (NETCANVAS_MAX_TRAINING_MEMORY_MB)")
    max_params: int = Field(description="The server's parameter limit (NETCANVAS_MAX_PARAMS)")


class ValidationReport(BaseModel):
    valid: bool
    nodes: dict[str, NodeInfo]
    edges: list[EdgeInfo]
    total_params: int
    errors: list[Problem]
    warnings: list[Problem]
    hints: list[Problem] = Field(default_factory=list, description="Legal but often unintended (a Linear on a "
                                                                   "tensor of several axes): not warnings")
    estimates: Estimates | None = Field(default=None, description="The pre-flight estimates (the API's answer)")
    _parsed: ParsedGraph | None = PrivateAttr(default=None)

    def parsed_graph(self) -> ParsedGraph | None:
        """The parsed graph this report is of, when ``validate_graph`` made it (never sent): the pre-flight reads
        the Inputs and Outputs from it instead of reading a 5,000-node graph again."""
        return self._parsed

    def __eq__(self, other: object) -> bool:
        """Equal when they say the same: the parsed graph a report came with is no part of that."""
        return type(other) is type(self) and self.__dict__ == other.__dict__


def shape_problems(parsed: ParsedGraph, results: dict[str, NodeResult]) -> list[Problem]:
    return [Problem(node=node_id, message=f"{describe(parsed.node(node_id))}: {r.error}")
            for node_id, r in results.items() if r.error] + sharing_problems(parsed, results)


@dataclass(frozen=True)
class _Validated:
    """A graph validated before: what an edit of it can reuse."""

    node_texts: tuple[str, ...]
    """Each node's JSON as written."""
    parsed: ParsedGraph
    results: dict[str, NodeResult]
    report: ValidationReport


_recent: OrderedDict[str, _Validated] = OrderedDict()
"""Recently validated graphs by the JSON of everything but their nodes (edges, name, ...); with their lock."""
_recent_lock = threading.Lock()
RECENT_NODES = 50_000
"""How many nodes the recent graphs hold at most, together (the oldest go first)."""


def clear_caches() -> None:
    """Forget every cached result: the next validation of any graph is a cold one."""
    with _cache_lock:
        _cache.clear()
    with _recent_lock:
        _recent.clear()
    _validated.cache_clear()


def _texts(raw: dict[str, Any] | Graph) -> tuple[str, tuple[str, ...]] | None:
    """The JSON of a graph without its nodes, and of each node; None for a graph edits cannot reuse."""
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), list) or raw.get("blocks"):
        return None  # blocks expand into nodes that are not the ones written
    try:
        rest = _ENCODE({k: v for k, v in raw.items() if k != "nodes"})
        return rest, tuple(_ENCODE(node) for node in raw["nodes"])
    except (TypeError, ValueError, RecursionError):  # not plain JSON (a Python caller's objects)
        return None


_ENCODE = json.JSONEncoder(sort_keys=True, check_circular=False, allow_nan=True).encode


def _revalidate(raw: dict[str, Any], texts: tuple[str, ...], previous: _Validated
                ) -> tuple[ParsedGraph, dict[str, NodeResult], set[str]] | None:
    """Re-validate an edit that changed only params of known non-Output nodes, which still validate: the
    structure is the previous one, and only the changed nodes and what their new outputs reach are recomputed.
    Returns the parsed graph, the results and the ids recomputed; None when the edit needs a full validation."""
    before = previous.parsed
    if len(texts) != len(previous.node_texts) or len(before.graph.nodes) != len(texts) or before.unreadable:
        return None
    nodes = list(before.graph.nodes)
    layers, param_keys = dict(before.layers), dict(before.param_keys)
    changed: set[str] = set()
    for i, (text, old_text) in enumerate(zip(texts, previous.node_texts, strict=True)):
        if text == old_text:
            continue
        old = nodes[i]
        try:
            node = Node.model_validate(raw["nodes"][i])
        except ValidationError:
            return None
        spec = REGISTRY.get(node.type)
        if node.id != old.id or node.type != old.type or spec is None or node.type == "Output" \
                or old.id not in layers or old.id in before.broken:
            return None  # the structure, the Output names, a broken node or a duplicate id: check it all
        try:
            layers[node.id], param_keys[node.id] = validated_params(spec.params, node.params)
        except ValidationError:
            return None
        nodes[i] = node
        if param_keys[node.id] != before.param_keys[node.id]:
            changed.add(node.id)  # a moved node keeps its results
    graph = before.graph.model_copy(update={"nodes": nodes})
    parsed = replace(before, graph=graph, layers=layers, param_keys=param_keys)
    results = dict(previous.results)
    recomputed: set[str] = set()
    for node_id in parsed.order:
        inputs_changed = any(e.source in recomputed and results.get(e.source) != previous.results.get(e.source)
                             for edges in parsed.incoming.get(node_id, {}).values() for e in edges)
        if node_id not in changed and not inputs_changed:
            continue
        recomputed.add(node_id)
        result = _infer_in_graph(parsed, node_id, results)
        if result is None:
            results.pop(node_id, None)
        else:
            results[node_id] = result
    return parsed, results, recomputed


def parsed_graph(raw: dict[str, Any] | Graph) -> ParsedGraph:
    """``parse_graph(raw)``, taken from the validation of the same graph just done when there was one (parsing a
    5,000-node graph again costs seconds)."""
    texts = _texts(raw)
    with _recent_lock:
        previous = _recent.get(texts[0]) if texts else None
    if texts and previous is not None and previous.node_texts == texts[1]:
        return previous.parsed
    return parse_graph(raw)


def validate_graph(raw: dict[str, Any] | Graph) -> ValidationReport:
    """Structural checks plus shapes: what ``POST /api/graphs/validate`` answers.

    A graph that differs from a recently validated one only in some nodes' params reuses the
    rest of that validation (the cache key is the JSON as written, so nothing else can differ)."""
    texts = _texts(raw)
    with _recent_lock:
        previous = _recent.get(texts[0]) if texts else None
    again = _revalidate(raw, texts[1], previous) if texts and previous and isinstance(raw, dict) else None
    if again is not None and previous is not None:
        parsed, results, recomputed = again
    else:
        parsed, recomputed = parse_graph(raw), None
        results = infer_shapes(parsed)
    report = _report(parsed, results, previous.report if previous and recomputed is not None else None,
                     recomputed)
    if texts:
        with _recent_lock:
            _recent[texts[0]] = _Validated(texts[1], parsed, results, report)
            _recent.move_to_end(texts[0])
            while sum(len(v.node_texts) for v in _recent.values()) > RECENT_NODES and len(_recent) > 1:
                _recent.popitem(last=False)
    answer = report.model_copy(update={"nodes": dict(report.nodes), "edges": list(report.edges),
                                       "errors": list(report.errors), "warnings": list(report.warnings)})
    answer._parsed = parsed
    return answer


def _report(parsed: ParsedGraph, results: dict[str, NodeResult], previous: ValidationReport | None,
            recomputed: set[str] | None) -> ValidationReport:
    """The report; with a previous one, the entries of the nodes not recomputed (and their edges) are reused."""
    errors = parsed.errors + shape_problems(parsed, results)
    node_errors: dict[str, str] = {}
    for problem in errors:
        for node_id in problem.nodes or ([problem.node] if problem.node else []):
            node_errors.setdefault(node_id, problem.message)
    nodes: dict[str, dict[str, Any] | NodeInfo] = {}
    for node in parsed.graph.nodes:
        if previous is not None and recomputed is not None and node.id not in recomputed \
                and previous.nodes[node.id].error == node_errors.get(node.id):
            nodes[node.id] = previous.nodes[node.id]
            continue
        result = results.get(node.id)
        spec = REGISTRY.get(node.type)
        ports = [p.name for p in spec.outputs] if spec else []
        outputs = result.outputs if result and result.outputs else None
        shapes = {p: list(o.shape) for p, o in zip(ports, outputs, strict=False)} if outputs else {}
        nodes[node.id] = {"type": node.type, "output_shape": list(outputs[0].shape) if outputs else None,
                          "output_shapes": shapes, "dtype": outputs[0].dtype if outputs else None,
                          "params": result.params if result else 0, "error": node_errors.get(node.id)}
    edges: list[dict[str, Any] | EdgeInfo] = []
    for i, edge in enumerate(parsed.graph.edges):
        if previous is not None and recomputed is not None and edge.source not in recomputed:
            edges.append(previous.edges[i])
            continue
        source = nodes.get(edge.source)
        by_port = source.output_shapes if isinstance(source, NodeInfo) else source["output_shapes"] if source else {}
        shape = by_port.get(edge.source_port)
        edges.append({"source": edge.source, "target": edge.target, "source_port": edge.source_port,
                      "target_port": edge.target_port, "shape": shape})
    total = sum(results[n].params for n in parsed.live if n in results and n not in parsed.shares)
    # One validation call for the whole report (pydantic's core is fast on plain dicts and lists).
    return ValidationReport.model_validate({"valid": not errors, "nodes": nodes, "edges": edges, "total_params": total,
                                            "errors": errors, "warnings": parsed.warnings})
