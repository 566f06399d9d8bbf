// Automatic left-to-right layout with dagre.
import dagre from "@dagrejs/dagre";
import type { XYPosition } from "@xyflow/react";
import type { LayerNode, PortEdge } from "./graph";

export function autoLayout(nodes: LayerNode[], edges: PortEdge[]): Record<string, XYPosition> {
  const g = new dagre.graphlib.Graph();
  // Long chains read better top to bottom (the canvas is wider than tall only up to a point).
  const depth = longestPath(nodes, edges);
  g.setGraph(depth > 7 ? { rankdir: "TB", nodesep: 50, ranksep: 45 } : { rankdir: "LR", nodesep: 40, ranksep: 90 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: n.measured?.width ?? 180, height: n.measured?.height ?? 80 });
  for (const e of edges) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const out: Record<string, XYPosition> = {};
  for (const n of nodes) {
    const p = g.node(n.id);
    if (p) out[n.id] = { x: p.x - p.width / 2, y: p.y - p.height / 2 };
  }
  return out;
}

function longestPath(nodes: LayerNode[], edges: PortEdge[]): number {
  const incoming = new Map<string, string[]>();
  for (const e of edges) incoming.set(e.target, [...(incoming.get(e.target) ?? []), e.source]);
  const memo = new Map<string, number>();
  const visit = (id: string, seen: Set<string>): number => {
    if (memo.has(id)) return memo.get(id)!;
    if (seen.has(id)) return 0;
    seen.add(id);
    const d = 1 + Math.max(0, ...(incoming.get(id) ?? []).map((s) => visit(s, seen)));
    memo.set(id, d);
    return d;
  };
  return Math.max(0, ...nodes.map((n) => visit(n.id, new Set())));
}
