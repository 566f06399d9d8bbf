"""Graph JSON -> torch.fx GraphModule.

The fx graph is built directly (no tracing): one placeholder per Input, one
``call_module`` per layer node (the module attribute is named after the node id, so
``state_dict`` keys identify nodes and ``GraphModule.code`` reads like hand-written
PyTorch), ``getitem`` for layers with several output ports, and one output per Output
node (a tensor when there is one, else a tuple in graph order).
"""

from __future__ import annotations

import keyword
import operator
import re
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from .catalog import REGISTRY, TensorSpec
from .graph import Graph, Problem, parse_graph
from .shapes import NodeResult, infer_shapes, node_inputs, shape_problems


class GraphInvalid(ValueError):
    """The graph cannot be compiled; ``errors`` name the nodes at fault."""

    def __init__(self, errors: list[Problem]):
        self.errors = errors
        super().__init__("invalid graph:\n" + "\n".join(f"  - {p.message}" for p in errors))


_RESERVED = (set(dir(fx.GraphModule)) | set(dir(nn.Module)) | set(dir(__builtins__))
             | {"self", "torch", "operator", "math", "inf", "nan", "fx", "nn", "getitem", "output"})


class NameTable:
    """Maps node ids (any string) to unique, safe Python identifiers, and back."""

    def __init__(self) -> None:
        self.by_id: dict[str, str] = {}
        self.taken: set[str] = set()

    def name(self, node_id: str) -> str:
        if node_id in self.by_id:
            return self.by_id[node_id]
        base = re.sub(r"\W", "_", node_id, flags=re.ASCII).strip("_") or "node"
        if base[0].isdigit():
            base = f"n_{base}"
        if keyword.iskeyword(base) or base in _RESERVED or base.startswith("_"):
            base = f"{base}_"
        candidate, i = base, 1
        while candidate in self.taken:
            candidate = f"{base}_{i}"
            i += 1
        self.taken.add(candidate)
        self.by_id[node_id] = candidate
        return candidate


