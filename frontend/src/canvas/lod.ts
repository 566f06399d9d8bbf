// The zoomed-out view of a big graph: nodes and edges as plain shapes on one <canvas> (LodLayer.tsx) instead of
// thousands of DOM nodes, each of which the browser would lay out, put in a layer and hit-test on every frame.
// What is drawn (plan) and where a point falls (nodeAt) are computed here, apart from the DOM, so they can be tested.
import type { XYPosition } from "@xyflow/react";
import type { Direction, LayerNode, PortEdge } from "../lib/graph";
import { NODE_SIZE } from "../lib/layout";

/** React Flow's viewport: screen = flow * zoom + (x, y). */
export type Viewport = { x: number; y: number; zoom: number };
export type Box = { x: number; y: number; width: number; height: number };
/** A cubic Bézier edge: from, the two control points, to. */
export type Curve = [number, number, number, number, number, number, number, number];
export type PortNames = { inputs: string[]; outputs: string[] };

/** What the scene needs to know about each node besides its place: its ports, colour and state. */
export type Scene = {
  nodes: readonly LayerNode[];
  edges: readonly PortEdge[];
  direction: Direction;
  portsOf: (node: LayerNode) => PortNames;
  colorOf: (node: LayerNode) => string;
  hasError: (id: string) => boolean;
  hasWarning: (id: string) => boolean;
  /** The watched run's health of a node: a strip under it, green or amber; null when the run reports none. */
  healthOf: (id: string) => "ok" | "flagged" | null;
  edgeErrors: Readonly<Record<string, string>>;
  /** Where edges' ends are looked up, when they may be nodes not drawn (the nodes still under a dragged one). */
  ends?: ReadonlyMap<string, LayerNode>;
};

/** The colours of styles.css (--lod-body, --lod-error-body, the edge stroke, --accent, --bad, --warn, --ok): the dark
 * theme's until themeColors() reads the theme shown. */
export const COLORS = {
  body: "#2e364a",
  errorBody: "#3a1f2a",
  edge: "#56607a",
  selected: "#6d8cff",
  bad: "#ef5a6f",
  warn: "#f5a524",
  ok: "#30c48d",
};

const COLOR_VARS: Record<keyof typeof COLORS, string> = {
  body: "--lod-body",
  errorBody: "--lod-error-body",
  edge: "--edge",
  selected: "--accent",
  bad: "--bad",
  warn: "--warn",
  ok: "--ok",
};

/** Sets COLORS to the theme's (a canvas is not restyled by CSS, so they are read before it is drawn). `read` gives a
 * CSS variable's value, or "" where there is none (then the colour stays). */
export function themeColors(read: (name: string) => string): void {
  for (const key of Object.keys(COLOR_VARS) as (keyof typeof COLORS)[]) {
    const value = read(COLOR_VARS[key]);
    if (value) COLORS[key] = value;
  }
}

/** Strokes and strips in screen pixels, whatever the zoom. */
const PX = { edge: 1, markedEdge: 2, outline: 2, stripe: 3, health: 3 };

export type Plan = {
  /** Stroke colour and width (flow units) -> the edges drawn with it, in drawing order. */
  edges: Map<string, { width: number; curves: Curve[] }>;
  /** Fill colour and its boxes, in drawing order: bodies, then the category stripes, then the health strips. */
  fills: [string, Box[]][];
  /** Outline colour -> boxes (selection, error, warning), drawn last. */
  outlines: Map<string, { width: number; boxes: Box[] }>;
};

export function nodeBox(node: LayerNode): Box {
  const width = node.measured?.width ?? node.width ?? NODE_SIZE.width;
  const height = node.measured?.height ?? node.height ?? NODE_SIZE.height;
  return { x: node.position.x, y: node.position.y, width, height };
}

export function toFlow(view: Viewport, screen: XYPosition): XYPosition {
  return { x: (screen.x - view.x) / view.zoom, y: (screen.y - view.y) / view.zoom };
}

