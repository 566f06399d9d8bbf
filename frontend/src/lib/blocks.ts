// Repeat blocks (netcanvas.graph/2, docs/graph-format.md#blocks-and-repeats), as pure functions: group a selection
// into a block definition and one `Block` node, the ports of a block, ungroup, and what the validation (which speaks
// of expanded ids such as `block1.0.conv1`) says about a `Block` node. The store and the canvas only call these.
import type { ValidationReport } from "../api/client";
import { type LayerNode, type PortEdge, edgeId } from "./graph";

export const BLOCK = "Block";
export const FORMAT_V2 = "netcanvas.graph/2";

export type BlockNodeJSON = { id: string; type: string; params?: Record<string, unknown>; position?: { x: number; y: number } };
export type BlockEdgeJSON = { source: string; target: string; source_port?: string; target_port?: string };
export type BlockDef = { nodes: BlockNodeJSON[]; edges: BlockEdgeJSON[] };
export type Blocks = Record<string, BlockDef>;
export type BlockParams = { block: string; repeat: number; shared: boolean };
type Shape = (number | null)[] | null;
type Problem = ValidationReport["errors"][number];

const NO_BLOCKS: Blocks = {};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The graph's `blocks` (kept in FlowGraph.extra as it came), those that have nodes and edges. */
export function readBlocks(extra: Record<string, unknown>): Blocks {
  const raw = extra.blocks;
  if (!isObject(raw)) return NO_BLOCKS;
  const out: Blocks = {};
  for (const [name, def] of Object.entries(raw)) {
    if (isObject(def) && Array.isArray(def.nodes) && Array.isArray(def.edges)) out[name] = def as BlockDef;
  }
  return out;
}

/** A Block node expanded for editing: its block, its params and the ids of its layers on the canvas, and the ports its
 * border edges were made for. Kept in the graph's `ui.expanded` (node id -> this): saved, reloaded and undone with
 * the graph, so an expanded block can always be collapsed. */
export type ExpandedBlock = { block: string; params: Record<string, unknown>; ids: string[]; ports: ExpandedPorts };
export type Expanded = Record<string, ExpandedBlock>;

const NO_EXPANDED: Expanded = {};
const expandedMemo = new WeakMap<object, Expanded>();

