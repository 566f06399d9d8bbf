"""The graph JSON (docs/graph-format.md): pydantic models and the structural checks.

``parse_graph`` accepts any JSON object and never raises: what it cannot read becomes a
``Problem`` that names the node (and edge, and field) at fault, and the rest is kept so
shapes can still be shown for the parts that are fine.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from .catalog import REGISTRY, Layer

FORMAT: Literal["netcanvas.graph/1"] = "netcanvas.graph/1"
FORMAT_V2: Literal["netcanvas.graph/2"] = "netcanvas.graph/2"
"""The format with named blocks (backend/netcanvas/blocks.py); a /1 graph is a /2 graph without them."""


def unknown_format(fmt: object) -> str:
    return (f"unknown graph format {fmt!r}: this NetCanvas reads {FORMAT!r} and {FORMAT_V2!r} "
            "(a newer NetCanvas may have written the graph)")


class Position(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)  # NaN would be saved as null and could not be read back

    x: float = 0.0
    y: float = 0.0


class Node(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=200, description="Unique node id; any string")
    type: str = Field(max_length=100, description="A layer type of the catalog")
    params: dict[str, Any] = Field(default_factory=dict, description="Layer params; omitted ones take defaults")
    position: Position | None = Field(default=None, description="Canvas position; ignored by compilation")

    @property
    def output_name(self) -> str:
        """An Output's name in losses, metrics, datasets, exports and predictions: ``params.name``, else its id."""
        name = self.params.get("name")
        return name if isinstance(name, str) and name else self.id


class Edge(BaseModel):
    model_config = ConfigDict(extra="allow")

    source: str
    target: str
    source_port: str = "out"
    target_port: str = "in"

    def label(self) -> str:
        src = self.source if self.source_port == "out" else f"{self.source}.{self.source_port}"
        dst = self.target if self.target_port == "in" else f"{self.target}.{self.target_port}"
        return f"{src} -> {dst}"


class BlockDef(BaseModel):
    """A named sub-graph used by Block nodes: its Input and Output nodes are its ports (their ids name them)."""

    model_config = ConfigDict(extra="allow")

    nodes: list[Node] = Field(default_factory=list, description="The block's nodes, its Inputs and Outputs too")
    edges: list[Edge] = Field(default_factory=list, description="The connections inside the block")


BlockName = Annotated[str, Field(min_length=1, max_length=100)]


class Graph(BaseModel):
    """A NetCanvas graph. Unknown top-level keys (such as ``ui``) are preserved."""

    model_config = ConfigDict(extra="allow")

    format: Literal["netcanvas.graph/1", "netcanvas.graph/2"] = FORMAT
    name: str = "untitled"
    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)
    search: dict[str, Any] | None = Field(default=None, description="Params and training settings marked to tune: "
                                                                    "a search space (docs/search.md); ignored by "
                                                                    "training")
    blocks: dict[BlockName, BlockDef] | None = Field(default=None, description="Named sub-graphs that Block nodes "
                                                     "use (format netcanvas.graph/2)")

    @field_validator("format", mode="before")
    @classmethod
    def _known_format(cls, value: object) -> object:
        if value not in (FORMAT, FORMAT_V2):
            raise ValueError(unknown_format(value))
        return value

    @classmethod
    def load(cls, path: str | Path) -> Graph:
        return cls.model_validate(json.loads(Path(path).read_text()))


class EdgeRef(BaseModel):
    source: str
    target: str
    source_port: str = "out"
    target_port: str = "in"


class Problem(BaseModel):
    """An error or warning, attributed to a node (and edge, and param field) where possible."""

    node: str | None = None
    message: str
    field: str | None = None
    edge: EdgeRef | None = None
    nodes: list[str] | None = None


