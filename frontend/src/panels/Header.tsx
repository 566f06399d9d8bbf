// File operations, templates, layout, undo/redo, and the model's validity and total parameter count.
import { useReactFlow } from "@xyflow/react";
import { useEffect, useRef } from "react";
import type { GraphJSON } from "../api/client";
import { replaceCanvas } from "../canvas/replace";
import { canvasSize, fitAll, openGraph, showGraph } from "../canvas/view";
import { formatCount } from "../lib/graph";
import { bestLayout } from "../lib/layout";
import { groupSelected } from "../stores/blocks";
import { useGraph } from "../stores/graph";
import { useLibrary } from "../stores/library";
import { notify } from "../stores/notice";
import { useOverlay } from "../stores/overlay";
import { THEME_CHOICES, type ThemeChoice, useTheme } from "../stores/theme";
import { IssuesPanel } from "./IssuesPanel";
import { SavedGraphs } from "./SavedGraphs";
import { Templates } from "./Templates";
import { UndoToast } from "../ui/UndoToast";

function download(graph: GraphJSON): void {
  const blob = new Blob([`${JSON.stringify(graph, null, 2)}\n`], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${(graph.name || "graph").replace(/[^\w.-]+/g, "_")}.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** The model's state and size; a button that opens the issues panel (every error and warning). */
function Summary() {
  const total = useGraph((s) => s.validation?.total_params ?? null);
  const valid = useGraph((s) => s.validation?.valid ?? null);
  const errorCount = useGraph((s) => s.validation?.errors.length ?? 0);
  const warningCount = useGraph((s) => s.validation?.warnings?.length ?? 0);
  const hintCount = useGraph((s) => s.validation?.hints?.length ?? 0);
  const empty = useGraph((s) => s.nodes.length === 0);
  const open = useOverlay((s) => s.issuesOpen);
  const state = empty ? "empty" : valid === null ? "checking" : valid ? "valid" : "invalid";
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const hints = hintCount ? ` · ${plural(hintCount, "hint")}` : "";
  return (
    <button
      className="summary-button"
      onClick={() => useOverlay.getState().setIssuesOpen(!open)}
      aria-expanded={open}
      data-testid="summary-button"
      title={open ? "Hide the issues" : "Show every error and warning"}
    >
      <span className="summary" data-testid="summary">
        <span className={`status-dot ${state}`} />
        <span>
          {state === "empty"
            ? "empty"
            : state === "checking"
              ? "checking…"
              : valid
                ? `valid${warningCount ? ` · ${plural(warningCount, "warning")}` : ""}${hints}`
                : `${plural(errorCount, "error")}${warningCount ? ` · ${plural(warningCount, "warning")}` : ""}${hints}`}
        </span>
        <span className="total" data-testid="total-params">
          {formatCount(total ?? 0)} params
        </span>
      </span>
    </button>
  );
}

const THEME_NAMES: Record<ThemeChoice, string> = { system: "System", light: "Light", dark: "Dark" };

/** Light, dark or the system's theme (kept in this browser). */
function ThemePicker() {
  const choice = useTheme((s) => s.choice);
  return (
    <select
      className="theme-select"
      value={choice}
      onChange={(e) => useTheme.getState().setChoice(e.target.value as ThemeChoice)}
      aria-label="theme"
      data-testid="theme-select"
      title="Colour theme: light, dark, or as the system is set"
    >
      {THEME_CHOICES.map((c) => (
        <option key={c} value={c}>
          {THEME_NAMES[c]}
        </option>
      ))}
    </select>
  );
}

export function Header() {
  const name = useGraph((s) => s.name);
  const canUndo = useGraph((s) => s.past.length > 0);
  const canRedo = useGraph((s) => s.future.length > 0);
  const onServer = useLibrary((s) => s.currentId !== null);
  const fileInput = useRef<HTMLInputElement>(null);
  const dialog = useOverlay((s) => s.dialog);
  const setDialog = useOverlay((s) => s.openDialog);
  const flow = useReactFlow();

  const open = async (file: File) => {
    try {
      const graph = JSON.parse(await file.text()) as GraphJSON;
      if (!graph || typeof graph !== "object" || !Array.isArray(graph.nodes)) throw new Error("it has no 'nodes' list");
      replaceCanvas(
        `Opened ${file.name}`,
        () => {
          useLibrary.getState().detach();
          openGraph(flow, graph);
        },
        () => showGraph(flow),
      );
    } catch (e) {
      notify(`${file.name} is not a NetCanvas graph: ${(e as Error).message}`);
    }
  };
  const layout = () => {
    const { nodes, edges } = useGraph.getState();
    if (!nodes.length) return;
    const best = bestLayout(nodes, edges, canvasSize());
    useGraph.getState().setLayout(best.direction, best.positions);
    showGraph(flow);
  };

  // Ctrl+S saves to the server: over the graph it came from, or as a new one (the dialog asks for a name).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || e.key.toLowerCase() !== "s") return;
      e.preventDefault();
      if (!useLibrary.getState().currentId) return useOverlay.getState().openDialog("saved");
      useLibrary
        .getState()
        .update(useGraph.getState().toJSON())
        .then(
          () => notify(`Saved '${useGraph.getState().name}' on the server`, "info"),
          (err: Error) => notify(err.message),
        );
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

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
        title={onServer ? "Saved on the server (Ctrl+S updates it)" : "Not saved on the server"}
      />
      <nav className="toolbar">
        <div className="group">
          <button
            onClick={() =>
              replaceCanvas(
                "Started a new graph",
                () => {
                  useLibrary.getState().detach();
                  useGraph.getState().reset();
                },
                () => showGraph(flow),
              )
            }
            data-testid="btn-new"
            title="Start an empty graph (Undo brings the old one back)"
          >
            New
          </button>
          <button onClick={() => fileInput.current?.click()} data-testid="btn-open" title="Open a graph JSON file">
            Open…
          </button>
          <button onClick={() => download(useGraph.getState().toJSON())} data-testid="btn-save" title="Download the graph JSON">
            Save
          </button>
          <button onClick={() => setDialog("saved")} data-testid="btn-saved" title="Graphs saved on the server (Ctrl+S)">
            Server graphs
          </button>
          <button onClick={() => setDialog("templates")} data-testid="btn-templates" title="Start from a ready-made model">
            Templates
          </button>
        </div>
        <div className="group">
          <button onClick={layout} data-testid="btn-layout" title="Arrange the nodes automatically">
            Auto layout
          </button>
          <button onClick={() => fitAll(flow)} data-testid="btn-fit" title="Show the whole graph">
            Fit
          </button>
          <button onClick={() => groupSelected()} data-testid="btn-group" title="Group the selected nodes into a block (Ctrl+G)">
            Group
          </button>
        </div>
        <div className="group">
          {/* Arrows only, named for screen readers and in their tooltips: the header stays on one line at
              1500 px even when the summary names errors (a second line would push the canvas down). */}
          <button
            className="icon"
            disabled={!canUndo}
            onClick={() => useGraph.getState().undo()}
            data-testid="btn-undo"
            aria-label="Undo"
            title="Undo (Ctrl+Z)"
          >
            ↶
          </button>
          <button
            className="icon"
            disabled={!canRedo}
            onClick={() => useGraph.getState().redo()}
            data-testid="btn-redo"
            aria-label="Redo"
            title="Redo (Ctrl+Shift+Z)"
          >
            ↷
          </button>
        </div>
      </nav>
      <Summary />
      <ThemePicker />
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
      <IssuesPanel />
      <UndoToast />
      {dialog === "templates" && <Templates onClose={() => setDialog(null)} />}
      {dialog === "saved" && <SavedGraphs onClose={() => setDialog(null)} />}
    </header>
  );
}