function strings(v: unknown): Record<string, string> {
  return isObject(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string")) : {};
}

function isEnd(v: unknown): v is PortEnd {
  return isObject(v) && typeof v.node === "string" && typeof v.handle === "string";
}

/** A record's port ends as saved (a graph saved before they were recorded has none: its ports come from its edges). */
function readEnds(v: unknown): PortEnds {
  const ends: PortEnds = { inputs: {}, outputs: {} };
  if (!isObject(v)) return ends;
  for (const [port, list] of Object.entries(isObject(v.inputs) ? v.inputs : {})) {
    if (Array.isArray(list)) ends.inputs[port] = list.filter(isEnd).map((e) => ({ node: e.node, handle: e.handle }));
  }
  for (const [port, end] of Object.entries(isObject(v.outputs) ? v.outputs : {})) {
    if (isEnd(end)) ends.outputs[port] = { node: end.node, handle: end.handle };
  }
  return ends;
}

/** The graph's expanded blocks (`ui.expanded`), those well formed; the same object while `extra.ui` is unchanged. */
export function readExpanded(extra: Record<string, unknown>): Expanded {
  const ui = extra.ui;
  if (!isObject(ui) || !isObject(ui.expanded)) return NO_EXPANDED;
  const raw = ui.expanded;
  const memo = expandedMemo.get(raw);
  if (memo) return memo;
  const out: Expanded = {};
  for (const [id, r] of Object.entries(raw)) {
    if (!isObject(r) || typeof r.block !== "string" || !isObject(r.params) || !Array.isArray(r.ids)) continue;
    const ports = isObject(r.ports) ? r.ports : {};
    out[id] = {
      block: r.block,
      params: r.params,
      ids: r.ids.filter((x): x is string => typeof x === "string"),
      ports: { inputs: strings(ports.inputs), outputs: strings(ports.outputs), names: strings(ports.names), ends: readEnds(ports.ends) },
    };
  }
  expandedMemo.set(raw, out);
  return out;
}

/** `extra` with the Block node `id` recorded as expanded (or, with null, no longer). */
export function withExpanded(extra: Record<string, unknown>, id: string, record: ExpandedBlock | null): Record<string, unknown> {
  const ui = isObject(extra.ui) ? extra.ui : {};
  const expanded: Expanded = { ...readExpanded(extra) };
  if (record) expanded[id] = record;
  else delete expanded[id];
  const rest = { ...ui };
  delete rest.expanded;
  return { ...extra, ui: Object.keys(expanded).length ? { ...rest, expanded } : rest };
}

export function hasBlocks(extra: Record<string, unknown>, nodes: Pick<LayerNode, "data">[]): boolean {
  return isObject(extra.blocks) || nodes.some((n) => n.data.type === BLOCK);
}

export function blockParams(params: Record<string, unknown>): BlockParams {
  const repeat = typeof params.repeat === "number" ? params.repeat : 1;
  return { block: typeof params.block === "string" ? params.block : "", repeat, shared: params.shared === true };
}

/** A block's ports: its Input nodes are its inputs, its Output nodes its outputs, named by their ids. */
export function blockPorts(def: BlockDef | undefined): { inputs: string[]; outputs: string[] } {
  if (!def) return { inputs: [], outputs: [] };
  return {
    inputs: def.nodes.filter((n) => n.type === "Input").map((n) => n.id),
    outputs: def.nodes.filter((n) => n.type === "Output").map((n) => n.id),
  };
}

/** The first name `base`, `base2`, `base3`, ... (or `base_2` ... when base ends in a digit) that is not taken. */
function fresh(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  const sep = /\d$/.test(base) ? "_" : "";
  for (let i = 2; ; i++) if (!taken.has(`${base}${sep}${i}`)) return `${base}${sep}${i}`;
}

/** The port an edge's handle on a Block node stands for: the one port of a kind also answers to `in` / `out`. */
function portOf(handle: string, ports: string[], fallback: "in" | "out"): string {
  return handle === fallback && ports.length === 1 ? ports[0] : handle;
}

function hasCycle(nodes: string[], edges: { source: string; target: string }[]): boolean {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.source, [...(next.get(e.source) ?? []), e.target]);
  const state = new Map<string, 1 | 2>();
  const visit = (start: string): boolean => {
    const stack: [string, number][] = [[start, 0]];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const out = next.get(top[0]) ?? [];
      if (top[1] >= out.length) {
        state.set(top[0], 2);
        stack.pop();
        continue;
      }
      const n = out[top[1]++];
      if (state.get(n) === 1) return true;
      if (!state.has(n)) {
        state.set(n, 1);
        stack.push([n, 0]);
      }
    }
    return false;
  };
  return nodes.some((n) => !state.has(n) && visit(n));
}

export type Grouped = {
  name: string;
  block: BlockDef;
  instance: LayerNode;
  nodes: LayerNode[];
  edges: PortEdge[];
  /** Collapsing: the edges of the block's other nodes that were on a port the block no longer has (removed). */
  dropped: PortEdge[];
};

/** A layer on the canvas and its handle. */
export type PortEnd = { node: string; handle: string };
/** Where each port of an expanded block meets its layers on the canvas: an input port the layers and handles it feeds,
 * an output port the layer and handle feeding it. Kept through renames, so a port whose edges were all deleted while
 * expanded is still known at Collapse. */
export type PortEnds = { inputs: Record<string, PortEnd[]>; outputs: Record<string, PortEnd> };

/** The port of the block each edge across an expanded block's border was made for (edge id -> port name), the
 * block's name of each layer renamed on the canvas because its name was taken (canvas id -> id in the block), and
 * where each port meets the layers. */
export type ExpandedPorts = { inputs: Record<string, string>; outputs: Record<string, string>; names: Record<string, string>; ends: PortEnds };

/** Collapse back into an existing block: its name (its definition is replaced), the node's id and params, and the
 * ports the edges were made for when it was expanded (so that the ports keep their names). */
export type Into = { name: string; id: string; params: Record<string, unknown>; ports?: ExpandedPorts };