@dataclass
class ParsedGraph:
    """A graph after the structural checks: what can be compiled, and what is wrong."""

    graph: Graph
    layers: dict[str, Layer] = field(default_factory=dict)
    """Validated params of every node whose type and params are good."""
    param_keys: dict[str, str] = field(default_factory=dict)
    """Canonical JSON of each node's params as written (a cache key)."""
    incoming: dict[str, dict[str, list[Edge]]] = field(default_factory=dict)
    """node id -> target port -> edges in operand order (only edges between known ports)."""
    order: list[str] = field(default_factory=list)
    """Topological order of the nodes not on a cycle."""
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)
    """Nodes that cannot be computed (bad type, params or connections)."""
    unreadable: set[str] = field(default_factory=set)
    """Nodes with an id whose JSON could not be read: kept as stand-ins so edges to them resolve."""
    live: set[str] = field(default_factory=set)
    """Nodes that lead to an Output: what the compiled model contains."""
    shares: dict[str, str] = field(default_factory=dict)
    """Node id -> id of the node whose module it uses (copies of a shared repeat block)."""

    def node(self, node_id: str) -> Node:
        return self._by_id[node_id]

    def __post_init__(self) -> None:
        self._by_id = {n.id: n for n in self.graph.nodes}


def describe(node: Node) -> str:
    return f"{node.type} '{node.id}'"


# The names pydantic gives the members of a union in an error's location (``constrained-int``,
# ``tuple[constrained-int, constrained-int]``, ``literal['same','valid']``, ``int``): its internals, not a field.
# Only pydantic's own words are matched, so that a node or block id such as ``out-1`` stays in the path.
_UNION_MEMBER = re.compile(
    r"(constrained-[a-z]+|function-(after|before|wrap|plain)|lax-or-strict|json-or-python|is-instance|"
    r"is-subclass|tagged-union|nullable|tuple|list|dict|set|frozenset|literal|union|chain)\[.*\]|"
    r"constrained-(int|float|str|bytes|decimal|date|datetime|list|set)|int|float|str|bool|none|bytes")
# What pydantic puts before the text of a ValueError or an assert raised by a validator.
_MESSAGE_PREFIXES = ("Value error, ", "Assertion failed, ")


def readable_errors(errors: Iterable[Mapping[str, Any]]) -> list[tuple[tuple[str | int, ...], str, str]]:
    """Pydantic's error items as (location, message, type) with its internals left out, each said once: the one
    place that turns them into what a user reads (``field_errors`` here, the API's 422 bodies)."""
    out: list[tuple[tuple[str | int, ...], str, str]] = []
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    for item in errors:
        loc = tuple(p for p in item.get("loc", ()) if not (isinstance(p, str) and _UNION_MEMBER.fullmatch(p)))
        msg = str(item.get("msg", ""))
        for prefix in _MESSAGE_PREFIXES:
            msg = msg.removeprefix(prefix)
        if (loc, msg) not in seen:
            seen.add((loc, msg))
            out.append((loc, msg, str(item.get("type", ""))))
    return out


def field_errors(error: ValidationError) -> list[tuple[str, str]]:
    """A pydantic error as (dotted field path, message) pairs: ``("optimizer.adam.lr", "Input should be ...")``.

    The path is empty for an error about the object as a whole. Pydantic's internals are left out, so that a
    user reads ``shape: every axis must be ...`` and ``kernel_size.1: Input should be a valid integer``, not
    ``shape: Value error, every axis ...`` or ``kernel_size.tuple[constrained-int, constrained-int].1``; a message
    that says the same as one before it (each member of a union refusing the value alike) is said once.
    """
    pairs: list[tuple[str, str]] = []
    for loc, msg, _ in readable_errors(error.errors()):
        pair = (".".join(str(p) for p in loc), msg)
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def _pydantic_problems(error: ValidationError, where: str, node: str | None) -> list[Problem]:
    return [Problem(node=node, message=f"{where}: {loc}: {msg}" if loc else f"{where}: {msg}",
                    field=loc.split(".")[0] or None) for loc, msg in field_errors(error)]


