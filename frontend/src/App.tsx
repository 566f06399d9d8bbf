import { ReactFlowProvider } from "@xyflow/react";
import { useCallback, useEffect, useState } from "react";
import { Canvas } from "./canvas/Canvas";
import { useValidation } from "./lib/useValidation";
import { Header } from "./panels/Header";
import { Inspector } from "./panels/Inspector";
import { Palette } from "./panels/Palette";
import { RunsPanel } from "./panels/RunsPanel";
import { TrainPanel } from "./panels/TrainPanel";
import { useCatalog } from "./stores/catalog";
import { persistGraph, restoredGraph, useGraph } from "./stores/graph";

type Tab = "inspector" | "train" | "runs";

export function App() {
  const catalog = useCatalog((s) => s.catalog);
  const catalogError = useCatalog((s) => s.error);
  const [tab, setTab] = useState<Tab>("inspector");
  const [notice, setNotice] = useState<string | null>(null);
  useValidation();

  useEffect(() => {
    void useCatalog.getState().load();
    const saved = restoredGraph();
    if (saved) {
      useGraph.getState().load(saved);
      useGraph.setState({ past: [], future: [] });
    }
    return persistGraph();
  }, []);
  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => setNotice(null), 4000);
    return () => clearTimeout(t);
  }, [notice]);
  const onNotice = useCallback((text: string) => setNotice(text), []);

  return (
    <ReactFlowProvider>
      <div className="app">
        <Header onNotice={onNotice} />
        {catalogError && <div className="banner">{catalogError}</div>}
        <div className="main">
          {catalog ? <Palette /> : <aside className="palette muted">Loading the catalog…</aside>}
          {/* Handles come from the catalog: draw nodes only once it is here, so React Flow measures them. */}
          {catalog ? <Canvas onNotice={onNotice} /> : <div className="canvas" />}
          <aside className="sidebar">
            <div className="tabs">
              {(["inspector", "train", "runs"] as Tab[]).map((t) => (
                <button key={t} className={tab === t ? "active" : ""} onClick={() => setTab(t)} data-testid={`tab-${t}`}>
                  {t === "inspector" ? "Inspector" : t === "train" ? "Train" : "Runs"}
                </button>
              ))}
            </div>
            <div className="tab-body">
              {tab === "inspector" && <Inspector />}
              {tab === "train" && <TrainPanel />}
              {tab === "runs" && <RunsPanel onOpen={() => setTab("train")} />}
            </div>
          </aside>
        </div>
        {notice && (
          <div className="toast" data-testid="notice">
            {notice}
          </div>
        )}
      </div>
    </ReactFlowProvider>
  );
}
