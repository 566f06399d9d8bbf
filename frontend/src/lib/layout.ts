// Automatic layout with dagre, left to right or top to bottom: whichever reads best in the canvas.
import dagre from "@dagrejs/dagre";
import type { XYPosition } from "@xyflow/react";
import type { Direction, LayerNode, PortEdge } from "./graph";

export type Size = { width: number; height: number };
export type Rect = { x: number; y: number; width: number; height: number };

/** A node's size before React Flow has measured it (nodes are a fixed width; see .layer-node). */
export const NODE_SIZE: Size = { width: 188, height: 74 };
/** Below this zoom node text is too small to read: show part of the graph instead of all of it. */
export const READABLE_ZOOM = 0.8;

type Sized = Pick<LayerNode, "id" | "position" | "measured">;

function sizeOf(n: Sized): Size {
  return { width: n.measured?.width ?? NODE_SIZE.width, height: n.measured?.height ?? NODE_SIZE.height };
}

export function boundsOf(nodes: Sized[], positions?: Record<string, XYPosition>): Rect {
  if (!nodes.length) return { x: 0, y: 0, width: 0, height: 0 };
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const n of nodes) {
    const p = positions?.[n.id] ?? n.position;
    const s = sizeOf(n);
    x0 = Math.min(x0, p.x);
    y0 = Math.min(y0, p.y);
    x1 = Math.max(x1, p.x + s.width);
    y1 = Math.max(y1, p.y + s.height);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** The zoom at which a rectangle fills the viewport (with a margin). */
export function fitZoom(rect: Rect, viewport: Size, margin = 48): number {
  if (!rect.width || !rect.height) return 1;
  return Math.min((viewport.width - margin) / rect.width, (viewport.height - margin) / rect.height);
}

export function layoutFor(nodes: Sized[], edges: Pick<PortEdge, "source" | "target">[], direction: Direction): Record<string, XYPosition> {
  const g = new dagre.graphlib.Graph();
  g.setGraph(direction === "TB" ? { rankdir: "TB", nodesep: 36, ranksep: 42 } : { rankdir: "LR", nodesep: 28, ranksep: 72 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, sizeOf(n));
  for (const e of edges) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const out: Record<string, XYPosition> = {};
  for (const n of nodes) {
    const p = g.node(n.id);
    if (p) out[n.id] = { x: Math.round(p.x - p.width / 2), y: Math.round(p.y - p.height / 2) };
  }
  return out;
}

export type Layout = { direction: Direction; positions: Record<string, XYPosition>; zoom: number };

/** Lay the graph out both ways and keep the one that shows it largest in this viewport. */
export function bestLayout(nodes: Sized[], edges: Pick<PortEdge, "source" | "target">[], viewport: Size): Layout {
  const candidates = (["TB", "LR"] as Direction[]).map((direction) => {
    const positions = layoutFor(nodes, edges, direction);
    return { direction, positions, zoom: fitZoom(boundsOf(nodes, positions), viewport) };
  });
  return candidates[0].zoom >= candidates[1].zoom * 0.98 ? candidates[0] : candidates[1];
}

/** The first spot from `start`, moving by `step`, where a node would not cover most of another one. */
export function freeSpot(nodes: Sized[], start: XYPosition, step: XYPosition, size: Size = NODE_SIZE): XYPosition {
  const taken = (p: XYPosition) =>
    nodes.some((n) => Math.abs(n.position.x - p.x) < size.width * 0.8 && Math.abs(n.position.y - p.y) < size.height * 0.8);
  let at = start;
  for (let i = 0; i < 200 && taken(at); i++) at = { x: at.x + step.x, y: at.y + step.y };
  return at;
}
