// Where a node's handles will be before React Flow has measured it. React Flow draws every node it has not
// measured, to find its handles: for a 5,000-node graph that is 5,000 nodes mounted at once, though all but the
// few in view are then dropped. Nodes given these estimates (from the catalog's ports and the node's CSS box) are
// drawn only when in view; once drawn and measured, the measured handles replace the estimates.
import { type NodeHandle, Position } from "@xyflow/react";
import type { Direction, LayerNode } from "../lib/graph";
import { NODE_SIZE } from "../lib/layout";
import { useCatalog } from "../stores/catalog";

/** .react-flow__handle's size, and .layer-node's borders (the stripe on the left), in px: see styles.css. */
const HANDLE = 10;
const BORDER = { left: 4, other: 1 };

function spread(i: number, n: number, length: number): number {
  return ((i + 1) / (n + 1)) * length;
}

export function estimatedHandles(type: string, direction: Direction): NodeHandle[] | undefined {
  const spec = useCatalog.getState().layers[type];
  if (!spec) return undefined;
  const { width, height } = NODE_SIZE;
  const inner = { width: width - BORDER.left - BORDER.other, height: height - 2 * BORDER.other };
  const half = HANDLE / 2;
  const place = (ports: { name: string }[], kind: "source" | "target"): NodeHandle[] =>
    ports.map((p, i) => {
      const across = direction === "TB" ? BORDER.left + spread(i, ports.length, inner.width) : BORDER.other + spread(i, ports.length, inner.height);
      const edge = kind === "target" ? (direction === "TB" ? BORDER.other : BORDER.left) : direction === "TB" ? height - BORDER.other : width - BORDER.other;
      const x = direction === "TB" ? across - half : edge - half;
      const y = direction === "TB" ? edge - half : across - half;
      const position = direction === "TB" ? (kind === "target" ? Position.Top : Position.Bottom) : kind === "target" ? Position.Left : Position.Right;
      return { id: p.name, type: kind, position, x, y, width: HANDLE, height: HANDLE };
    });
  return [...place(spec.inputs, "target"), ...place(spec.outputs, "source")];
}

/** The nodes with estimated handles and size and without measurements: React Flow draws those in view only. */
export function withEstimates(nodes: LayerNode[], direction: Direction): LayerNode[] {
  return nodes.map((n) => {
    const handles = estimatedHandles(n.data.type, direction);
    return handles ? { ...n, handles, measured: undefined, initialWidth: NODE_SIZE.width, initialHeight: NODE_SIZE.height } : n;
  });
}
