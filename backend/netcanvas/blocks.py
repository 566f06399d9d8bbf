"""Repeat blocks and sub-graphs (``netcanvas.graph/2``): named blocks inlined into a flat graph before any check.

A graph may define named blocks under ``blocks``: a sub-graph whose ``Input`` nodes are its input
ports and whose ``Output`` nodes are its output ports (their ids name the ports). A node of type
``Block`` (params: ``block``, ``repeat``, ``shared``) uses one. ``expand_blocks`` replaces every
``Block`` node by ``repeat`` copies of its block in sequence (each copy's outputs feed the next
copy's inputs), inner node ids prefixed with the instance id and the copy index
(``block1.0.conv1``); blocks may use other blocks, never themselves. Every check, shape, error,
module and weight after that names the expanded ids. A ``Block`` node that cannot be expanded
(unknown block, recursion, bad params or ports) stays as a stand-in with its error, so the rest
of the graph is still checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .catalog import REGISTRY, TensorSpec, fmt_shape
from .graph import (
    FORMAT,
    FORMAT_V2,
    BlockDef,
    Edge,
    EdgeRef,
    Graph,
    Node,
    ParsedGraph,
    Problem,
    describe,
    field_errors,
    unknown_format,
)

if TYPE_CHECKING:
    from .shapes import NodeResult

BLOCK = "Block"
MAX_REPEAT = 1000
MAX_EXPANDED_NODES = 20_000
"""Most nodes a graph may have once its blocks are inlined (blocks inside repeated blocks multiply)."""
MAX_NESTING = 32
"""Most blocks inside blocks inside blocks."""
_WIRE = "\x00port"
"""Type of the temporary nodes that stand for a block's ports while it is inlined; never a layer type."""


class BlockParams(BaseModel):
    """The params of a ``Block`` node."""

    model_config = ConfigDict(extra="forbid")

    block: str = Field(min_length=1, max_length=100, description="Name of a block defined under the graph's `blocks`")
    repeat: int = Field(default=1, ge=1, le=MAX_REPEAT,
                        description="Copies in sequence: each copy's outputs feed the next copy's inputs")
    shared: bool = Field(default=False, description="All copies use the first copy's weights (true) or their own")


@dataclass
class Expansion:
    graph: Graph
    """The flat graph: no Block nodes except stand-ins for those that could not be expanded."""
    problems: list[Problem] = field(default_factory=list)
    stand_ins: set[str] = field(default_factory=set)
    """Block nodes left in the flat graph because of a problem (they compute nothing)."""
    shares: dict[str, str] = field(default_factory=dict)
    """Node id -> id of the node whose module (weights) it uses, for copies of a shared repeat."""


class _TooBig(Exception):
    pass


