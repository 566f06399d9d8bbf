// Automatic left-to-right layout with dagre.
import dagre from "@dagrejs/dagre";
import type { XYPosition } from "@xyflow/react";
import type { LayerNode, PortEdge } from "./graph";

export function autoLayout(nodes: LayerNode[], edges: PortEdge[]): Record<string, XYPosition> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 90 });
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
