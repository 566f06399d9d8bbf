// Zoomed far out on a big graph, nodes and edges are drawn on one <canvas> (lod.ts) and React Flow draws none: the
// browser then lays out, layers and hit-tests one element instead of thousands. Nodes are still selected and
// dragged here (moved in the graph store, one undo step a drag, as React Flow's own drag does), and edges selected
// with a click (Delete removes them through the canvas's own key handler, Canvas.tsx: deleteSelected, one undo step);
// panning and zooming stay React Flow's. Zooming in brings React Flow's nodes back (Canvas.tsx).
import { Panel, useReactFlow, useStoreApi } from "@xyflow/react";
import { useEffect, useRef, useState } from "react";
import type { LayerNode, PortEdge } from "../lib/graph";
import { blockParams, blockPorts, readBlocks } from "../lib/blocks";
import { categoryColor, useCatalog } from "../stores/catalog";
import { useInputProblems } from "../stores/datasets";
import { useGraph } from "../stores/graph";
import { useHealth } from "../stores/health";
import { useTheme } from "../stores/theme";
import { useUi } from "../stores/ui";
import { type Drawn, useDrawn } from "./drawn";
import { type Box, type EdgeIndex, type PortNames, type Scene, type Viewport, edgeAt, edgeIndex, nodeAt, nodesBox, nodesWithin, overview, paint, plan, splitScene, themeColors, toFlow, union, visibleArea } from "./lod";

let blockColor = "#9aa7c7"; // --block-color, read with the theme's other colours (readTheme)
/** The minimap's size (Canvas.tsx's MINIMAP_MAX, its size on a wide canvas) and its frame of the view. */
const MINI = { width: 168, height: 112 };
let viewFrameColor = "#e4e8f1"; // --text: the frame of the view on the minimap
/** How near an edge (screen pixels) a click selects it and the pointer names it. */
const EDGE_SLOP = 5;

/** The theme's colours for this canvas, read from styles.css's variables before each drawing: a theme change restyles
 * the page but not what a canvas already shows, so the layer subscribes to the theme and draws again. */
function readTheme(): void {
  const style = getComputedStyle(document.documentElement);
  const read = (name: string) => style.getPropertyValue(name).trim();
  themeColors(read);
  blockColor = read("--block-color") || blockColor;
  viewFrameColor = read("--text") || viewFrameColor;
}

let failingMemo: { counts: object; validation: object | null; ids: Set<string> } | null = null;

/** The nodes with errors (kept while the validation is: a scene is made on every frame of a drag). A block node's
 * errors name its inlined layers (`b1.0.fc`): the part before the first dot is the node. */
function failingNodes(counts: Drawn["nodeErrorCounts"], validation: Drawn["validation"]): Set<string> {
  if (failingMemo?.counts === counts && failingMemo.validation === validation) return failingMemo.ids;
  const ids = new Set<string>();
  for (const [id, count] of Object.entries(counts)) if (count > 0) ids.add(id.split(".")[0]);
  for (const [id, info] of Object.entries(validation?.nodes ?? {})) if (info.error) ids.add(id.split(".")[0]);
  failingMemo = { counts, validation, ids };
  return ids;
}

/** The graph as the stores hold it now, for lod.plan. */
function currentScene(): Scene {
  const { nodes, edges, direction, extra } = useGraph.getState();
  const { validation, nodeErrorCounts, nodeWarnings, edgeErrors } = useDrawn.getState();
  const layers = useCatalog.getState().layers;
  const problems = useInputProblems.getState();
  const health = useHealth.getState().latest;
  const blocks = nodes.some((n) => n.type === "block") ? readBlocks(extra) : {};
  const failing = failingNodes(nodeErrorCounts, validation);
  const layerPorts = new Map<string, PortNames>(); // by layer type: asked for both ends of every edge
  const portsOf = (node: LayerNode): PortNames => {
    if (node.type === "block") {
      const ports = blockPorts(blocks[blockParams(node.data.params).block]);
      return { inputs: ports.inputs.length === 1 ? ["in"] : ports.inputs, outputs: ports.outputs.length === 1 ? ["out"] : ports.outputs };
    }
    let ports = layerPorts.get(node.data.type);
    if (!ports) {
      const spec = layers[node.data.type];
      ports = { inputs: spec?.inputs.map((p) => p.name) ?? [], outputs: spec?.outputs.map((p) => p.name) ?? [] };
      layerPorts.set(node.data.type, ports);
    }
    return ports;
  };
  return {
    nodes,
    edges,
    direction,
    portsOf,
    colorOf: (node) => (node.type === "block" ? blockColor : categoryColor(layers[node.data.type]?.category)),
    hasError: (id) => failing.has(id),
    hasWarning: (id) => id in nodeWarnings || id in problems,
    healthOf: (id) => (health[id] ? (health[id].flag ? "flagged" : "ok") : null),
    edgeErrors,
  };
}