class _Refused(Exception):
    """A Block node that cannot be expanded, with what is wrong."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        self.problems = problems


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """A graph JSON object in the current format: ``/1`` becomes ``/2`` unchanged but for the version.

    Raises ValueError naming an unknown version.
    """
    fmt = raw.get("format", FORMAT)
    if fmt == FORMAT_V2:
        return raw
    if fmt != FORMAT:
        raise ValueError(unknown_format(fmt))
    return {**raw, "format": FORMAT_V2}


def expand_blocks(graph: Graph) -> Expansion:
    """Inline every Block node; a graph without blocks comes back as the same object."""
    if not graph.blocks and not any(n.type == BLOCK for n in graph.nodes):
        return Expansion(graph)
    expander = _Expander(graph.blocks or {})
    problems: list[Problem] = []
    if graph.format != FORMAT_V2:
        problems.append(Problem(message=f"blocks and Block nodes need \"format\": \"{FORMAT_V2}\"", field="format"))
    try:
        nodes, edges = expander.inline(graph.nodes, graph.edges, "", ())
    except _TooBig as e:
        where = f"Block '{e}': the graph" if str(e) else "the graph"
        problems.append(Problem(node=str(e) or None, message=f"{where} would have more than "
                                f"{MAX_EXPANDED_NODES:,} nodes once its blocks are repeated"))
        stand_ins = {n.id for n in graph.nodes if n.type == BLOCK}
        return Expansion(graph.model_copy(update={"blocks": None}), problems, stand_ins)
    nodes, edges = expander.collapse_ports(nodes, edges)
    flat = graph.model_copy(update={"nodes": nodes, "edges": edges, "blocks": None})
    return Expansion(flat, problems + expander.problems, expander.stand_ins, expander.shares)


def _refuse(node_id: str, message: str, field_name: str | None, edge: EdgeRef | None = None) -> _Refused:
    return _Refused([Problem(node=node_id, message=message, field=field_name, edge=edge)])


def _port(ports: Sequence[str], requested: str, default: str) -> str | None:
    """The port an edge names; a block with one port also answers to the default name ('in' or 'out')."""
    if requested in ports:
        return requested
    return ports[0] if len(ports) == 1 and requested == default else None


class _Expander:
    def __init__(self, blocks: dict[str, BlockDef]):
        self.blocks = blocks
        self.problems: list[Problem] = []
        self.stand_ins: set[str] = set()
        self.shares: dict[str, str] = {}
        self.count = 0

    def inline(self, nodes: list[Node], edges: list[Edge], prefix: str, stack: tuple[str, ...],
               ports: bool = False) -> tuple[list[Node], list[Edge]]:
        """Nodes and edges with ids under ``prefix`` and Block nodes inlined; ``ports``: Input/Output are ports."""
        out_nodes: list[Node] = []
        out_edges: list[Edge] = []
        expanded: dict[str, tuple[BlockParams, list[str], list[str]]] = {}
        for node in nodes:
            node_id = prefix + node.id
            if ports and node.type in ("Input", "Output"):
                out_nodes.append(Node.model_construct(id=node_id, type=_WIRE, params={}, position=None))
            elif node.type != BLOCK:
                out_nodes.append(node.model_copy(update={"id": node_id}))
            else:
                try:
                    params, inputs, outputs = expanded[node.id] = self._check(node, edges, node_id, stack)
                except _Refused as refused:
                    self.problems.extend(refused.problems)
                    self.stand_ins.add(node_id)
                    out_nodes.append(node.model_copy(update={"id": node_id}))
                    continue
                try:
                    self._repeat(node_id, params, inputs, outputs, stack, out_nodes, out_edges)
                except _TooBig:
                    raise _TooBig(node_id) from None  # the outermost Block node is named
            self.count += 1
            if self.count > MAX_EXPANDED_NODES:
                raise _TooBig("")  # named by the Block nodes it passes through
        for edge in edges:
            update: dict[str, str] = {"source": prefix + edge.source, "target": prefix + edge.target}
            if edge.source in expanded:
                params, _, outputs = expanded[edge.source]
                port = _port(outputs, edge.source_port, "out")
                update |= {"source": f"{prefix}{edge.source}.{params.repeat - 1}.{port}", "source_port": "out"}
            if edge.target in expanded:
                _, inputs, _ = expanded[edge.target]
                port = _port(inputs, edge.target_port, "in")
                update |= {"target": f"{prefix}{edge.target}.0.{port}", "target_port": "in"}
            out_edges.append(edge.model_copy(update=update))
        return out_nodes, out_edges

    def _repeat(self, node_id: str, params: BlockParams, inputs: list[str], outputs: list[str],
                stack: tuple[str, ...], out_nodes: list[Node], out_edges: list[Edge]) -> None:
        block = self.blocks[params.block]
        chain = [(outputs[0], inputs[0])] if len(inputs) == len(outputs) == 1 else [(name, name) for name in inputs]
        for copy in range(params.repeat):
            prefix = f"{node_id}.{copy}."
            nodes, edges = self.inline(block.nodes, block.edges, prefix, (*stack, params.block), ports=True)
            out_nodes.extend(nodes)
            out_edges.extend(edges)
            if copy and params.shared:
                first = f"{node_id}.0."
                for n in nodes:
                    if n.type not in (_WIRE, BLOCK):
                        owner = first + n.id[len(prefix):]
                        self.shares[n.id] = self.shares.get(owner, owner)
            if copy:
                out_edges.extend(Edge(source=f"{node_id}.{copy - 1}.{o}", target=f"{prefix}{i}") for o, i in chain)

    def _check(self, node: Node, edges: list[Edge], node_id: str,
               stack: tuple[str, ...]) -> tuple[BlockParams, list[str], list[str]]:
        """The Block node's params and its block's input and output ports; raises _Refused."""
        where = f"Block '{node_id}'"
        try:
            params = BlockParams.model_validate(node.params)
        except ValidationError as error:
            raise _Refused([Problem(node=node_id, message=f"{where}: {loc}: {msg}" if loc else f"{where}: {msg}",
                                    field=loc.split(".")[0] or None) for loc, msg in field_errors(error)]) from None
        block = self.blocks.get(params.block)
        if block is None:
            known = ", ".join(f"'{b}'" for b in self.blocks) or "none"
            raise _refuse(node_id, f"{where}: unknown block '{params.block}' (blocks: {known})", "block")
        if params.block in stack:
            path = " -> ".join([*stack[stack.index(params.block):], params.block])
            raise _refuse(node_id, f"{where}: block '{params.block}' contains itself ({path})", "block")
        if len(stack) >= MAX_NESTING:
            raise _refuse(node_id, f"block '{stack[0]}' nests blocks more than {MAX_NESTING} deep ({stack[0]} -> "
                          f"{stack[1]} -> ... -> {params.block})", "block")  # the node id alone is that long
        inputs = [n.id for n in block.nodes if n.type == "Input"]
        outputs = [n.id for n in block.nodes if n.type == "Output"]
        if not inputs or not outputs:
            raise _refuse(node_id, f"{where}: block '{params.block}' needs an Input and an Output node "
                          "(they are its ports)", "block")
        fed: dict[str, int] = {}
        for inner in block.edges:
            fed[inner.target] = fed.get(inner.target, 0) + 1
        for port in inputs:
            if fed.get(port):
                raise _refuse(node_id, f"{where}: block '{params.block}': its Input '{port}' is a port "
                              "and cannot be fed from inside the block", "block")
        for port in outputs:
            if fed.get(port, 0) != 1:
                raise _refuse(node_id, f"{where}: block '{params.block}': its Output '{port}' needs exactly "
                              f"one incoming edge, not {fed.get(port, 0)}", "block")
        if params.repeat > 1 and not (len(inputs) == len(outputs) == 1 or sorted(inputs) == sorted(outputs)):
            raise _refuse(node_id, f"{where}: repeat {params.repeat} feeds each copy's outputs into the next "
                          f"copy's inputs, so block '{params.block}' needs one Input and one Output, or "
                          f"Outputs named like its Inputs (inputs: {', '.join(inputs)}; outputs: "
                          f"{', '.join(outputs)})", "repeat")
        connected: dict[str, int] = {}
        for e in edges:
            ref = EdgeRef(source=e.source, target=e.target, source_port=e.source_port, target_port=e.target_port)
            if e.source == node.id and e.target == node.id:
                raise _refuse(node_id, f"{where}: a node cannot feed itself", None, ref)
            if e.target == node.id:
                target = _port(inputs, e.target_port, "in")
                if target is None:
                    raise _refuse(node_id, f"{where}: block '{params.block}' has no input port "
                                  f"'{e.target_port}' (ports: {', '.join(inputs)})", None, ref)
                connected[target] = connected.get(target, 0) + 1
            if e.source == node.id and _port(outputs, e.source_port, "out") is None:
                raise _refuse(node_id, f"{where}: block '{params.block}' has no output port "
                              f"'{e.source_port}' (ports: {', '.join(outputs)})", None, ref)
        for port in inputs:
            if connected.get(port, 0) != 1:
                how = "is not connected" if not connected.get(port) else f"has {connected[port]} incoming edges; " \
                                                                         "it takes one"
                raise _refuse(node_id, f"{where}: input port '{port}' {how}", None)
        return params, inputs, outputs

    def collapse_ports(self, nodes: list[Node], edges: list[Edge]) -> tuple[list[Node], list[Edge]]:
        """Remove the port stand-ins: every edge out of a port starts where the port's one feed starts."""
        ports = {n.id for n in nodes if n.type == _WIRE}
        feed = {e.target: (e.source, e.source_port) for e in edges if e.target in ports}
        out: list[Edge] = []
        for edge in edges:
            if edge.target in ports:
                continue
            source, port, seen = edge.source, edge.source_port, set()
            while source in ports and source in feed and source not in seen:
                seen.add(source)
                source, port = feed[source]
            if source in ports:
                if source in seen:  # blocks that only pass values through, wired into a loop
                    self.problems.append(Problem(node=edge.target, message="cycle through the ports of blocks: "
                                                 + " -> ".join(sorted(seen))))
                continue
            out.append(edge if source == edge.source else edge.model_copy(update={"source": source,
                                                                                  "source_port": port}))
        return [n for n in nodes if n.type != _WIRE], out