def class_name(graph_name: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", graph_name)
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Model"
    return f"Model{name}" if name[0].isdigit() else name


FINAL_ACTIVATIONS = ("Softmax", "LogSoftmax", "Sigmoid")


@dataclass
class CompiledGraph:
    graph: Graph
    module: fx.GraphModule
    input_names: list[str]
    """Input node ids, in the order ``forward`` takes them."""
    output_names: list[str]
    """Output names (``params.name`` or the node id), in the order ``forward`` returns them."""
    inputs: dict[str, TensorSpec]
    outputs: dict[str, TensorSpec]
    module_names: dict[str, str]
    """Node id -> module attribute name (and placeholder name for Inputs)."""
    final_activation: dict[str, str | None]
    """Output name -> the layer type feeding it when that is Softmax, LogSoftmax or Sigmoid."""
    final_activation_dim: dict[str, int] = field(default_factory=dict)
    node_types: dict[str, str] = field(default_factory=dict)
    shapes: dict[str, NodeResult] = field(default_factory=dict)

    def __call__(self, *args: torch.Tensor) -> Any:
        return self.module(*args)

    def node_of_module(self, attr: str) -> str:
        """The node id whose module attribute is ``attr``."""
        for node_id, name in self.module_names.items():
            if name == attr:
                return node_id
        return attr


def as_tuple(out: Any) -> tuple[torch.Tensor, ...]:
    """A compiled module's result as a tuple: ``forward`` returns a tensor for one Output, a tuple for several."""
    return out if isinstance(out, tuple) else (out,)


WARM_UP_GRAPH: dict[str, Any] = {
    "nodes": [{"id": "x", "type": "Input", "params": {"shape": [1, 4, 4]}},
              {"id": "c", "type": "Conv2d", "params": {"out_channels": 2, "kernel_size": 3}},
              {"id": "f", "type": "Flatten"}, {"id": "l", "type": "Linear"}, {"id": "y", "type": "Output"}],
    "edges": [{"source": "x", "target": "c"}, {"source": "c", "target": "f"},
              {"source": "f", "target": "l"}, {"source": "l", "target": "y"}],
}
"""A tiny graph for a process to validate or compile once at start: the first time pays for imports and kernels."""


def compile_graph(graph: Graph | dict[str, Any]) -> CompiledGraph:
    """Compile a graph to a freshly initialized CPU module; raise GraphInvalid with node errors.

    Call ``torch.manual_seed`` first for reproducible initial weights.
    """
    parsed = parse_graph(graph)
    results = infer_shapes(parsed)
    errors = parsed.errors + shape_problems(parsed, results)
    if errors:
        raise GraphInvalid(errors)
    g = parsed.graph
    names = NameTable()
    root = nn.Module()
    fxg = fx.Graph()
    values: dict[tuple[str, str], fx.Node] = {}
    used: dict[str, set[str]] = {}
    for edge in g.edges:
        used.setdefault(edge.source, set()).add(edge.source_port)
    input_names: list[str] = []
    inputs: dict[str, TensorSpec] = {}
    outputs: dict[str, TensorSpec] = {}
    out_nodes: list[fx.Node] = []
    out_ids: list[str] = []
    final: dict[str, str | None] = {}
    final_dim: dict[str, int] = {}
    node_types: dict[str, str] = {}
    built: set[str] = set()
    for node_id in parsed.order:
        if node_id not in parsed.live:
            continue
        node = parsed.node(node_id)
        layer = parsed.layers[node_id]
        spec = REGISTRY[node.type]
        node_types[node_id] = node.type
        result = results[node_id]
        assert result.outputs is not None
        if node.type == "Input":
            values[(node_id, "out")] = fxg.placeholder(names.name(node_id))
            input_names.append(node_id)
            inputs[node_id] = result.outputs[0]
            continue
        incoming = parsed.incoming.get(node_id, {})
        if node.type == "Output":
            edge = incoming["in"][0]
            out_name = node.output_name
            out_nodes.append(values[(edge.source, edge.source_port)])
            out_ids.append(node_id)
            outputs[out_name] = result.outputs[0]
            source = parsed.node(edge.source)
            final[out_name] = source.type if source.type in FINAL_ACTIVATIONS else None
            if source.type in ("Softmax", "LogSoftmax"):
                final_dim[out_name] = int(parsed.layers[source.id].dim)  # type: ignore[attr-defined]
            continue
        port_inputs = node_inputs(parsed, node_id, results, frozenset(used.get(node_id, set())))
        assert port_inputs is not None
        attr = names.name(parsed.shares.get(node_id, node_id))  # copies of a shared repeat call the first copy
        if attr not in built:
            root.add_module(attr, layer.build(port_inputs))
            built.add(attr)
        args: list[Any] = []
        for port in spec.inputs:
            edges = incoming.get(port.name, [])
            args.extend(values[(e.source, e.source_port)] for e in edges) if edges else args.append(None)
        while args and args[-1] is None:
            args.pop()
        call = fxg.create_node("call_module", attr, tuple(args), name=attr)
        if len(spec.outputs) == 1:
            values[(node_id, spec.outputs[0].name)] = call
        else:
            for i, port in enumerate(spec.outputs):
                if port.name in used.get(node_id, set()):
                    values[(node_id, port.name)] = fxg.create_node(
                        "call_function", operator.getitem, (call, i), name=f"{attr}_{port.name}")
    # Outputs in the order their nodes appear in the graph JSON (not the order they were reached).
    position = {n.id: i for i, n in enumerate(g.nodes)}
    order = sorted(range(len(out_nodes)), key=lambda i: position[out_ids[i]])
    out_nodes = [out_nodes[i] for i in order]
    outputs = {name: outputs[name] for name in (list(outputs)[i] for i in order)}
    fxg.output(out_nodes[0] if len(out_nodes) == 1 else tuple(out_nodes))
    module = fx.GraphModule(root, fxg, class_name=class_name(g.name))
    return CompiledGraph(graph=g, module=module, input_names=input_names, output_names=list(outputs),
                         inputs=inputs, outputs=outputs, module_names=dict(names.by_id), final_activation=final,
                         final_activation_dim=final_dim, node_types=node_types, shapes=results)
