// The React Flow canvas: drop layers from the palette, connect named ports, edit with the keyboard.
import {
  Background,
  type Connection,
  Controls,
  type IsValidConnection,
  MiniMap,
  type Node,
  ReactFlow,
  type XYPosition,
  useReactFlow,
  useStore,
  useUpdateNodeInternals,
} from "@xyflow/react";
import { type DragEvent, type MouseEvent, useCallback, useEffect, useMemo, useRef } from "react";
import type { LayerNode, PortEdge } from "../lib/graph";
import { categoryColor, defaultParams, useCatalog } from "../stores/catalog";
import { useGraph } from "../stores/graph";
import { notify } from "../stores/notice";
import { useOverlay } from "../stores/overlay";
import { useUi } from "../stores/ui";
import { addBlockNode, groupSelected } from "../stores/blocks";
import { BlockNodeComponent } from "./BlockNode";
import { ExpandedBlocks } from "./ExpandedBlocks";
import { LayerNodeComponent } from "./LayerNode";
import { LodLayer } from "./LodLayer";
import { ShapeEdgeComponent } from "./ShapeEdge";
import { withEstimates } from "./handles";
import { MIN_ZOOM, showGraph } from "./view";
import "./canvas.css";

// Module-level constants: defining them inside the component re-renders forever (xyflow #1620).
const nodeTypes = { layer: LayerNodeComponent, block: BlockNodeComponent };
const edgeTypes = { shape: ShapeEdgeComponent };
export const DRAG_MIME = "application/netcanvas-layer";
/** A block from the palette's "Blocks" (its name). */
export const BLOCK_MIME = "application/netcanvas-block";
/** Below this zoom the canvas hides small text (params, ids, edge shapes): unreadable, and costly on big graphs. */
export const FAR_ZOOM = 0.42;
/** From this many nodes on, nodes and edges out of view are not drawn. */
export const CULL_FROM = 300;

// Every prop given to <ReactFlow> must keep its identity across renders: a fresh array or callback makes it
// re-render all 500 nodes and edges of a big graph on every frame of a drag.
const MULTI_SELECT_KEYS = ["Shift", "Meta", "Control"];
const PRO_OPTIONS = { hideAttribution: true };
/** The minimap's largest size, on a wide canvas. */
const MINIMAP_MAX = { width: 168, height: 112 };

/**
 * The minimap's size on a canvas of `width` × `height` pixels: at most a quarter of its width and a fifth of its
 * height (at most 1/20 of it), so that on a small window (1024 × 700, a canvas of about 450 × 620) it does not hide
 * the graph; on a wide canvas 168 × 112. Rounded to 8 px, so that resizing does not redraw it on every pixel.
 */
export function minimapSize(width: number, height: number): { width: number; height: number } {
  if (!(width > 0 && height > 0)) return MINIMAP_MAX;
  const scale = Math.min(1, width / 4 / MINIMAP_MAX.width, height / 5 / MINIMAP_MAX.height);
  const round = (v: number) => Math.max(8, Math.floor(v / 8) * 8);
  return { width: round(MINIMAP_MAX.width * scale), height: round(MINIMAP_MAX.height * scale) };
}
// The Controls' fit button counts nodes not drawn (out of view, or all of them zoomed far out) at their estimated size.
const FIT_ALL = { includeHiddenNodes: true };
const showInspector = () => useUi.getState().setTab("inspector");
const onInit = (instance: Parameters<typeof showGraph>[0]) => showGraph(instance, 0);
const onError = (code: string, message: string) => console.warn(`react-flow ${code}: ${message}`);

const NO_EDGES: PortEdge[] = [];
// Zoomed far out on a big graph, React Flow is given the nodes hidden (it keeps their measurements, and draws
// none) and no edges: LodLayer draws them. A node's hidden copy is made once, while the node is unchanged.
const hiddenCopies = new WeakMap<LayerNode, LayerNode>();
function hidden(nodes: LayerNode[]): LayerNode[] {
  return nodes.map((n) => {
    let copy = hiddenCopies.get(n);
    if (!copy) {
      copy = { ...n, hidden: true };
      hiddenCopies.set(n, copy);
    }
    return copy;
  });
}

function minimapColor(node: Node): string {
  return categoryColor(useCatalog.getState().layers[(node as LayerNode).data.type]?.category);
}