def size_problem(raw: dict[str, Any], max_nodes: int, max_edges: int) -> str | None:
    """Past the node or edge limit, what to say (checked before anything else: the work grows with the size)."""
    for key, limit, setting in (("nodes", max_nodes, "NETCANVAS_MAX_NODES"),
                                ("edges", max_edges, "NETCANVAS_MAX_EDGES")):
        items = raw.get(key)
        if isinstance(items, list) and len(items) > limit:
            return f"the graph has {len(items):,} {key}, more than the limit of {limit:,} ({setting})"
    return None


def parse_graph(raw: dict[str, Any] | Graph) -> ParsedGraph:
    """Read a graph JSON object leniently and run every structural check."""
    errors: list[Problem] = []
    unreadable: set[str] = set()
    if isinstance(raw, Graph):
        graph = raw
    else:
        graph, errors, unreadable = _read(raw)
    from .blocks import expand_blocks  # blocks.py builds on this module's models

    expansion = expand_blocks(graph)  # the one place where blocks are inlined, for every caller
    unreadable |= expansion.stand_ins
    parsed = ParsedGraph(graph=expansion.graph, errors=errors + expansion.problems, broken=set(unreadable),
                         unreadable=unreadable, shares=expansion.shares)
    _check_nodes(parsed)
    _check_edges(parsed)
    _order(parsed)
    _check_reachability(parsed)
    return parsed


_NODE_LIST = TypeAdapter(list[Node])
_EDGE_LIST = TypeAdapter(list[Edge])
_BLOCKS = TypeAdapter(dict[BlockName, BlockDef])


def _read(raw: dict[str, Any]) -> tuple[Graph, list[Problem], set[str]]:
    errors: list[Problem] = []
    unreadable: set[str] = set()
    fmt = raw.get("format", FORMAT)
    if fmt not in (FORMAT, FORMAT_V2):
        errors.append(Problem(message=unknown_format(fmt), field="format"))
        fmt = FORMAT
    nodes: list[Node] = []
    raw_nodes = raw.get("nodes", [])
    if not isinstance(raw_nodes, list):
        errors.append(Problem(message="'nodes' must be a list of nodes", field="nodes"))
        raw_nodes = []
    try:  # one call into pydantic's core for the whole list; item by item only to explain a failure
        nodes = _NODE_LIST.validate_python(raw_nodes)
        raw_nodes = []
    except ValidationError:
        pass
    for i, item in enumerate(raw_nodes):
        node_id = item.get("id") if isinstance(item, dict) else None
        label = f"node {node_id!r}" if isinstance(node_id, str) else f"node #{i + 1}"
        try:
            nodes.append(Node.model_validate(item))
        except ValidationError as e:
            errors.extend(_pydantic_problems(e, label, node_id if isinstance(node_id, str) else None))
            if isinstance(node_id, str) and node_id:
                # A stand-in, so edges to this node do not also report it as unknown.
                node_type = item.get("type") if isinstance(item.get("type"), str) else ""
                nodes.append(Node.model_construct(id=node_id, type=node_type, params={}, position=None))
                unreadable.add(node_id)
    edges: list[Edge] = []
    raw_edges = raw.get("edges", [])
    if not isinstance(raw_edges, list):
        errors.append(Problem(message="'edges' must be a list of edges", field="edges"))
        raw_edges = []
    try:
        edges = _EDGE_LIST.validate_python(raw_edges)
        raw_edges = []
    except ValidationError:
        pass
    for i, item in enumerate(raw_edges):
        try:
            edges.append(Edge.model_validate(item))
        except ValidationError as e:
            target = item.get("target") if isinstance(item, dict) else None
            errors.extend(_pydantic_problems(e, f"edge #{i + 1}", target if isinstance(target, str) else None))
    extra = {k: v for k, v in raw.items() if k not in ("format", "nodes", "edges")}
    name = extra.pop("name", "untitled")
    if not isinstance(name, str):
        errors.append(Problem(message="'name' must be a string", field="name"))
        name = "untitled"
    if extra.get("search") is not None and not isinstance(extra["search"], dict):
        errors.append(Problem(message="'search' must be an object of search dimensions (docs/search.md)",
                              field="search"))
        extra.pop("search")
    if extra.get("blocks") is not None:
        try:
            extra["blocks"] = _BLOCKS.validate_python(extra["blocks"])
        except ValidationError as e:
            errors.extend(Problem(message=p.message, field="blocks") for p in _pydantic_problems(e, "blocks", None))
            extra.pop("blocks")
    return Graph(format=fmt, name=name, nodes=nodes, edges=edges, **extra), errors, unreadable