/**
 * The port names of a group's edges across its border (edge id -> port): an edge made for a port of the block being
 * collapsed keeps it, an edge from the same outside output (or inner output) joins that port; a port of `stay` left
 * without edges is taken back by the first other output whose edge reaches (`end`) a layer and handle the port
 * served; the rest get one port per distinct output, named `base` when it is the only port of its kind, else `base1`,
 * `base2`, ... The ports `stay` (port -> the ends it served) are kept even when no edge is left on them. Ports are
 * listed in the block's former order, new ones after.
 */
function nameBorderPorts(
  border: PortEdge[],
  key: (e: PortEdge) => string,
  end: (e: PortEdge) => PortEnd,
  base: string,
  known: Record<string, string>,
  former: string[],
  taken: Set<string>,
  stay: Record<string, PortEnd[]>,
): { byEdge: Map<string, string>; ports: string[] } {
  const byKey = new Map<string, string>();
  for (const e of border) if (known[e.id] && !byKey.has(key(e))) byKey.set(key(e), known[e.id]);
  const held = new Set(border.map((e) => known[e.id]).filter(Boolean));
  const free = new Set(Object.keys(stay).filter((port) => !held.has(port)));
  for (const e of border) {
    if (known[e.id] || byKey.has(key(e))) continue;
    const at = end(e);
    const port = [...free].find((p) => stay[p].some((s) => s.node === at.node && s.handle === at.handle));
    if (!port) continue;
    byKey.set(key(e), port);
    free.delete(port);
  }
  const byEdge = new Map<string, string>();
  const unnamed: string[] = [];
  for (const e of border) {
    const port = known[e.id] ?? byKey.get(key(e));
    if (port) byEdge.set(e.id, port);
    else if (!unnamed.includes(key(e))) unnamed.push(key(e));
  }
  const kept = new Set([...byEdge.values(), ...Object.keys(stay)]);
  const used = new Set([...taken, ...kept]);
  const single = kept.size === 0 && unnamed.length === 1;
  const fresh_ = new Map<string, string>();
  unnamed.forEach((k, i) => {
    const port = fresh(single ? base : `${base}${i + 1}`, used);
    used.add(port);
    fresh_.set(k, port);
  });
  for (const e of border) if (!byEdge.has(e.id)) byEdge.set(e.id, fresh_.get(key(e))!);
  const rank = (p: string) => (former.includes(p) ? former.indexOf(p) : former.length);
  const ports = [...kept].sort((a, b) => rank(a) - rank(b)).concat([...fresh_.values()]);
  return { byEdge, ports };
}

/**
 * Group the nodes `ids` into a new block and replace them by one `Block` node using it. Each distinct outside output
 * that feeds the selection becomes an input port (an Input node inside), each inner output that feeds the outside an
 * output port; one port of a kind is named `in` / `out`, several `in1`, `in2`, ... Collapsing an expanded block
 * (`into`) keeps its ports' names and order and the layers' names in it. Returns the new graph, or why not.
 */