let edgesMemo: { keys: unknown[]; index: EdgeIndex } | null = null;

/** The edges' curves, for finding the one under the pointer: made again only when the graph (or the ports) change. */
function currentEdges(): EdgeIndex {
  const g = useGraph.getState();
  const keys = [g.nodes, g.edges, g.direction, g.extra, useCatalog.getState().layers];
  if (!edgesMemo || edgesMemo.keys.some((k, i) => k !== keys[i])) edgesMemo = { keys, index: edgeIndex(currentScene()) };
  return edgesMemo.index;
}

/** What the scene's look depends on besides node positions: while these hold, a still layer can be reused. */
function looks(): unknown[] {
  const g = useGraph.getState();
  return [useDrawn.getState(), g.edges, g.direction, g.extra, useCatalog.getState().layers, useInputProblems.getState(), useHealth.getState().latest, useTheme.getState().theme];
}

type Drag = { start: { x: number; y: number }; origins: Map<string, { x: number; y: number }>; moved: boolean; delta: { x: number; y: number } | null };

/** Select `hit` as a click on a node does: alone, or (with Shift, Ctrl or Cmd) added to the selection or taken out. */
export function selectByClick(hit: LayerNode, additive: boolean): void {
  const g = useGraph.getState();
  if (additive) {
    g.onNodesChange([{ type: "select", id: hit.id, selected: !hit.selected }]);
    return;
  }
  if (hit.selected) return; // keep the selection: dragging one of several selected nodes moves them all
  g.onNodesChange([
    ...g.nodes.filter((n) => n.selected && n.id !== hit.id).map((n) => ({ type: "select" as const, id: n.id, selected: false })),
    { type: "select", id: hit.id, selected: true },
  ]);
  const edges = g.edges.filter((e) => e.selected).map((e) => ({ type: "select" as const, id: e.id, selected: false }));
  if (edges.length) g.onEdgesChange(edges);
}

/** Select `hit` as a click on an edge does: alone (the nodes unselected), or (with Shift, Ctrl or Cmd) added to the
 * selection or taken out. */
export function selectEdgeByClick(hit: PortEdge, additive: boolean): void {
  const g = useGraph.getState();
  if (additive) {
    g.onEdgesChange([{ type: "select", id: hit.id, selected: !hit.selected }]);
    return;
  }
  const nodes = g.nodes.filter((n) => n.selected).map((n) => ({ type: "select" as const, id: n.id, selected: false }));
  if (nodes.length) g.onNodesChange(nodes);
  g.onEdgesChange([
    ...g.edges.filter((e) => e.selected && e.id !== hit.id).map((e) => ({ type: "select" as const, id: e.id, selected: false })),
    { type: "select", id: hit.id, selected: true },
  ]);
}

/** What the pointer is over: a node or an edge, by id. */
type Hovered = { kind: "node" | "edge"; id: string } | null;

/** An edge's end as the corner says it: the node, and the port when it is not the default one. */
const end = (node: string, port: string | null | undefined, fallback: string) => (port && port !== fallback ? `${node}.${port}` : node);

/** How many of `items` are selected, and the first of them (one pass, no copy: there may be thousands). */
function selection<T extends { selected?: boolean }>(items: readonly T[]): [number, T | undefined] {
  let count = 0;
  let first: T | undefined;
  for (const item of items) {
    if (!item.selected) continue;
    count++;
    first ??= item;
  }
  return [count, first];
}

/**
 * What the corner says (labels are unreadable here), as one string so that it re-renders only when this changes:
 * the node or edge the pointer is over, or else the first selected node, or else the first selected edge (kind, id,
 * then a node's type and position or an edge's two ends), and how many nodes and edges are selected.
 */
export function describe(nodes: readonly LayerNode[], edges: readonly PortEdge[], hovered: Hovered): string {
  const [selected, first] = selection(nodes);
  const [chosen, firstEdge] = selection(edges);
  const counts = [selected, chosen];
  // What the pointer is over, if still there (it may just have been deleted).
  const overNode = hovered?.kind === "node" ? nodes.find((n) => n.id === hovered.id) : undefined;
  const overEdge = hovered?.kind === "edge" ? edges.find((e) => e.id === hovered.id) : undefined;
  const node = overNode ?? (overEdge ? undefined : first);
  if (node) return ["node", node.id, node.data.type, `${Math.round(node.position.x)}`, `${Math.round(node.position.y)}`, ...counts].join("\u0000");
  const edge = overEdge ?? firstEdge;
  if (edge) return ["edge", edge.id, end(edge.source, edge.sourceHandle, "out"), end(edge.target, edge.targetHandle, "in"), "", ...counts].join("\u0000");
  return "";
}

export function LodLayer() {
  const canvas = useRef<HTMLCanvasElement>(null);
  const mini = useRef<HTMLCanvasElement>(null);
  const store = useStoreApi();
  const flow = useReactFlow();
  const [hovered, setHovered] = useState<Hovered>(null);
  const shown = useGraph((s) => describe(s.nodes, s.edges, hovered));

  useEffect(() => {
    const el = canvas.current;
    const host = el?.parentElement;
    const miniCtx = mini.current?.getContext("2d");
    if (!el || !host || !mini.current || !miniCtx) return;
    const miniEl = mini.current;
    const ctx = el.getContext("2d");
    if (!ctx) return;
    let miniView: Viewport = { x: 0, y: 0, zoom: 1 };
    // While nodes are dragged, all else is drawn once on this canvas, copied each frame under the dragged nodes.
    const stillEl = document.createElement("canvas");
    const stillCtx = stillEl.getContext("2d");
    let still: { key: string; looks: unknown[] } | null = null;
    const viewport = (): Viewport => {
      const [x, y, zoom] = store.getState().transform;
      return { x, y, zoom };
    };
    let frame = 0;
    let drag: Drag | null = null;
    let swallowClick = false;
    let pressedAt = { x: 0, y: 0 }; // a click that ends a pan (the pointer moved) selects no edge

    const moveDragged = () => {
      if (!drag?.delta) return;
      const { delta } = drag;
      drag.delta = null;
      if (!drag.moved) {
        drag.moved = true;
        useGraph.getState().checkpoint(); // one undo step for the whole drag, as React Flow's drag records it
      }
      useGraph.getState().onNodesChange(
        [...drag.origins].map(([id, at]) => ({ type: "position", id, position: { x: at.x + delta.x, y: at.y + delta.y }, dragging: true })),
      );
    };
    const draw = () => {
      frame = 0;
      moveDragged();
      readTheme();
      const width = host.clientWidth;
      const height = host.clientHeight;
      const ratio = window.devicePixelRatio || 1;
      if (el.width !== Math.round(width * ratio) || el.height !== Math.round(height * ratio)) {
        el.width = Math.round(width * ratio);
        el.height = Math.round(height * ratio);
      }
      const view = viewport();
      const scene = currentScene();
      const area = visibleArea(view, width, height);
      if (drag?.moved && stillCtx) {
        const parts = splitScene(scene, new Set(drag.origins.keys()));
        const key = `${view.x} ${view.y} ${view.zoom} ${el.width} ${el.height}`;
        const now = looks();
        if (!still || still.key !== key || still.looks.some((x, i) => x !== now[i])) {
          stillEl.width = el.width;
          stillEl.height = el.height;
          paint(stillCtx, plan(parts.still, area, view.zoom), view, width, height, ratio);
          still = { key, looks: now };
        }
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.clearRect(0, 0, el.width, el.height);
        ctx.drawImage(stillEl, 0, 0);
        paint(ctx, plan(parts.moving, area, view.zoom), view, width, height, ratio, true);
        return; // the minimap is drawn again at the drop
      }
      still = null;
      paint(ctx, plan(scene, area, view.zoom), view, width, height, ratio);
      // The minimap: every node (no edges) and a frame round what the canvas shows.
      if (miniEl.width !== MINI.width * ratio) {
        miniEl.width = MINI.width * ratio;
        miniEl.height = MINI.height * ratio;
      }
      const all = union(nodesBox(scene.nodes), area);
      miniView = overview(all, MINI.width, MINI.height);
      paint(miniCtx, plan({ ...scene, edges: [] }, all, miniView.zoom), miniView, MINI.width, MINI.height, ratio);
      miniCtx.strokeStyle = viewFrameColor;
      miniCtx.lineWidth = 1 / miniView.zoom;
      miniCtx.strokeRect(area.x, area.y, area.width, area.height);
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(draw);
    };

    const local = (e: MouseEvent) => {
      const r = host.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    };
    const onPane = (e: Event) => e.target instanceof Element && host.contains(e.target) && e.target.closest(".react-flow__pane") !== null;
    const hitAt = (e: MouseEvent) => nodeAt(useGraph.getState().nodes, toFlow(viewport(), local(e)));
    // Nodes are drawn over edges: an edge is hit only where no node is.
    const edgeHitAt = (e: MouseEvent) => {
      const view = viewport();
      return edgeAt(currentEdges(), toFlow(view, local(e)), EDGE_SLOP / view.zoom);
    };

    const onMove = (e: PointerEvent) => {
      if (!drag) return;
      const zoom = viewport().zoom;
      drag.delta = { x: (e.clientX - drag.start.x) / zoom, y: (e.clientY - drag.start.y) / zoom };
      schedule();
    };
    const onUp = () => {
      window.removeEventListener("pointermove", onMove);
      window.removeEventListener("pointerup", onUp);
      if (!drag) return;
      moveDragged();
      if (drag.moved) {
        useGraph.getState().onNodesChange([...drag.origins.keys()].map((id) => ({ type: "position", id, dragging: false })));
      }
      drag = null;
      host.classList.remove("lod-dragging");
    };
    // Capture phase on the window, before React's own listeners: a press on a node never reaches the pane (which would
    // pan the view, or with Shift start a selection box).
    const onDown = (e: PointerEvent) => {
      swallowClick = false;
      pressedAt = { x: e.clientX, y: e.clientY };
      if (e.button !== 0 || !onPane(e)) return;
      const hit = hitAt(e);
      if (!hit) return;
      e.stopPropagation();
      e.preventDefault(); // no mousedown follows: d3-zoom does not start a pan either
      swallowClick = true;
      selectByClick(hit, e.shiftKey || e.ctrlKey || e.metaKey);
      const selected = useGraph.getState().nodes.filter((n) => n.selected);
      drag = { start: { x: e.clientX, y: e.clientY }, origins: new Map(selected.map((n) => [n.id, { ...n.position }])), moved: false, delta: null };
      host.classList.add("lod-dragging");
      window.addEventListener("pointermove", onMove);
      window.addEventListener("pointerup", onUp);
    };
    // The click after a press on a node is not the pane's (React Flow would clear the selection); a click on (near)
    // an edge selects it, as React Flow's click on an edge does; a click on the empty pane clears the edges' selection
    // too (React Flow holds no edges while zoomed out, and clears the nodes').
    const onClick = (e: MouseEvent) => {
      if (swallowClick) {
        swallowClick = false;
        e.stopPropagation();
        return;
      }
      if (!onPane(e) || hitAt(e)) return;
      const edge = Math.hypot(e.clientX - pressedAt.x, e.clientY - pressedAt.y) < 4 ? edgeHitAt(e) : null;
      if (edge) {
        e.stopPropagation();
        selectEdgeByClick(edge, e.shiftKey || e.ctrlKey || e.metaKey);
        return;
      }
      const g = useGraph.getState();
      const edges = g.edges.filter((x) => x.selected).map((x) => ({ type: "select" as const, id: x.id, selected: false }));
      if (edges.length) g.onEdgesChange(edges);
    };
    // A double click on a node opens its settings (and does not zoom in, as it would on the pane).
    const onDoubleClick = (e: MouseEvent) => {
      if (!onPane(e) || !hitAt(e)) return;
      e.stopPropagation();
      useUi.getState().setTab("inspector");
    };
    // The minimap, as React Flow's (pannable, zoomable) is used: a press centres the view there, keeping the zoom, and
    // a drag keeps the view centred under the pointer (so the frame follows it: a pan by drag); the wheel zooms the
    // view about its centre. Zooming in past FAR_ZOOM brings React Flow's nodes, and its own minimap, back.
    const centreAt = (e: PointerEvent) => {
      const r = miniEl.getBoundingClientRect();
      const at = toFlow(miniView, { x: e.clientX - r.left, y: e.clientY - r.top });
      void flow.setCenter(at.x, at.y, { zoom: viewport().zoom });
    };
    const onMiniDown = (e: PointerEvent) => {
      if (e.button !== 0) return;
      miniEl.setPointerCapture(e.pointerId);
      centreAt(e);
    };
    const onMiniMove = (e: PointerEvent) => {
      if (miniEl.hasPointerCapture(e.pointerId)) centreAt(e);
    };
    const onMiniWheel = (e: WheelEvent) => {
      e.preventDefault(); // not the page's scroll
      const step = e.deltaMode === 1 ? 0.05 : e.deltaMode ? 1 : 0.002; // lines, pages, pixels: as d3-zoom reads them
      void flow.zoomTo(viewport().zoom * 2 ** (-e.deltaY * step));
    };
    // A selection box (Shift+drag on the pane) is React Flow's, which skips hidden nodes: when it closes, the nodes
    // wholly inside it are selected here.
    let box: Box | null = null;
    const onSelectionBox = () => {
      const { userSelectionRect: rect, userSelectionActive } = store.getState();
      if (rect && userSelectionActive) {
        box = { x: rect.x, y: rect.y, width: rect.width, height: rect.height };
        return;
      }
      if (rect || !box) return;
      const view = viewport();
      const corner = toFlow(view, box);
      const inside = nodesWithin(useGraph.getState().nodes, { ...corner, width: box.width / view.zoom, height: box.height / view.zoom });
      box = null;
      if (inside.length) useGraph.getState().onNodesChange(inside.map((n) => ({ type: "select", id: n.id, selected: true })));
    };
    const onHover = (e: PointerEvent) => {
      if (drag) return;
      const node = onPane(e) ? hitAt(e) : null;
      const edge = onPane(e) && !node && e.buttons === 0 ? edgeHitAt(e) : null; // none while panning
      host.classList.toggle("lod-over-node", node !== null || edge !== null);
      const next: Hovered = node ? { kind: "node", id: node.id } : edge ? { kind: "edge", id: edge.id } : null;
      setHovered((was) => (was?.kind === next?.kind && was?.id === next?.id ? was : next));
    };
    const onLeave = () => {
      host.classList.remove("lod-over-node");
      setHovered(null);
    };

    // Presses on nodes are taken on the window's capture phase, before React Flow's own handlers.
    const listeners: [EventTarget, string, (e: never) => void, boolean | AddEventListenerOptions][] = [
      [window, "pointerdown", onDown, true],
      [window, "click", onClick, true],
      [window, "dblclick", onDoubleClick, true],
      [host, "pointermove", onHover, false],
      [host, "pointerleave", onLeave, false],
      [miniEl, "pointerdown", onMiniDown, false],
      [miniEl, "pointermove", onMiniMove, false],
      [miniEl, "wheel", onMiniWheel, { passive: false }],
    ];
    for (const [target, type, listener, capture] of listeners) {
      target.addEventListener(type, listener as EventListener, capture);
    }
    const resized = new ResizeObserver(schedule);
    resized.observe(host);
    const stops = [useGraph, useDrawn, useCatalog, useInputProblems, useHealth, useTheme, store].map((s) => s.subscribe(schedule));
    stops.push(store.subscribe(onSelectionBox));
    schedule();
    return () => {
      for (const stop of stops) stop();
      resized.disconnect();
      for (const [target, type, listener, capture] of listeners) {
        target.removeEventListener(type, listener as EventListener, capture);
      }
      host.classList.remove("lod-over-node", "lod-dragging");
      onUp();
      cancelAnimationFrame(frame);
    };
  }, [store, flow]);

  // A node: its type and position; an edge: its two ends (from, to).
  const [kind, id, type, x, y, selected, selectedEdges] = shown ? shown.split("\u0000") : [];
  const [from, to] = [type, x];
  return (
    <>
      <canvas ref={canvas} className="lod-canvas" data-testid="lod-canvas" aria-hidden="true" />
      <Panel
        position="top-left"
        className="lod-status"
        data-testid="lod-status"
        data-node={kind === "node" ? id : ""}
        data-edge={kind === "edge" ? id : ""}
        data-x={kind === "node" ? x : ""}
        data-y={kind === "node" ? y : ""}
        data-selected={selected ?? "0"}
        data-selected-edges={selectedEdges ?? "0"}
      >
        {kind === "node" ? (
          <>
            <b>{id}</b> {type} at {x}, {y}
            {Number(selected) > 1 && ` · ${selected} selected`}
          </>
        ) : kind === "edge" ? (
          <>
            <b>{from}</b> → <b>{to}</b>
            {Number(selectedEdges) > 1 && ` · ${selectedEdges} edges selected`}
          </>
        ) : (
          "Zoomed out: point at a layer or an edge to name it; zoom in to edit it."
        )}
      </Panel>
      <Panel position="bottom-right" className="lod-minimap">
        <canvas ref={mini} style={MINI} data-testid="lod-minimap" aria-label="Minimap: press or drag to move the view, scroll to zoom" />
      </Panel>
    </>
  );
}