export function Canvas() {
  const nodes = useGraph((s) => s.nodes);
  const edges = useGraph((s) => s.edges);
  const onNodesChange = useGraph((s) => s.onNodesChange);
  const onEdgesChange = useGraph((s) => s.onEdgesChange);
  const connect = useGraph((s) => s.connect);
  const flow = useReactFlow();
  const far = useStore((s) => s.transform[2] < FAR_ZOOM);
  // On a big graph only what is in view is in the DOM: 5,000 nodes draw and drag like a few hundred. A small one
  // is drawn whole (nothing to gain, and the browser's find and screen readers see every node).
  const big = useGraph((s) => s.nodes.length >= CULL_FROM);
  const miniWidth = useStore((s) => minimapSize(s.width, s.height).width);
  const miniHeight = useStore((s) => minimapSize(s.width, s.height).height);
  const minimapStyle = useMemo(() => ({ width: miniWidth, height: miniHeight }), [miniWidth, miniHeight]);
  const lod = far && big;
  const flowNodes = useMemo(() => (lod ? hidden(nodes) : nodes), [lod, nodes]);
  const direction = useGraph((s) => s.direction);
  const updateNodeInternals = useUpdateNodeInternals();
  // Handles sit left/right or top/bottom by direction: when it changes (Auto layout, undo, opening a graph),
  // React Flow must measure them again, or edges stay routed from where the handles were. Nodes out of view
  // (not drawn) get estimated handles for the new direction; those drawn are measured once more.
  const drawnDirection = useRef(direction);
  useEffect(() => {
    if (drawnDirection.current === direction) return;
    drawnDirection.current = direction;
    const { nodes } = useGraph.getState();
    useGraph.setState({ nodes: withEstimates(nodes, direction) });
    requestAnimationFrame(() => updateNodeInternals(nodes.map((n) => n.id)));
  }, [direction, updateNodeInternals]);
  // Where the pointer last was on the canvas, in flow coordinates: Ctrl+V pastes there.
  const pointer = useRef<XYPosition | null>(null);
  const onPointerMove = useCallback((e: MouseEvent) => {
    pointer.current = { x: e.clientX, y: e.clientY };
  }, []);
  const onPointerLeave = useCallback(() => {
    pointer.current = null;
  }, []);
  // Moving nodes is one undo step, recorded when the drag starts. On a big graph the other nodes and the edges stop
  // answering the pointer until the drop (a class set directly: a re-render of the canvas would cost a frame).
  const root = useRef<HTMLDivElement>(null);
  const onDragStart = useCallback(() => {
    useGraph.getState().checkpoint();
    if (useGraph.getState().nodes.length >= CULL_FROM) root.current?.classList.add("dragging");
  }, []);
  const onDragStop = useCallback(() => root.current?.classList.remove("dragging"), []);

  const portIsVariadic = useCallback((c: Connection | PortEdge) => {
    const target = useGraph.getState().nodes.find((n) => n.id === c.target);
    const spec = target && useCatalog.getState().layers[target.data.type];
    return spec?.inputs.find((p) => p.name === (c.targetHandle ?? "in"))?.variadic ?? false;
  }, []);

  const isValidConnection: IsValidConnection<PortEdge> = useCallback(
    (c) => useGraph.getState().canConnect(c, portIsVariadic(c)) === null,
    [portIsVariadic],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      const problem = useGraph.getState().canConnect(c, portIsVariadic(c));
      if (problem) notify(problem);
      else connect(c);
    },
    [connect, portIsVariadic],
  );

  const onDrop = useCallback(
    (event: DragEvent) => {
      event.preventDefault();
      const block = event.dataTransfer.getData(BLOCK_MIME);
      if (block) {
        const at = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
        addBlockNode(block, { x: at.x - 80, y: at.y - 30 });
        return;
      }
      const type = event.dataTransfer.getData(DRAG_MIME);
      const spec = useCatalog.getState().layers[type];
      if (!spec) return;
      const position = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
      useGraph.getState().addNode(type, defaultParams(spec), { x: position.x - 80, y: position.y - 30 });
    },
    [flow],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const el = e.target as HTMLElement;
      if (el.closest("input, textarea, select, [contenteditable]")) return;
      const mod = e.ctrlKey || e.metaKey;
      const g = useGraph.getState();
      if (mod && e.key.toLowerCase() === "z") {
        e.preventDefault();
        if (e.shiftKey) g.redo();
        else g.undo();
      } else if (mod && e.key.toLowerCase() === "y") {
        e.preventDefault();
        g.redo();
      } else if (mod && e.key.toLowerCase() === "a") {
        e.preventDefault();
        g.onNodesChange(g.nodes.map((n) => ({ type: "select", id: n.id, selected: true })));
      } else if (mod && e.key.toLowerCase() === "g") {
        e.preventDefault();
        groupSelected();
      } else if (mod && e.key.toLowerCase() === "c") g.copy();
      else if (mod && e.key.toLowerCase() === "v") g.paste(pointer.current ? flow.screenToFlowPosition(pointer.current) : undefined);
      else if (e.key === "Delete" || e.key === "Backspace") g.deleteSelected();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [flow]);

  return (
    <div
      ref={root}
      className={lod ? "canvas far lod" : far ? "canvas far" : "canvas"}
      data-testid="canvas"
      onDragOver={(e) => e.preventDefault()}
      onDrop={onDrop}
      onMouseMove={onPointerMove}
      onMouseLeave={onPointerLeave}
    >
      <ReactFlow
        nodes={flowNodes}
        edges={lod ? NO_EDGES : edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        onNodeDragStart={onDragStart}
        onSelectionDragStart={onDragStart}
        onNodeDragStop={onDragStop}
        onSelectionDragStop={onDragStop}
        onNodeDoubleClick={showInspector}
        onInit={onInit}
        deleteKeyCode={null}
        multiSelectionKeyCode={MULTI_SELECT_KEYS}
        onlyRenderVisibleElements={big}
        minZoom={MIN_ZOOM}
        maxZoom={2.5}
        proOptions={PRO_OPTIONS}
        onError={onError}
      >
        <Background gap={20} size={1} />
        {nodes.length === 0 && (
          <div className="empty-hint" data-testid="empty-hint">
            Drag layers here from the palette (or double-click one), or start from{" "}
            <button className="link hint-button" onClick={() => useOverlay.getState().openDialog("templates")} data-testid="hint-templates">
              Templates
            </button>
            .
          </div>
        )}
        <ExpandedBlocks />
        {lod && <LodLayer />}
        <Controls showInteractive={false} position="bottom-left" fitViewOptions={FIT_ALL} />
        {/* Zoomed far out on a big graph, LodLayer draws the minimap too (React Flow's would show no hidden node). */}
        {nodes.length > 0 && !lod && (
          <MiniMap
            pannable
            zoomable
            position="bottom-right"
            style={minimapStyle}
            bgColor="var(--panel)" // React Flow sets these as CSS variables: the theme's colours follow
            maskColor="var(--minimap-mask)"
            nodeColor={minimapColor}
            nodeStrokeWidth={0}
            nodeBorderRadius={3}
          />
        )}
      </ReactFlow>
    </div>
  );
}