def validated_params(cls: type[Layer], params: dict[str, Any]) -> tuple[Layer, str]:
    """Params validated once per distinct value (the canvas re-sends the same ones on every edit).

    Returns the params and their canonical JSON text, which keys the shape cache.
    """
    text = json.dumps(params, sort_keys=True, default=str) if params else "{}"
    return _validated(cls, text), text


@functools.lru_cache(maxsize=8192)
def _validated(cls: type[Layer], text: str) -> Layer:
    return cls.model_validate_json(text)


def _check_nodes(parsed: ParsedGraph) -> None:
    counts: dict[str, int] = defaultdict(int)
    for node in parsed.graph.nodes:
        counts[node.id] += 1
    for node_id, n in counts.items():
        if n > 1:
            parsed.errors.append(Problem(node=node_id, message=f"duplicate node id '{node_id}' (used by {n} nodes)"))
            parsed.broken.add(node_id)
    for node in parsed.graph.nodes:
        spec = REGISTRY.get(node.type)
        if node.id in parsed.unreadable:
            continue
        if spec is None:
            by_lower = {t.lower(): t for t in REGISTRY}  # "relu" and "Gelu" suggest ReLU and GELU
            close = difflib.get_close_matches(node.type.lower(), list(by_lower), n=1)
            hint = f" (did you mean '{by_lower[close[0]]}'?)" if close else ""
            parsed.errors.append(Problem(node=node.id, message=f"node '{node.id}': unknown layer type "
                                                               f"'{node.type}'{hint}", field="type"))
            parsed.broken.add(node.id)
            continue
        try:
            parsed.layers[node.id], parsed.param_keys[node.id] = validated_params(spec.params, node.params)
        except ValidationError as e:
            parsed.errors.extend(_pydantic_problems(e, describe(node), node.id))
            parsed.broken.add(node.id)
    types = [n.type for n in parsed.graph.nodes]
    if "Input" not in types:
        parsed.errors.append(Problem(message="the graph has no Input node"))
    if "Output" not in types:
        parsed.errors.append(Problem(message="the graph has no Output node"))
    names: dict[str, str] = {}
    for node in parsed.graph.nodes:
        if node.type == "Output" and node.id in parsed.layers:
            name = node.output_name
            if name in names:
                parsed.errors.append(Problem(node=node.id, message=f"Output '{node.id}': output name '{name}' is "
                                             f"also used by '{names[name]}'", field="name"))
            names[name] = node.id


