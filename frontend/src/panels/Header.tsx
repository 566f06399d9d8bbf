// File operations, templates, layout, undo/redo, and the model's total parameter count.
import { useReactFlow } from "@xyflow/react";
import { useRef, useState } from "react";
import type { GraphJSON } from "../api/client";
import { formatCount } from "../lib/graph";
import { bestLayout } from "../lib/layout";
import { canvasSize, openGraph, showGraph } from "../canvas/view";
import { useGraph } from "../stores/graph";
import { SavedGraphs } from "./SavedGraphs";
import { Templates } from "./Templates";

export function Header({ onNotice }: { onNotice: (text: string) => void }) {
  const name = useGraph((s) => s.name);
  const total = useGraph((s) => s.validation?.total_params ?? 0);
  const valid = useGraph((s) => s.validation?.valid ?? null);
  const errorCount = useGraph((s) => s.validation?.errors.length ?? 0);
  const empty = useGraph((s) => s.nodes.length === 0);
  const canUndo = useGraph((s) => s.past.length > 0);
  const canRedo = useGraph((s) => s.future.length > 0);
  const fileInput = useRef<HTMLInputElement>(null);
  const [dialog, setDialog] = useState<"templates" | "saved" | null>(null);
  const flow = useReactFlow();

  const save = () => {
    const graph = useGraph.getState().toJSON();
    const blob = new Blob([JSON.stringify(graph, null, 2)], { type: "application/json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${(graph.name || "graph").replace(/[^\w.-]+/g, "_")}.json`;
    a.click();
    URL.revokeObjectURL(a.href);
  };
  const open = async (file: File) => {
    try {
      const graph = JSON.parse(await file.text()) as GraphJSON;
      if (!graph || typeof graph !== "object" || !Array.isArray(graph.nodes)) throw new Error("no 'nodes' list");
      openGraph(flow, graph);
    } catch (e) {
      onNotice(`${file.name} is not a NetCanvas graph: ${(e as Error).message}`);
    }
  };
  const layout = () => {
    const { nodes, edges } = useGraph.getState();
    if (!nodes.length) return;
    const best = bestLayout(nodes, edges, canvasSize());
    useGraph.getState().setLayout(best.direction, best.positions);
    showGraph(flow);
  };

  return (
    <header className="header">
      <div className="brand">
        <span className="logo">◈</span> NetCanvas
      </div>
      <input
        className="graph-name"
        value={name}
        onChange={(e) => useGraph.getState().setName(e.target.value)}
        data-testid="graph-name"
        aria-label="graph name"
      />
      <nav className="toolbar">
        <button onClick={() => useGraph.getState().reset()} data-testid="btn-new">New</button>
        <button onClick={() => fileInput.current?.click()} data-testid="btn-open">Open…</button>
        <button onClick={save} data-testid="btn-save">Save</button>
        <button onClick={() => setDialog("saved")} data-testid="btn-saved">Server graphs</button>
        <button onClick={() => setDialog("templates")} data-testid="btn-templates">Templates</button>
        <span className="sep" />
        <button onClick={layout} data-testid="btn-layout">Auto layout</button>
        <button onClick={() => void flow.fitView({ duration: 200, padding: 0.05 })} data-testid="btn-fit" title="Show the whole graph">Fit</button>
        <button disabled={!canUndo} onClick={() => useGraph.getState().undo()} data-testid="btn-undo" title="Ctrl+Z">
          Undo
        </button>
        <button disabled={!canRedo} onClick={() => useGraph.getState().redo()} data-testid="btn-redo" title="Ctrl+Shift+Z">
          Redo
        </button>
      </nav>
      <div className="summary" data-testid="summary">
        <span className={`status-dot ${valid === null || empty ? "" : valid ? "ok" : "bad"}`} />
        {empty ? "empty" : valid === false ? `${errorCount} error${errorCount === 1 ? "" : "s"}` : valid ? "valid" : "…"}
        <span className="total" data-testid="total-params">
          {formatCount(total)} params
        </span>
      </div>
      <input
        ref={fileInput}
        type="file"
        accept=".json,application/json"
        hidden
        data-testid="file-input"
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (f) void open(f);
          e.target.value = "";
        }}
      />
      {dialog === "templates" && <Templates onClose={() => setDialog(null)} />}
      {dialog === "saved" && <SavedGraphs onClose={() => setDialog(null)} onNotice={onNotice} />}
    </header>
  );
}
