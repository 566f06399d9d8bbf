// The React Flow canvas: drop layers from the palette, connect named ports, edit with the keyboard.
import {
  Background,
  type Connection,
  Controls,
  type IsValidConnection,
  MiniMap,
  ReactFlow,
  useReactFlow,
} from "@xyflow/react";
import { type DragEvent, useCallback, useEffect } from "react";
import type { PortEdge } from "../lib/graph";
import { defaultParams, useCatalog } from "../stores/catalog";
import { useGraph } from "../stores/graph";
import { LayerNodeComponent } from "./LayerNode";
import { ShapeEdgeComponent } from "./ShapeEdge";

// Module-level constants: defining them inside the component re-renders forever (xyflow #1620).
const nodeTypes = { layer: LayerNodeComponent };
const edgeTypes = { shape: ShapeEdgeComponent };
export const DRAG_MIME = "application/netcanvas-layer";

export function Canvas({ onNotice }: { onNotice: (text: string) => void }) {
  const nodes = useGraph((s) => s.nodes);
  const edges = useGraph((s) => s.edges);
  const onNodesChange = useGraph((s) => s.onNodesChange);
  const onEdgesChange = useGraph((s) => s.onEdgesChange);
  const connect = useGraph((s) => s.connect);
  const checkpoint = useGraph((s) => s.checkpoint);
  const flow = useReactFlow();

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
      if (problem) onNotice(problem);
      else connect(c);
    },
    [connect, onNotice, portIsVariadic],
  );

  const onDrop = useCallback(
    (event: DragEvent) => {
      event.preventDefault();
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
      } else if (mod && e.key.toLowerCase() === "c") g.copy();
      else if (mod && e.key.toLowerCase() === "v") g.paste();
      else if (e.key === "Delete" || e.key === "Backspace") g.deleteSelected();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  return (
    <div className="canvas" data-testid="canvas" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        onNodeDragStart={checkpoint}
        deleteKeyCode={null}
        multiSelectionKeyCode={["Shift", "Meta", "Control"]}
        fitView
        fitViewOptions={{ maxZoom: 1.25, padding: 0.15 }}
        minZoom={0.05}
        proOptions={{ hideAttribution: true }}
        onError={(code, message) => console.warn(`react-flow ${code}: ${message}`)}
      >
        <Background gap={20} size={1} />
        {nodes.length === 0 && (
          <div className="empty-hint" data-testid="empty-hint">
            Drag layers here from the palette, or start from <b>Templates</b>.
          </div>
        )}
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable nodeStrokeWidth={3} bgColor="#171c28" maskColor="#11151fcc" nodeColor="#3d4a66" />
      </ReactFlow>
    </div>
  );
}