/** The part of the flow in view of a canvas of this size. */
export function visibleArea(view: Viewport, width: number, height: number): Box {
  const { x, y } = toFlow(view, { x: 0, y: 0 });
  return { x, y, width: width / view.zoom, height: height / view.zoom };
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** The node under a point (flow coordinates): the topmost, i.e. the last drawn of those that hold it. */
export function nodeAt(nodes: readonly LayerNode[], point: XYPosition): LayerNode | null {
  for (let i = nodes.length - 1; i >= 0; i--) {
    const b = nodeBox(nodes[i]);
    if (point.x >= b.x && point.x <= b.x + b.width && point.y >= b.y && point.y <= b.y + b.height) return nodes[i];
  }
  return null;
}

/**
 * Where an edge meets a node: on the side its direction puts ports (inputs left or top, outputs right or bottom),
 * the i-th of n ports at (i + 1) / (n + 1) along it, as the node's handles are; an unknown port at the middle.
 */
export function portPoint(box: Box, ports: string[], port: string | null | undefined, kind: "in" | "out", direction: Direction): XYPosition {
  const index = ports.indexOf(port ?? kind);
  const along = index < 0 ? 0.5 : (index + 1) / (ports.length + 1);
  if (direction === "TB") return { x: box.x + along * box.width, y: kind === "in" ? box.y : box.y + box.height };
  return { x: kind === "in" ? box.x : box.x + box.width, y: box.y + along * box.height };
}

/** An edge's curve, bent as React Flow's Bézier edges are (a backward edge loops out of the node and back). */
export function edgeCurve(from: XYPosition, to: XYPosition, direction: Direction): Curve {
  const offset = (distance: number) => (distance >= 0 ? 0.5 * distance : 6.25 * Math.sqrt(-distance));
  if (direction === "TB") {
    const d = offset(to.y - from.y);
    return [from.x, from.y, from.x, from.y + d, to.x, to.y - d, to.x, to.y];
  }
  const d = offset(to.x - from.x);
  return [from.x, from.y, from.x + d, from.y, to.x - d, to.y, to.x, to.y];
}

function curveBox(c: Curve): Box {
  const xs = [c[0], c[2], c[4], c[6]];
  const ys = [c[1], c[3], c[5], c[7]];
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x || 1, height: Math.max(...ys) - y || 1 };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The curve of an edge of the scene, as drawn; null when an end is not in the scene. `boxes`: the nodes' boxes, if
 * already made. */
function curves(scene: Scene, boxes?: ReadonlyMap<string, Box>): (edge: PortEdge) => Curve | null {
  const byId = scene.ends ?? new Map(scene.nodes.map((n) => [n.id, n]));
  return (edge) => {
    const source = byId.get(edge.source);
    const target = byId.get(edge.target);
    if (!source || !target) return null;
    const from = portPoint(boxes?.get(source.id) ?? nodeBox(source), scene.portsOf(source).outputs, edge.sourceHandle, "out", scene.direction);
    const to = portPoint(boxes?.get(target.id) ?? nodeBox(target), scene.portsOf(target).inputs, edge.targetHandle, "in", scene.direction);
    return edgeCurve(from, to, scene.direction);
  };
}

/** How far a point is from a curve (flow units), measured along 24 straight pieces of it: within a fraction of a
 * screen pixel of the true distance at the zooms this view is used at. */
export function curveDistance(c: Curve, p: XYPosition): number {
  const STEPS = 24;
  let best = Infinity;
  let x0 = c[0];
  let y0 = c[1];
  for (let i = 1; i <= STEPS; i++) {
    const t = i / STEPS;
    const u = 1 - t;
    const a = u * u * u;
    const b = 3 * u * u * t;
    const d = 3 * u * t * t;
    const e = t * t * t;
    const x1 = a * c[0] + b * c[2] + d * c[4] + e * c[6];
    const y1 = a * c[1] + b * c[3] + d * c[5] + e * c[7];
    const dx = x1 - x0;
    const dy = y1 - y0;
    const length = dx * dx + dy * dy;
    const k = length ? Math.max(0, Math.min(1, ((p.x - x0) * dx + (p.y - y0) * dy) / length)) : 0;
    best = Math.min(best, Math.hypot(p.x - (x0 + k * dx), p.y - (y0 + k * dy)));
    x0 = x1;
    y0 = y1;
  }
  return best;
}

/** The scene's edges with their curves and the boxes round them: made once while the graph is unchanged, then
 * looked through on every move of the pointer. */
export type EdgeIndex = { edges: PortEdge[]; curves: Curve[]; boxes: Box[] };

export function edgeIndex(scene: Scene): EdgeIndex {
  const curveOf = curves(scene);
  const index: EdgeIndex = { edges: [], curves: [], boxes: [] };
  for (const edge of scene.edges) {
    const curve = curveOf(edge);
    if (!curve) continue;
    index.edges.push(edge);
    index.curves.push(curve);
    index.boxes.push(curveBox(curve));
  }
  return index;
}

/** The edge nearest a point (flow coordinates) within `slop` of it, or null; of edges as near, the last drawn. */
export function edgeAt(index: EdgeIndex, point: XYPosition, slop: number): PortEdge | null {
  let best: PortEdge | null = null;
  let nearest = slop;
  for (let i = 0; i < index.edges.length; i++) {
    // A Bézier curve lies within the box of its control points: most edges are ruled out here.
    const b = index.boxes[i];
    if (point.x < b.x - slop || point.x > b.x + b.width + slop || point.y < b.y - slop || point.y > b.y + b.height + slop) continue;
    const distance = curveDistance(index.curves[i], point);
    if (distance <= nearest) {
      best = index.edges[i];
      nearest = distance;
    }
  }
  return best;
}

/** What to draw of the scene in `area` (flow coordinates) at `zoom`, grouped by colour: a few paths per frame. */
export function plan(scene: Scene, area: Box, zoom: number): Plan {
  const boxes = new Map<string, Box>();
  for (const node of scene.nodes) boxes.set(node.id, nodeBox(node));
  const curveOf = curves(scene, boxes);

  const plain: Curve[] = [];
  const failing: Curve[] = [];
  const chosen: Curve[] = [];
  for (const edge of scene.edges) {
    const curve = curveOf(edge);
    if (!curve || !overlaps(curveBox(curve), area)) continue;
    (edge.selected ? chosen : scene.edgeErrors[edge.id] ? failing : plain).push(curve);
  }
  const edges = new Map<string, { width: number; curves: Curve[] }>();
  if (plain.length) edges.set(COLORS.edge, { width: PX.edge / zoom, curves: plain });
  if (failing.length) edges.set(COLORS.bad, { width: PX.markedEdge / zoom, curves: failing });
  if (chosen.length) edges.set(COLORS.selected, { width: PX.markedEdge / zoom, curves: chosen });

  const bodies = new Map<string, Box[]>();
  const stripes = new Map<string, Box[]>();
  const strips = new Map<string, Box[]>();
  const outlines = new Map<string, { width: number; boxes: Box[] }>();
  const outline = (color: string, box: Box) => {
    const entry = outlines.get(color);
    if (entry) entry.boxes.push(box);
    else outlines.set(color, { width: PX.outline / zoom, boxes: [box] });
  };
  for (const node of scene.nodes) {
    const box = boxes.get(node.id)!;
    if (!overlaps(box, area)) continue;
    const error = scene.hasError(node.id);
    const health = scene.healthOf(node.id);
    push(bodies, error ? COLORS.errorBody : COLORS.body, box);
    push(stripes, error ? COLORS.bad : scene.colorOf(node), { ...box, width: Math.min(box.width / 2, PX.stripe / zoom) });
    if (health) {
      const height = Math.min(box.height / 3, PX.health / zoom);
      push(strips, health === "flagged" ? COLORS.warn : COLORS.ok, { ...box, y: box.y + box.height - height, height });
    }
    if (node.selected) outline(COLORS.selected, box);
    else if (error) outline(COLORS.bad, box);
    else if (scene.hasWarning(node.id) || health === "flagged") outline(COLORS.warn, box);
  }
  return { edges, fills: [...bodies, ...stripes, ...strips], outlines };
}

/**
 * A scene split for a drag: what stays still (drawn once, then copied each frame) and what moves with the pointer
 * (the dragged nodes and their edges, drawn over it each frame).
 */
export function splitScene(scene: Scene, moving: ReadonlySet<string>): { still: Scene; moving: Scene } {
  const touches = (e: PortEdge) => moving.has(e.source) || moving.has(e.target);
  return {
    still: { ...scene, nodes: scene.nodes.filter((n) => !moving.has(n.id)), edges: scene.edges.filter((e) => !touches(e)) },
    moving: {
      ...scene,
      nodes: scene.nodes.filter((n) => moving.has(n.id)),
      edges: scene.edges.filter(touches),
      ends: new Map(scene.nodes.map((n) => [n.id, n])),
    },
  };
}

/** The few calls of a 2D context that paint uses (a test records them). */
export type Painter = Pick<
  CanvasRenderingContext2D,
  "setTransform" | "clearRect" | "beginPath" | "rect" | "moveTo" | "bezierCurveTo" | "fill" | "stroke" | "fillStyle" | "strokeStyle" | "lineWidth"
>;

/**
 * Paint a plan on a canvas of `width` x `height` CSS pixels at `ratio` device pixels each, seen through `view`;
 * cleared first, unless `over` (painting over what is there).
 */
export function paint(ctx: Painter, drawn: Plan, view: Viewport, width: number, height: number, ratio: number, over = false): void {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  if (!over) ctx.clearRect(0, 0, width * ratio, height * ratio);
  ctx.setTransform(view.zoom * ratio, 0, 0, view.zoom * ratio, view.x * ratio, view.y * ratio);
  for (const [color, { width: line, curves }] of drawn.edges) {
    ctx.beginPath();
    for (const c of curves) {
      ctx.moveTo(c[0], c[1]);
      ctx.bezierCurveTo(c[2], c[3], c[4], c[5], c[6], c[7]);
    }
    ctx.strokeStyle = color;
    ctx.lineWidth = line;
    ctx.stroke();
  }
  for (const [color, boxes] of drawn.fills) {
    ctx.beginPath();
    for (const b of boxes) ctx.rect(b.x, b.y, b.width, b.height);
    ctx.fillStyle = color;
    ctx.fill();
  }
  for (const [color, { width: line, boxes }] of drawn.outlines) {
    ctx.beginPath();
    for (const b of boxes) ctx.rect(b.x, b.y, b.width, b.height);
    ctx.strokeStyle = color;
    ctx.lineWidth = line;
    ctx.stroke();
  }
}

/** The union of two boxes. */
export function union(a: Box, b: Box): Box {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

/** The view of a minimap `width` x `height` px that shows all of `box`, centred, with `margin` px around it. */
export function overview(box: Box, width: number, height: number, margin = 4): Viewport {
  const zoom = Math.min((width - 2 * margin) / (box.width || 1), (height - 2 * margin) / (box.height || 1));
  return { x: (width - box.width * zoom) / 2 - box.x * zoom, y: (height - box.height * zoom) / 2 - box.y * zoom, zoom };
}

/** The box round all the nodes (an empty box at the origin when there are none). */
export function nodesBox(nodes: readonly LayerNode[]): Box {
  return nodes.length ? nodes.map(nodeBox).reduce(union) : { x: 0, y: 0, width: 0, height: 0 };
}

/** The nodes wholly inside a box (flow coordinates): what a selection box drawn over them selects. */
export function nodesWithin(nodes: readonly LayerNode[], box: Box): LayerNode[] {
  return nodes.filter((n) => {
    const b = nodeBox(n);
    return b.x >= box.x && b.y >= box.y && b.x + b.width <= box.x + box.width && b.y + b.height <= box.y + box.height;
  });
}
