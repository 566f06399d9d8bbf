// Putting a graph on screen: open it (laid out if it would not read well) and show it at a readable zoom.
import type { ReactFlowInstance } from "@xyflow/react";
import type { GraphJSON } from "../api/client";
import { fromGraphJSON } from "../lib/graph";
import { type Size, READABLE_ZOOM, bestLayout, boundsOf, fitZoom } from "../lib/layout";
import { useGraph } from "../stores/graph";

// oxlint-disable-next-line no-explicit-any
type Flow = ReactFlowInstance<any, any>;

const MAX_ZOOM = 1.1;
/**
 * The canvas's own minimum zoom (Canvas.tsx's minZoom): low enough for Fit to show a graph of 5,000 nodes whole
 * (drawn then on one canvas, LodLayer.tsx).
 */
export const MIN_ZOOM = 0.02;
const MARGIN = 28;

export function canvasSize(): Size {
  const el = document.querySelector<HTMLElement>('[data-testid="canvas"]');
  return el && el.clientWidth > 0 ? { width: el.clientWidth, height: el.clientHeight } : { width: 900, height: 700 };
}

/** Wait until React Flow holds the store's nodes and has measured them all (a few frames), then run `then`. */
function whenMeasured(flow: Flow, then: () => void, frames = 60): void {
  requestAnimationFrame(() => {
    const expected = useGraph.getState().nodes;
    const nodes = flow.getNodes();
    // Sized: measured, or (out of view, not drawn) given an estimated size.
    const ready = nodes.length === expected.length && nodes.every((n, i) => n.id === expected[i].id && (n.measured?.width || n.initialWidth));
    if (ready || frames <= 0) then();
    else whenMeasured(flow, then, frames - 1);
  });
}

/**
 * Fit the graph in view; if that would make its text unreadably small, show its start (the inputs) at a
 * readable zoom instead: centred on an axis where it fits, aligned to the start where it does not.
 */
export function showGraph(flow: Flow, duration = 200): void {
  whenMeasured(flow, () => {
    const nodes = flow.getNodes();
    if (!nodes.length) {
      void flow.setViewport({ x: 0, y: 0, zoom: 1 }, { duration });
      return;
    }
    const view = canvasSize();
    const box = boundsOf(nodes);
    const fit = Math.min(fitZoom(box, view, 2 * MARGIN), MAX_ZOOM);
    const zoom = Math.max(fit, READABLE_ZOOM);
    const place = (start: number, size: number, room: number) =>
      size * zoom <= room - 2 * MARGIN ? (room - size * zoom) / 2 - start * zoom : MARGIN - start * zoom;
    void flow.setViewport(
      { x: place(box.x, box.width, view.width), y: place(box.y, box.height, view.height), zoom },
      { duration },
    );
  });
}

/**
 * The whole graph in view (the Fit button). React Flow's own fitView leaves out nodes it has not drawn yet (out of
 * view on a big graph); this counts them at their estimated size.
 */
export function fitAll(flow: Flow, duration = 200): void {
  const nodes = flow.getNodes();
  if (!nodes.length) return;
  const view = canvasSize();
  const box = boundsOf(nodes);
  const zoom = Math.max(MIN_ZOOM, Math.min(fitZoom(box, view, 2 * MARGIN), MAX_ZOOM));
  const x = (view.width - box.width * zoom) / 2 - box.x * zoom;
  const y = (view.height - box.height * zoom) / 2 - box.y * zoom;
  void flow.setViewport({ x, y, zoom }, { duration });
}

/**
 * Load a graph onto the canvas (one undo step) and show it. A graph with nodes that have no position is laid
 * out; with `relayout`, so is one whose own layout would only fit the canvas at an unreadable zoom (templates).
 */
export function openGraph(flow: Flow, graph: GraphJSON, { relayout = false } = {}): void {
  const flowGraph = fromGraphJSON(graph);
  const unplaced = (graph.nodes ?? []).some((n) => !n.position);
  let layout: ReturnType<typeof bestLayout> | undefined;
  if (flowGraph.nodes.length && (unplaced || relayout)) {
    const view = canvasSize();
    const best = bestLayout(flowGraph.nodes, flowGraph.edges, view);
    const own = fitZoom(boundsOf(flowGraph.nodes), view);
    if (unplaced || (own < READABLE_ZOOM && best.zoom > own * 1.15)) layout = best;
  }
  useGraph.getState().load(graph, layout);
  showGraph(flow);
}

/** The zoom a node or edge is shown at when an issue is clicked: readable, never zoomed further out than now. */
const FOCUS_ZOOM = 1;

/**
 * Select a node (or an edge, with both its ends in view) and centre it, keeping the zoom if it is readable:
 * where the issues panel takes the user.
 */
export function focusOn(flow: Flow, target: { node?: string | null; edge?: string | null }): boolean {
  const { nodes, edges } = useGraph.getState();
  const edge = target.edge ? edges.find((e) => e.id === target.edge) : undefined;
  const ids = new Set(edge ? [edge.source, edge.target] : target.node ? [target.node] : []);
  const shown = nodes.filter((n) => ids.has(n.id));
  if (!shown.length) return false;
  useGraph.setState({
    nodes: nodes.map((n) => {
      const selected = !edge && n.id === target.node;
      return n.selected === selected ? n : { ...n, selected };
    }),
    edges: edges.map((e) => {
      const selected = e.id === edge?.id;
      return e.selected === selected ? e : { ...e, selected };
    }),
  });
  const box = boundsOf(shown.map((n) => flow.getNode(n.id) ?? n));
  const zoom = Math.max(flow.getZoom(), Math.min(FOCUS_ZOOM, fitZoom(box, canvasSize(), 2 * MARGIN)));
  void flow.setCenter(box.x + box.width / 2, box.y + box.height / 2, { zoom, duration: 250 });
  return true;
}