export function groupSelection(
  graph: { nodes: LayerNode[]; edges: PortEdge[] },
  blocks: Blocks,
  ids: Iterable<string>,
  into?: Into,
): Grouped | { error: string } {
  const picked = new Set(ids);
  const inside = graph.nodes.filter((n) => picked.has(n.id));
  if (inside.length === 0) return { error: "select the nodes to group first" };
  const io = inside.find((n) => n.data.type === "Input" || n.data.type === "Output");
  if (io) return { error: `'${io.id}' is an ${io.data.type}: a block's ports come from its connections, leave Input and Output nodes out of the group` };
  const incoming = graph.edges.filter((e) => picked.has(e.target) && !picked.has(e.source));
  const outgoing = graph.edges.filter((e) => picked.has(e.source) && !picked.has(e.target));
  // Collapsing: a port whose edges were all deleted while expanded stays a port of the block as long as a layer at its
  // end is still there (left unconnected on this node; the block's other nodes keep their edges to it). Only deleting
  // its layers takes the port away.
  const ends = into?.ports?.ends ?? { inputs: {}, outputs: {} };
  const inEnds = (port: string) => (ends.inputs[port] ?? []).filter((end) => picked.has(end.node));
  const outEnd = (port: string): PortEnd | undefined => {
    const end = ends.outputs[port];
    return end && picked.has(end.node) ? end : undefined;
  };
  // The ports kept, and the layers and handles each served (a new edge on one of them takes its port back).
  const stayIn: Record<string, PortEnd[]> = {};
  for (const port of Object.keys(ends.inputs)) if (inEnds(port).length) stayIn[port] = inEnds(port);
  const stayOut: Record<string, PortEnd[]> = {};
  for (const port of Object.keys(ends.outputs)) {
    const at = outEnd(port);
    if (at) stayOut[port] = [at];
  }
  if (!incoming.length && !Object.keys(stayIn).length) return { error: "nothing outside feeds the selected nodes: a block needs an input connection" };
  if (!outgoing.length && !Object.keys(stayOut).length) return { error: "the selected nodes feed nothing outside: a block needs an output connection" };

  // The layers' ids in the block: as on the canvas, or (collapsing) as they were in the block, where still unique.
  const wanted = inside.map((n) => into?.ports?.names[n.id] ?? n.id);
  const unique = new Set(wanted).size === wanted.length;
  const innerId = new Map(inside.map((n, i) => [n.id, unique ? wanted[i] : n.id]));
  const innerIds = new Set(innerId.values());
  const sourceKey = (e: PortEdge) => `${e.source}\u0000${e.sourceHandle ?? "out"}`;
  const former = blockPorts(into ? blocks[into.name] : undefined);
  const targetEnd = (e: PortEdge): PortEnd => ({ node: e.target, handle: e.targetHandle ?? "in" });
  const sourceEnd = (e: PortEdge): PortEnd => ({ node: e.source, handle: e.sourceHandle ?? "out" });
  const ins = nameBorderPorts(incoming, sourceKey, targetEnd, "in", into?.ports?.inputs ?? {}, former.inputs, innerIds, stayIn);
  const outs = nameBorderPorts(outgoing, sourceKey, sourceEnd, "out", into?.ports?.outputs ?? {}, former.outputs, new Set([...innerIds, ...ins.ports]), stayOut);
  // The Block node's handles: one port of a kind answers to `in` / `out` (what BlockNode draws), several by name.
  const inHandle = (port: string) => (ins.ports.length === 1 ? "in" : port);
  const outHandle = (port: string) => (outs.ports.length === 1 ? "out" : port);

  const takenNames = new Set([...Object.keys(blocks), ...graph.nodes.map((n) => n.id)]);
  let k = 1;
  while (!into && takenNames.has(`block${k}`)) k++;
  const name = into?.name ?? `block${k}`;
  const instanceId = into?.id ?? name;
  if (into && graph.nodes.some((n) => n.id === instanceId && !picked.has(n.id))) return { error: `'${instanceId}' is already used by another node` };

  const left = Math.min(...inside.map((n) => n.position.x));
  const top = Math.min(...inside.map((n) => n.position.y));
  const right = Math.max(...inside.map((n) => n.position.x));
  const at = (n: LayerNode) => ({ x: Math.round(n.position.x - left + 240), y: Math.round(n.position.y - top) });
  const blockNodes: BlockNodeJSON[] = [
    ...ins.ports.map((id, i) => ({ id, type: "Input", position: { x: 0, y: i * 120 } })),
    ...inside.map((n) => ({ id: innerId.get(n.id)!, type: n.data.type, params: { ...n.data.params }, position: at(n) })),
    ...outs.ports.map((id, i) => ({ id, type: "Output", position: { x: Math.round(right - left + 480), y: i * 120 } })),
  ];
  const blockEdges: BlockEdgeJSON[] = [];
  for (const e of graph.edges) {
    const sourcePort = e.sourceHandle ?? "out";
    const targetPort = e.targetHandle ?? "in";
    const target = innerId.get(e.target);
    if (picked.has(e.source) && target) blockEdges.push({ source: innerId.get(e.source)!, target, source_port: sourcePort, target_port: targetPort });
    else if (target) blockEdges.push({ source: ins.byEdge.get(e.id)!, target, source_port: "out", target_port: targetPort });
  }
  // A port without edges on this node feeds, and is fed by, the layers at its ends, as before the edit.
  const connected = new Set(ins.byEdge.values());
  for (const port of ins.ports.filter((p) => !connected.has(p))) {
    for (const end of inEnds(port)) blockEdges.push({ source: port, target: innerId.get(end.node)!, source_port: "out", target_port: end.handle });
  }
  const fedBy = new Map<string, PortEnd>();
  for (const e of outgoing) if (!fedBy.has(outs.byEdge.get(e.id)!)) fedBy.set(outs.byEdge.get(e.id)!, { node: e.source, handle: e.sourceHandle ?? "out" });
  for (const port of outs.ports) {
    const end = fedBy.get(port) ?? outEnd(port)!;
    blockEdges.push({ source: innerId.get(end.node)!, target: port, source_port: end.handle, target_port: "in" });
  }

  const instance: LayerNode = {
    id: instanceId,
    type: "block",
    position: { x: left, y: top },
    data: { type: BLOCK, params: into ? { ...into.params, block: name } : { block: name, repeat: 1, shared: false } },
    selected: true,
  };
  // The block's other nodes keep their edges on the ports it still has, on the handles its new port count draws. An
  // edge on a port that went away (its layers were deleted) is removed rather than refusing Collapse: the user deleted
  // those layers on purpose, chasing the block's other nodes first would be a chore, and the store reports the
  // removed edges and undoes them with the collapse in one step.
  const others = new Set(
    into ? graph.nodes.filter((n) => !picked.has(n.id) && n.data.type === BLOCK && blockParams(n.data.params).block === name).map((n) => n.id) : [],
  );
  const dropped: PortEdge[] = [];
  const rehandle = (e: PortEdge): PortEdge | null => {
    let targetHandle = e.targetHandle ?? "in";
    let sourceHandle = e.sourceHandle ?? "out";
    if (others.has(e.target)) {
      const port = portOf(targetHandle, former.inputs, "in");
      if (ins.ports.includes(port)) targetHandle = inHandle(port);
      else if (former.inputs.includes(port)) return null;
    }
    if (others.has(e.source)) {
      const port = portOf(sourceHandle, former.outputs, "out");
      if (outs.ports.includes(port)) sourceHandle = outHandle(port);
      else if (former.outputs.includes(port)) return null;
    }
    if (targetHandle === (e.targetHandle ?? "in") && sourceHandle === (e.sourceHandle ?? "out")) return e;
    return { ...e, sourceHandle, targetHandle, id: edgeId(e.source, sourceHandle, e.target, targetHandle) };
  };
  const edges: PortEdge[] = [];
  const seen = new Set<string>();
  const push = (e: PortEdge) => {
    if (seen.has(e.id)) return;
    seen.add(e.id);
    edges.push(e);
  };
  for (const e of graph.edges) {
    if (picked.has(e.source) && picked.has(e.target)) continue;
    const kept = rehandle(e);
    if (!kept) dropped.push(e);
    else if (picked.has(e.target)) {
      const handle = inHandle(ins.byEdge.get(e.id)!);
      push({ ...kept, selected: false, target: instanceId, targetHandle: handle, id: edgeId(kept.source, kept.sourceHandle ?? "out", instanceId, handle) });
    } else if (picked.has(e.source)) {
      const handle = outHandle(outs.byEdge.get(e.id)!);
      push({ ...kept, selected: false, source: instanceId, sourceHandle: handle, id: edgeId(instanceId, handle, kept.target, kept.targetHandle ?? "in") });
    } else push(kept);
  }
  const nodes = [...graph.nodes.filter((n) => !picked.has(n.id)).map((n) => (n.selected ? { ...n, selected: false } : n)), instance];
  if (hasCycle(nodes.map((n) => n.id), edges)) {
    return { error: "grouping these nodes would make a cycle: a path leaves the selection and comes back into it; add the nodes on that path" };
  }
  return { name, block: { nodes: blockNodes, edges: blockEdges }, instance, nodes, edges, dropped };
}