def _check_edges(parsed: ParsedGraph) -> None:
    by_id = {n.id: n for n in parsed.graph.nodes}
    incoming: dict[str, dict[str, list[Edge]]] = defaultdict(lambda: defaultdict(list))
    for edge in parsed.graph.edges:
        problem = None
        source, target = by_id.get(edge.source), by_id.get(edge.target)
        if source is None:
            problem = Problem(node=edge.target if target else None,
                              message=f"edge {edge.label()}: unknown source node '{edge.source}'")
        elif target is None:
            problem = Problem(node=edge.source,
                              message=f"edge {edge.label()}: unknown target node '{edge.target}'")
        elif edge.source == edge.target:
            problem = Problem(node=edge.source, message=f"edge {edge.label()}: a node cannot feed itself")
        else:
            src_spec, dst_spec = REGISTRY.get(source.type), REGISTRY.get(target.type)
            if src_spec and edge.source_port not in [p.name for p in src_spec.outputs]:
                ports = ", ".join(p.name for p in src_spec.outputs) or "none"
                problem = Problem(node=source.id, message=f"edge {edge.label()}: {describe(source)} has no "
                                  f"output port '{edge.source_port}' (ports: {ports})")
            elif dst_spec and edge.target_port not in [p.name for p in dst_spec.inputs]:
                ports = ", ".join(p.name for p in dst_spec.inputs) or "none"
                problem = Problem(node=target.id, message=f"edge {edge.label()}: {describe(target)} has no "
                                  f"input port '{edge.target_port}' (ports: {ports})")
        if problem:
            problem.edge = EdgeRef(source=edge.source, target=edge.target, source_port=edge.source_port,
                                   target_port=edge.target_port)
            parsed.errors.append(problem)
            if problem.node:
                parsed.broken.add(problem.node)
            continue
        incoming[edge.target][edge.target_port].append(edge)
    parsed.incoming = {k: dict(v) for k, v in incoming.items()}

    for node in parsed.graph.nodes:
        spec = REGISTRY.get(node.type)
        if spec is None:
            continue
        connected = parsed.incoming.get(node.id, {})
        for port in spec.inputs:
            edges = connected.get(port.name, [])
            if not edges and not port.optional:
                parsed.errors.append(Problem(node=node.id, message=f"{describe(node)}: input port '{port.name}' "
                                             "is not connected"))
                parsed.broken.add(node.id)
            elif len(edges) > 1 and not port.variadic:
                sources = ", ".join(f"'{e.source}'" for e in edges)
                parsed.errors.append(Problem(node=node.id, message=f"{describe(node)}: input port '{port.name}' has "
                                             f"{len(edges)} incoming edges (from {sources}); it takes one"))
                parsed.broken.add(node.id)


def _order(parsed: ParsedGraph) -> None:
    """Topological order, ties in graph order; nodes on (or behind) a cycle are left out and the cycle is named."""
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for node in parsed.graph.nodes:
        sorter.add(node.id)
    for target, ports in parsed.incoming.items():
        for edges in ports.values():
            for edge in edges:
                sorter.add(target, edge.source)
    cycle: list[str] = []
    try:
        sorter.prepare()
    except CycleError as e:
        cycle = e.args[1][:-1]  # [a, b, a]: each node feeds the next
    order: list[str] = []
    while ready := sorter.get_ready():  # empty once only the nodes a cycle blocks are left
        order.extend(ready)
        sorter.done(*ready)
    parsed.order = order
    if cycle:
        path = " -> ".join([*cycle, cycle[0]])
        parsed.errors.append(Problem(node=cycle[0], nodes=cycle, message=f"cycle: {path}"))
        placed = set(order)
        parsed.broken.update(n.id for n in parsed.graph.nodes if n.id not in placed)


def _check_reachability(parsed: ParsedGraph) -> None:
    forward = _reach(parsed, [n.id for n in parsed.graph.nodes if n.type == "Input"], downstream=True)
    backward = _reach(parsed, [n.id for n in parsed.graph.nodes if n.type == "Output"], downstream=False)
    parsed.live = backward
    for node in parsed.graph.nodes:
        if node.id in parsed.broken:
            continue
        if node.id not in backward:
            parsed.warnings.append(Problem(node=node.id, message=f"{describe(node)} does not lead to any Output; "
                                           "it is left out of the model"))
        elif node.id not in forward:
            parsed.warnings.append(Problem(node=node.id, message=f"{describe(node)} is not reachable from any Input"))


def _reach(parsed: ParsedGraph, start: list[str], downstream: bool) -> set[str]:
    links: dict[str, list[str]] = defaultdict(list)
    for target, ports in parsed.incoming.items():
        for edges in ports.values():
            for e in edges:
                if downstream:
                    links[e.source].append(target)
                else:
                    links[target].append(e.source)
    seen = set(start)
    stack = list(start)
    while stack:
        for nxt in links[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen
