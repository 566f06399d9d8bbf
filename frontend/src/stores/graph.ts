// The graph being edited: nodes, edges, undo/redo history and the latest validation.
import {
  type Connection,
  type EdgeChange,
  type NodeChange,
  type XYPosition,
  applyEdgeChanges,
  applyNodeChanges,
} from "@xyflow/react";
import { create } from "zustand";
import type { GraphJSON, ValidationReport } from "../api/client";
import {
  type Direction,
  type FlowGraph,
  type LayerNode,
  type PortEdge,
  createsCycle,
  edgeId,
  freshId,
  fromGraphJSON,
  renameNode,
  toGraphJSON,
} from "../lib/graph";
import { NODE_SIZE, boundsOf, freeSpot } from "../lib/layout";
import type { SearchDimension } from "../lib/search";
import { withEstimates } from "../canvas/handles";
import { blockEdgeShapes, readBlocks } from "../lib/blocks";

// `extra` is optional for snapshots made elsewhere (restore keeps the current one); undo and redo record it, since it
// holds what the nodes depend on (block definitions, blocks expanded for editing).
type Snapshot = Pick<FlowGraph, "nodes" | "edges" | "name" | "direction" | "search"> & Partial<Pick<FlowGraph, "extra">>;
const HISTORY = 100;
/** Edits of the same field in quick succession (typing 1, 12, 128) are one undo step. */
const COALESCE_MS = 1500;
let lastCheckpoint: { key: string; at: number } | null = null;

export type { Snapshot };

/** The gap left between a node and one added after it. */
const GAP = { LR: 64, TB: 44 };

export type GraphState = FlowGraph & {
  past: Snapshot[];
  future: Snapshot[];
  clipboard: { nodes: LayerNode[]; edges: PortEdge[] } | null;
  validation: ValidationReport | null;
  /** Edge id -> the shape it carries (from the latest validation), for O(1) lookups while drawing. */
  edgeShapes: Record<string, (number | null)[] | null>;
  /** Edge id -> the first error the latest validation names it in (the edge is drawn red). */
  edgeErrors: Record<string, string>;
  /** Node id -> how many errors of the latest validation name it (a node shows the first). */
  nodeErrorCounts: Record<string, number>;
  /** Node id -> the first warning (amber) and the first hint of the latest validation that name it. */
  nodeWarnings: Record<string, string>;
  nodeHints: Record<string, string>;
  /** Record the current state as one undo step, before a user action changes it. Repeated calls with the
   * same key within a short time (keystrokes in one field) are a single step. */
  checkpoint: (key?: string) => void;
  /** Replace the graph (one undo step), optionally with computed positions. */
  load: (graph: GraphJSON, layout?: { direction: Direction; positions: Record<string, XYPosition> }) => void;
  reset: () => void;
  /** Put back a graph replaced by New, Templates or Open (one undo step, so Ctrl+Z returns to the replacement). */
  restore: (snapshot: Snapshot) => void;
  setName: (name: string) => void;
  addNode: (type: string, params: Record<string, unknown>, position: XYPosition) => string;
  /** Add a layer after `anchor` (beside it in the graph's direction) and connect the anchor's first output to the
   * layer's first input, as Sony's Neural Network Console does on a double-click in its palette. */
  addAfter: (anchor: string, type: string, params: Record<string, unknown>, connectTo: { output?: string; input?: string }) => string;
  /** Set a node's params; `field` names the edited one so that keystrokes in it coalesce into one undo step. */
  setParams: (id: string, params: Record<string, unknown>, field?: string) => void;
  /** Mark what a study varies (`nodes.<id>.<param>` or `config.<path>`), or unmark it with null; edits of one key in
   * quick succession are one undo step. */
  setMark: (key: string, dimension: SearchDimension | null) => void;
  rename: (from: string, to: string) => string | null;
  onNodesChange: (changes: NodeChange<LayerNode>[]) => void;
  onEdgesChange: (changes: EdgeChange<PortEdge>[]) => void;
  connect: (c: Connection) => void;
  canConnect: (c: Connection | PortEdge, variadic: boolean) => string | null;
  deleteSelected: () => void;
  copy: () => void;
  /** Paste the clipboard with its top-left corner at `at` (the pointer), or beside the copied nodes. */
  paste: (at?: XYPosition) => void;
  undo: () => void;
  redo: () => void;
  setLayout: (direction: Direction, positions: Record<string, XYPosition>) => void;
  setValidation: (report: ValidationReport | null) => void;
  toJSON: () => GraphJSON;
};