/**
 * Put a block's inner nodes back on the canvas in place of a `Block` node used once (repeat 1): the inverse of
 * grouping. Inner ids are kept where free (else `conv1_2`); the definition stays for other uses and the palette.
 */
export function ungroup(
  graph: { nodes: LayerNode[]; edges: PortEdge[] },
  blocks: Blocks,
  id: string,
  /** Expand for editing: one copy's layers whatever the repeat (collapsing puts the repeat back). */
  anyRepeat = false,
): { nodes: LayerNode[]; edges: PortEdge[]; added: string[]; ports: ExpandedPorts } | { error: string } {
  const node = graph.nodes.find((n) => n.id === id);
  if (!node || node.data.type !== BLOCK) return { error: `'${id}' is not a Block node` };
  const { block, repeat } = blockParams(node.data.params);
  const def = blocks[block];
  if (!def) return { error: `Block '${id}': unknown block '${block}'` };
  if (repeat !== 1 && !anyRepeat) return { error: `Block '${id}' repeats ×${repeat}: set repeat to 1 to ungroup it` };
  const ports = blockPorts(def);
  const isPort = new Set([...ports.inputs, ...ports.outputs]);
  const taken = new Set(graph.nodes.filter((n) => n.id !== id).map((n) => n.id));
  const rename = new Map<string, string>();
  for (const n of def.nodes) {
    if (isPort.has(n.id)) continue;
    const to = fresh(n.id, taken);
    taken.add(to);
    rename.set(n.id, to);
  }
  const innerLeft = Math.min(...def.nodes.filter((n) => !isPort.has(n.id)).map((n) => n.position?.x ?? 0));
  const innerTop = Math.min(...def.nodes.filter((n) => !isPort.has(n.id)).map((n) => n.position?.y ?? 0));
  const added: LayerNode[] = def.nodes
    .filter((n) => !isPort.has(n.id))
    .map((n) => ({
      id: rename.get(n.id)!,
      type: n.type === BLOCK ? "block" : "layer",
      position: { x: node.position.x + (n.position?.x ?? 0) - innerLeft, y: node.position.y + (n.position?.y ?? 0) - innerTop },
      data: { type: n.type, params: { ...n.params } },
      selected: true,
    }));
  const edge = (source: string, sourcePort: string, target: string, targetPort: string): PortEdge => ({
    id: edgeId(source, sourcePort, target, targetPort),
    type: "shape",
    source,
    target,
    sourceHandle: sourcePort,
    targetHandle: targetPort,
  });
  const edges: PortEdge[] = [];
  const border: ExpandedPorts = { inputs: {}, outputs: {}, names: {}, ends: { inputs: {}, outputs: {} } };
  for (const [from, to] of rename) if (from !== to) border.names[to] = from;
  const fedBy = new Map<string, BlockEdgeJSON>();
  for (const e of def.edges) if (ports.outputs.includes(e.target)) fedBy.set(e.target, e);
  for (const port of ports.inputs) {
    const fed = def.edges.filter((d) => d.source === port && rename.has(d.target));
    border.ends.inputs[port] = fed.map((d) => ({ node: rename.get(d.target)!, handle: d.target_port ?? "in" }));
  }
  for (const [port, e] of fedBy) if (rename.has(e.source)) border.ends.outputs[port] = { node: rename.get(e.source)!, handle: e.source_port ?? "out" };
  for (const e of graph.edges) {
    if (e.target === id) {
      // An edge into an input port: to every inner node that port feeds.
      for (const inner of def.edges.filter((d) => d.source === e.targetHandle || (ports.inputs.length === 1 && d.source === ports.inputs[0] && e.targetHandle === "in"))) {
        if (isPort.has(inner.target)) continue;
        const made = edge(e.source, e.sourceHandle ?? "out", rename.get(inner.target)!, inner.target_port ?? "in");
        border.inputs[made.id] = inner.source;
        edges.push(made);
      }
    } else if (e.source === id) {
      const port = e.sourceHandle === "out" && ports.outputs.length === 1 ? ports.outputs[0] : (e.sourceHandle ?? "out");
      const from = fedBy.get(port);
      if (from && rename.has(from.source)) {
        const made = edge(rename.get(from.source)!, from.source_port ?? "out", e.target, e.targetHandle ?? "in");
        border.outputs[made.id] = port;
        edges.push(made);
      }
    } else edges.push(e);
  }
  for (const e of def.edges) {
    if (rename.has(e.source) && rename.has(e.target)) {
      edges.push(edge(rename.get(e.source)!, e.source_port ?? "out", rename.get(e.target)!, e.target_port ?? "in"));
    }
  }
  const nodes = [...graph.nodes.filter((n) => n.id !== id).map((n) => (n.selected ? { ...n, selected: false } : n)), ...added];
  return { nodes, edges, added: added.map((n) => n.id), ports: border };
}

