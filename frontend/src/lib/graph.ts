// The one place that knows both React Flow's node shape and the graph JSON (docs/graph-format.md).
import type { Edge, Node } from "@xyflow/react";
import type { GraphJSON } from "../api/client";
import { type SearchSpace, pruneSpace, readSpace, renameInSpace } from "./search";
import { BLOCK, FORMAT_V2, hasBlocks } from "./blocks";

export const FORMAT = "netcanvas.graph/1";

export type LayerData = { type: string; params: Record<string, unknown> };
/** "block": a `Block` node (an instance of a repeat block, canvas/BlockNode.tsx); "layer": every other node. */
export type LayerNode = Node<LayerData, "layer" | "block">;
export type PortEdge = Edge<Record<string, never>, "shape">;

/** Keys of the graph JSON we own; everything else (e.g. "ui") is kept as it came. */
const OWN_KEYS = new Set(["format", "name", "nodes", "edges", "search"]);

/** Which way data flows on the canvas: inputs on the left (LR) or at the top (TB). A view setting, kept in "ui". */
export type Direction = "LR" | "TB";

export type FlowGraph = {
  name: string;
  nodes: LayerNode[];
  edges: PortEdge[];
  direction: Direction;
  /** Params and training settings a study varies (docs/search.md), saved as the graph's `search`. */
  search: SearchSpace;
  extra: Record<string, unknown>;
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The direction the positions already follow: do edges mostly run down or right? */
export function inferDirection(nodes: Pick<LayerNode, "id" | "position">[], edges: Pick<PortEdge, "source" | "target">[]): Direction {
  const at = new Map(nodes.map((n) => [n.id, n.position]));
  let dx = 0;
  let dy = 0;
  for (const e of edges) {
    const s = at.get(e.source);
    const t = at.get(e.target);
    if (!s || !t) continue;
    dx += Math.abs(t.x - s.x);
    dy += Math.abs(t.y - s.y);
  }
  return dy > dx ? "TB" : "LR";
}

/** An Output's name in losses, metrics, datasets, exports and predictions: its `name` param, else its id. */
export function outputName(node: Pick<LayerNode, "id" | "data">): string {
  const name = node.data.params.name;
  return typeof name === "string" && name ? name : node.id;
}

export function edgeId(source: string, sourcePort: string, target: string, targetPort: string): string {
  return `${source}:${sourcePort}->${target}:${targetPort}`;
}

export function fromGraphJSON(graph: GraphJSON): FlowGraph {
  const nodes: LayerNode[] = (graph.nodes ?? []).map((n, i) => ({
    id: n.id,
    type: n.type === BLOCK ? "block" : "layer",
    position: n.position ? { x: n.position.x ?? 0, y: n.position.y ?? 0 } : { x: 240 * i, y: 80 },
    data: { type: n.type, params: { ...n.params } },
  }));
  const edges: PortEdge[] = (graph.edges ?? []).map((e) => {
    const sourcePort = e.source_port ?? "out";
    const targetPort = e.target_port ?? "in";
    return {
      id: edgeId(e.source, sourcePort, e.target, targetPort),
      type: "shape",
      source: e.source,
      target: e.target,
      sourceHandle: sourcePort,
      targetHandle: targetPort,
    };
  });
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(graph)) if (!OWN_KEYS.has(k)) extra[k] = v;
  const saved = isObject(extra.ui) ? extra.ui.direction : undefined;
  const direction = saved === "LR" || saved === "TB" ? saved : inferDirection(nodes, edges);
  const search = readSpace((graph as { search?: unknown }).search);
  return { name: graph.name ?? "untitled", nodes, edges, direction, search, extra };
}

export function toGraphJSON(flow: FlowGraph): GraphJSON {
  const search = pruneSpace(flow.search, flow.nodes.map((n) => n.id));
  const ui = flow.extra.ui === undefined || isObject(flow.extra.ui) ? { ...(flow.extra.ui as object), direction: flow.direction } : flow.extra.ui;
  return {
    ...flow.extra,
    ui,
    // A graph with blocks is netcanvas.graph/2; one without stays /1, readable by older servers.
    format: hasBlocks(flow.extra, flow.nodes) ? FORMAT_V2 : FORMAT,
    name: flow.name,
    nodes: flow.nodes.map((n) => ({
      id: n.id,
      type: n.data.type,
      params: n.data.params,
      position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
    })),
    edges: flow.edges.map((e) => ({
      source: e.source,
      target: e.target,
      source_port: e.sourceHandle ?? "out",
      target_port: e.targetHandle ?? "in",
    })),
    ...(Object.keys(search).length ? { search } : {}),
  } as GraphJSON;
}

/** The graph JSON without positions: what validation depends on (moving a node needs no re-validation). */
export function structureKey(flow: Pick<FlowGraph, "nodes" | "edges">): string {
  return JSON.stringify([
    flow.nodes.map((n) => [n.id, n.data.type, n.data.params]),
    flow.edges.map((e) => [e.source, e.sourceHandle, e.target, e.targetHandle]),
  ]);
}

/** Would an edge source -> target close a cycle? (Is source reachable from target?) */
export function createsCycle(edges: Pick<PortEdge, "source" | "target">[], source: string, target: string): boolean {
  if (source === target) return true;
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.source, [...(next.get(e.source) ?? []), e.target]);
  const stack = [target];
  const seen = new Set<string>();
  while (stack.length) {
    const n = stack.pop()!;
    if (n === source) return true;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...(next.get(n) ?? []));
  }
  return false;
}

/** A fresh node id for a layer type: its name in lower case ("relu", "conv2d", "batchnorm2d"; never split inside
 * an acronym as "re_lu"), then "relu_2", "relu_3", ... */
export function freshId(type: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const base = type.toLowerCase();
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base}_${i}`)) return `${base}_${i}`;
}

/** Rename a node id everywhere (its edges follow). */
export function renameNode(flow: FlowGraph, from: string, to: string): FlowGraph {
  const swap = (id: string) => (id === from ? to : id);
  return {
    ...flow,
    search: renameInSpace(flow.search, from, to),
    nodes: flow.nodes.map((n) => (n.id === from ? { ...n, id: to } : n)),
    edges: flow.edges.map((e) => {
      const source = swap(e.source);
      const target = swap(e.target);
      return { ...e, source, target, id: edgeId(source, e.sourceHandle ?? "out", target, e.targetHandle ?? "in") };
    }),
  };
}

export function formatShape(shape: (number | null)[] | null | undefined): string {
  if (!shape) return "";
  if (shape.length === 0) return "scalar";
  return shape.map((s) => (s === null ? "?" : String(s))).join("×");
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toLocaleString("en-US");
}

const operandCache = new WeakMap<object, Map<string, number>>();

/**
 * For edges into a port that has several (a variadic Add, Concat, ...): their 1-based operand position, in edge
 * order. Computed once per edges array (a drag keeps the array), so every edge can ask cheaply.
 */
export function operandIndex(edges: PortEdge[]): Map<string, number> {
  let map = operandCache.get(edges);
  if (map) return map;
  const byPort = new Map<string, string[]>();
  for (const e of edges) {
    const key = `${e.target}\u0000${e.targetHandle ?? "in"}`;
    byPort.set(key, [...(byPort.get(key) ?? []), e.id]);
  }
  map = new Map();
  for (const ids of byPort.values()) if (ids.length > 1) ids.forEach((id, i) => map!.set(id, i + 1));
  operandCache.set(edges, map);
  return map;
}