/** Told when a node id changes (the training config names Outputs by id). */
export const renameListeners = new Set<(from: string, to: string) => void>();

const empty: FlowGraph = { name: "untitled", nodes: [], edges: [], direction: "LR", search: {}, extra: {} };

export const useGraph = create<GraphState>((set, get) => ({
  ...empty,
  past: [],
  future: [],
  clipboard: null,
  validation: null,
  edgeShapes: {},
  edgeErrors: {},
  nodeErrorCounts: {},
  nodeWarnings: {},
  nodeHints: {},

  checkpoint: (key) => {
    const now = Date.now();
    const same = key !== undefined && lastCheckpoint?.key === key && now - lastCheckpoint.at < COALESCE_MS;
    lastCheckpoint = key === undefined ? null : { key, at: now };
    if (same) return;
    const { nodes, edges, name, direction, search, extra, past } = get();
    set({ past: [...past.slice(-HISTORY + 1), { nodes, edges, name, direction, search, extra }], future: [] });
  },
  load: (graph, layout) => {
    get().checkpoint();
    const flow = fromGraphJSON(graph);
    if (layout) {
      flow.direction = layout.direction;
      flow.nodes = flow.nodes.map((n) => (layout.positions[n.id] ? { ...n, position: layout.positions[n.id] } : n));
    }
    flow.nodes = withEstimates(flow.nodes, flow.direction);
    set({ ...flow, validation: null, edgeShapes: {}, edgeErrors: {} });
  },
  reset: () => {
    get().checkpoint();
    set({ ...empty, validation: null, edgeShapes: {}, edgeErrors: {} });
  },
  restore: (snapshot) => {
    get().checkpoint();
    set({ ...snapshot, validation: null, edgeShapes: {}, edgeErrors: {} });
  },
  setName: (name) => set({ name }),
  addNode: (type, params, position) => {
    get().checkpoint();
    const id = freshId(type, get().nodes.map((n) => n.id));
    const node: LayerNode = { id, type: "layer", position, data: { type, params }, selected: true };
    set({ nodes: [...get().nodes.map((n) => ({ ...n, selected: false })), node] });
    return id;
  },
  addAfter: (anchor, type, params, { output, input }) => {
    const { nodes, edges, direction } = get();
    const from = nodes.find((n) => n.id === anchor);
    if (!from) return get().addNode(type, params, { x: 0, y: 0 });
    const size = { width: from.measured?.width ?? NODE_SIZE.width, height: from.measured?.height ?? NODE_SIZE.height };
    const step = direction === "TB" ? { x: 0, y: size.height + GAP.TB } : { x: size.width + GAP.LR, y: 0 };
    // Beside the anchor; if that spot is taken (the anchor already feeds a node there), the next free one across.
    const across = direction === "TB" ? { x: size.width + GAP.LR / 2, y: 0 } : { x: 0, y: size.height + GAP.TB / 2 };
    const position = freeSpot(nodes, { x: from.position.x + step.x, y: from.position.y + step.y }, across, size);
    get().checkpoint();
    const id = freshId(type, nodes.map((n) => n.id));
    const node: LayerNode = { id, type: "layer", position, data: { type, params }, selected: true };
    const added: PortEdge[] =
      output && input
        ? [{ id: edgeId(anchor, output, id, input), type: "shape", source: anchor, target: id, sourceHandle: output, targetHandle: input }]
        : [];
    set({ nodes: [...nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node], edges: [...edges, ...added] });
    return id;
  },
  setParams: (id, params, field) => {
    get().checkpoint(field === undefined ? undefined : `params:${id}:${field}`);
    set({ nodes: get().nodes.map((n) => (n.id === id ? { ...n, data: { ...n.data, params } } : n)) });
  },
  setMark: (key, dimension) => {
    get().checkpoint(`search:${key}`);
    const search = { ...get().search };
    if (dimension) search[key] = dimension;
    else delete search[key];
    set({ search });
  },
  rename: (from, to) => {
    const name = to.trim();
    if (!name) return "the id cannot be empty";
    if (name === from) return null;
    if (get().nodes.some((n) => n.id === name)) return `'${name}' is already used by another node`;
    get().checkpoint();
    set(renameNode(get(), from, name));
    for (const listener of renameListeners) listener(from, name);
    return null;
  },
  onNodesChange: (changes) => {
    if (changes.some((c) => c.type === "remove")) get().checkpoint();
    const removed = new Set(changes.filter((c) => c.type === "remove").map((c) => (c as { id: string }).id));
    let nodes = applyNodeChanges(changes, get().nodes);
    // A node drawn and measured: its measured handles replace the estimated ones (see canvas/handles.ts).
    const measured = new Set(changes.filter((c) => c.type === "dimensions").map((c) => c.id));
    if (measured.size) nodes = nodes.map((n) => (n.handles && measured.has(n.id) ? { ...n, handles: undefined } : n));
    set({
      nodes,
      edges: removed.size ? get().edges.filter((e) => !removed.has(e.source) && !removed.has(e.target)) : get().edges,
    });
  },
  onEdgesChange: (changes) => {
    if (changes.some((c) => c.type === "remove")) get().checkpoint();
    set({ edges: applyEdgeChanges(changes, get().edges) });
  },
  canConnect: (c, variadic) => {
    if (!c.source || !c.target) return "incomplete connection";
    if (createsCycle(get().edges, c.source, c.target)) return "this connection would create a cycle";
    const port = c.targetHandle ?? "in";
    const taken = get().edges.some((e) => e.target === c.target && (e.targetHandle ?? "in") === port);
    if (taken && !variadic) return `port '${port}' of '${c.target}' is already connected`;
    return null;
  },
  connect: (c) => {
    if (!c.source || !c.target) return;
    const sourcePort = c.sourceHandle ?? "out";
    const targetPort = c.targetHandle ?? "in";
    const id = edgeId(c.source, sourcePort, c.target, targetPort);
    if (get().edges.some((e) => e.id === id)) return;
    get().checkpoint();
    const edge: PortEdge = {
      id,
      type: "shape",
      source: c.source,
      target: c.target,
      sourceHandle: sourcePort,
      targetHandle: targetPort,
    };
    set({ edges: [...get().edges, edge] });
  },
  deleteSelected: () => {
    const { nodes, edges } = get();
    const gone = new Set(nodes.filter((n) => n.selected).map((n) => n.id));
    if (!gone.size && !edges.some((e) => e.selected)) return;
    get().checkpoint();
    set({
      nodes: nodes.filter((n) => !gone.has(n.id)),
      edges: edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target)),
    });
  },
  copy: () => {
    const { nodes, edges } = get();
    const picked = nodes.filter((n) => n.selected);
    const ids = new Set(picked.map((n) => n.id));
    set({ clipboard: { nodes: picked, edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)) } });
  },
  paste: (at) => {
    const clip = get().clipboard;
    if (!clip || !clip.nodes.length) return;
    get().checkpoint();
    // At the pointer, or below and to the right of the copied nodes, clear of them (not stacked on top).
    const box = boundsOf(clip.nodes);
    const shift = at ? { x: at.x - box.x, y: at.y - box.y } : { x: 48, y: box.height + GAP.TB };
    const taken = get().nodes.map((n) => n.id);
    const mapping = new Map<string, string>();
    const added: LayerNode[] = clip.nodes.map((n) => {
      const id = freshId(n.data.type, [...taken, ...mapping.values()]);
      mapping.set(n.id, id);
      return {
        ...n,
        id,
        selected: true,
        position: { x: n.position.x + shift.x, y: n.position.y + shift.y },
        data: { ...n.data, params: { ...n.data.params } },
      };
    });
    const addedEdges: PortEdge[] = clip.edges.map((e) => {
      const source = mapping.get(e.source)!;
      const target = mapping.get(e.target)!;
      return { ...e, source, target, selected: false, id: edgeId(source, e.sourceHandle ?? "out", target, e.targetHandle ?? "in") };
    });
    set({
      nodes: [...get().nodes.map((n) => ({ ...n, selected: false })), ...added],
      edges: [...get().edges, ...addedEdges],
      clipboard: { nodes: added, edges: addedEdges },
    });
  },
  undo: () => {
    const { past, future, nodes, edges, name, direction, search, extra } = get();
    const previous = past[past.length - 1];
    if (!previous) return;
    lastCheckpoint = null;
    set({ ...previous, past: past.slice(0, -1), future: [{ nodes, edges, name, direction, search, extra }, ...future] });
  },
  redo: () => {
    const { past, future, nodes, edges, name, direction, search, extra } = get();
    const next = future[0];
    if (!next) return;
    lastCheckpoint = null;
    set({ ...next, past: [...past, { nodes, edges, name, direction, search, extra }], future: future.slice(1) });
  },
  setLayout: (direction, positions) => {
    get().checkpoint();
    set({ direction, nodes: get().nodes.map((n) => (positions[n.id] ? { ...n, position: positions[n.id] } : n)) });
  },
  setValidation: (report) => {
    // Keep the previous object for every node whose result did not change: its component does not re-render.
    const previous = get().validation?.nodes ?? {};
    let validation = report;
    if (report) {
      const nodes: ValidationReport["nodes"] = {};
      for (const [id, info] of Object.entries(report.nodes)) {
        const old = previous[id];
        nodes[id] = old && JSON.stringify(old) === JSON.stringify(info) ? old : info;
      }
      validation = { ...report, nodes };
    }
    const edgeShapes: Record<string, (number | null)[] | null> = {};
    for (const e of validation?.edges ?? []) edgeShapes[edgeId(e.source, e.source_port ?? "out", e.target, e.target_port ?? "in")] = e.shape ?? null;
    // Edges at a Block node: the validation names the expanded nodes instead (nothing to do without blocks).
    Object.assign(edgeShapes, blockEdgeShapes(validation, readBlocks(get().extra), get().nodes, get().edges));
    const edgeErrors: Record<string, string> = {};
    const nodeErrorCounts: Record<string, number> = {};
    for (const p of validation?.errors ?? []) {
      for (const node of new Set([...(p.node ? [p.node] : []), ...(p.nodes ?? [])])) nodeErrorCounts[node] = (nodeErrorCounts[node] ?? 0) + 1;
      if (!p.edge) continue;
      const id = edgeId(p.edge.source, p.edge.source_port ?? "out", p.edge.target, p.edge.target_port ?? "in");
      edgeErrors[id] ??= p.message;
    }
    const nodeWarnings: Record<string, string> = {};
    for (const p of validation?.warnings ?? []) if (p.node) nodeWarnings[p.node] ??= p.message;
    const nodeHints: Record<string, string> = {};
    for (const p of validation?.hints ?? []) if (p.node) nodeHints[p.node] ??= p.message;
    set({ validation, edgeShapes, edgeErrors, nodeErrorCounts, nodeWarnings, nodeHints });
  },
  toJSON: () => toGraphJSON(get()),
}));

const STORAGE_KEY = "netcanvas.graph";

/** Unsaved work survives a page reload: the graph is mirrored to localStorage. */
export function persistGraph(): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const save = () => {
    timer = null;
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(toGraphJSON(useGraph.getState())));
    } catch {
      /* storage full or disabled: nothing to do */
    }
  };
  // Debounced: dragging a node changes the store on every frame.
  const unsubscribe = useGraph.subscribe(() => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, 400);
  });
  window.addEventListener("beforeunload", save);
  return () => {
    unsubscribe();
    window.removeEventListener("beforeunload", save);
    if (timer) clearTimeout(timer);
  };
}

export function restoredGraph(): GraphJSON | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as GraphJSON) : null;
  } catch {
    return null;
  }
}