type NodeInfo = ValidationReport["nodes"][string];

function outputOf(info: NodeInfo | undefined, port: string): Shape | undefined {
  if (!info) return undefined;
  const shapes = info.output_shapes as Record<string, Shape> | undefined | null;
  return shapes && port in shapes ? shapes[port] : (info.output_shape as Shape | undefined);
}

/**
 * The shape leaving output `port` of the block instance whose expanded ids start with `prefix` (`block1`, or
 * `stage1.1.unit` for a block inside a block): that of the node feeding the block's Output, in the last copy.
 */
export function portShape(
  report: ValidationReport | null,
  blocks: Blocks,
  prefix: string,
  params: Record<string, unknown>,
  port: string,
  depth = 0,
): Shape | undefined {
  const { block, repeat } = blockParams(params);
  const def = blocks[block];
  if (!report || !def || depth > 32) return undefined;
  const outputs = blockPorts(def).outputs;
  const name = port === "out" && outputs.length === 1 ? outputs[0] : port;
  const feed = def.edges.find((e) => e.target === name);
  if (!feed) return undefined;
  const inner = `${prefix}.${Math.max(0, repeat - 1)}.${feed.source}`;
  const feeder = def.nodes.find((n) => n.id === feed.source);
  if (feeder?.type === BLOCK) return portShape(report, blocks, inner, feeder.params ?? {}, feed.source_port ?? "out", depth + 1);
  return outputOf(report.nodes[inner], feed.source_port ?? "out");
}