def sharing_problems(parsed: ParsedGraph, results: Mapping[str, NodeResult]) -> list[Problem]:
    """Copies of a shared repeat run their first copy's module, so each must receive the same input specs."""
    problems: list[Problem] = []
    for node_id, owner in parsed.shares.items():
        mine, theirs = _input_specs(parsed, node_id, results), _input_specs(parsed, owner, results)
        if mine is not None and theirs is not None and mine != theirs:
            got = ", ".join(fmt_shape(s.shape) for s in mine)
            want = ", ".join(fmt_shape(s.shape) for s in theirs)
            problems.append(Problem(node=node_id, message=f"{describe(parsed.node(node_id))}: shares its weights "
                                    f"with '{owner}' (a shared repeat) but gets input {got} where that one gets "
                                    f"{want}; make the block keep its shapes, or set shared to false"))
    return problems


def _input_specs(parsed: ParsedGraph, node_id: str, results: Mapping[str, NodeResult]) -> list[TensorSpec] | None:
    specs: list[TensorSpec] = []
    for _, edges in sorted(parsed.incoming.get(node_id, {}).items()):
        for edge in edges:
            result, spec = results.get(edge.source), REGISTRY.get(parsed.node(edge.source).type)
            if result is None or result.outputs is None or spec is None:
                return None
            specs.append(result.outputs[[p.name for p in spec.outputs].index(edge.source_port)])
    return specs