export type BlockSummary = {
  /** Output port -> the shape it carries. */
  shapes: Record<string, Shape | undefined>;
  params: number;
  /** The errors about the instance itself and about every node inside it (expanded ids). */
  errors: Problem[];
  /** Expanded id -> its info, the inner nodes of every copy. */
  inner: [string, NodeInfo][];
};

/** What the latest validation says about a `Block` node and everything inside it. */
export function summarize(report: ValidationReport | null, blocks: Blocks, node: Pick<LayerNode, "id" | "data">): BlockSummary {
  const prefix = `${node.id}.`;
  const def = blocks[blockParams(node.data.params).block];
  const shapes: Record<string, Shape | undefined> = {};
  for (const port of blockPorts(def).outputs) shapes[port] = portShape(report, blocks, node.id, node.data.params, port);
  const inner = Object.entries(report?.nodes ?? {}).filter(([id]) => id.startsWith(prefix));
  const errors = (report?.errors ?? []).filter(
    (p) => p.node === node.id || p.node?.startsWith(prefix) || p.nodes?.some((n) => n === node.id || n.startsWith(prefix)),
  );
  // Shared copies all run the first copy's layers: its weights are counted once (the validation lists them per copy).
  const counted = blockParams(node.data.params).shared ? inner.filter(([id]) => id.startsWith(`${prefix}0.`)) : inner;
  const params = counted.reduce((sum, [, info]) => sum + (info.params ?? 0), 0);
  return { shapes, params, errors, inner };
}

/**
 * Shapes for the canvas edges that touch a `Block` node (the validation names the expanded nodes instead), keyed by
 * edge id. Empty, at no cost, when the graph has no Block node.
 */
export function blockEdgeShapes(report: ValidationReport | null, blocks: Blocks, nodes: LayerNode[], edges: PortEdge[]): Record<string, Shape> {
  const out: Record<string, Shape> = {};
  if (!report) return out;
  const instances = new Map(nodes.filter((n) => n.data.type === BLOCK).map((n) => [n.id, n]));
  if (!instances.size) return out;
  for (const e of edges) {
    if (!instances.has(e.source) && !instances.has(e.target)) continue;
    const from = instances.get(e.source);
    const shape = from
      ? portShape(report, blocks, from.id, from.data.params, e.sourceHandle ?? "out")
      : outputOf(report.nodes[e.source], e.sourceHandle ?? "out");
    if (shape !== undefined) out[e.id] = shape;
  }
  return out;
}

/** The `Block` node on the canvas that an expanded id (`block1.0.conv1`) lies inside, or null. */
export function blockOwner(expanded: string, nodes: Pick<LayerNode, "id" | "data">[]): string | null {
  for (let i = expanded.indexOf("."); i > 0; i = expanded.indexOf(".", i + 1)) {
    const prefix = expanded.slice(0, i);
    if (nodes.some((n) => n.id === prefix && n.data.type === BLOCK)) return prefix;
  }
  return null;
}
