import { ReactFlowProvider } from "@xyflow/react";
import { useEffect } from "react";
import { Canvas } from "./canvas/Canvas";
import { DataTab } from "./panels/DataTab";
import { useValidation } from "./lib/useValidation";
import { Header } from "./panels/Header";
import { Inspector } from "./panels/Inspector";
import { Palette } from "./panels/Palette";
import { RunsPanel } from "./panels/RunsPanel";
import { Ensembles } from "./panels/runs/Ensembles";
import { SearchTab } from "./panels/SearchTab";
import { TrainPanel } from "./panels/TrainPanel";
import { useCatalog } from "./stores/catalog";
import { useDatasets } from "./stores/datasets";
import { persistRun, useWatchedRun } from "./stores/watchedRun";
import { persistGraph, restoredGraph, useGraph } from "./stores/graph";
import { useNotice } from "./stores/notice";
import { type Tab, useUi } from "./stores/ui";
import { TokenDialog } from "./ui/TokenDialog";

const TAB_NAMES: Record<Tab, string> = { inspector: "Inspector", data: "Data", train: "Train", runs: "Runs", search: "Search" };

export function App() {
  const catalog = useCatalog((s) => s.catalog);
  const catalogError = useCatalog((s) => s.error);
  const tab = useUi((s) => s.tab);
  const setTab = useUi((s) => s.setTab);
  const notice = useNotice((s) => s.text);
  const noticeKind = useNotice((s) => s.kind);
  const running = useWatchedRun((s) => s.status === "running" || s.status === "queued");
  useValidation();

  useEffect(() => {
    void useCatalog.getState().load();
    void useDatasets.getState().refresh();
    const saved = restoredGraph();
    if (saved) {
      useGraph.getState().load(saved);
      useGraph.setState({ past: [], future: [] });
    }
    const stopGraph = persistGraph();
    const stopRun = persistRun();
    return () => {
      stopGraph();
      stopRun();
    };
  }, []);

  return (
    <ReactFlowProvider>
      <div className="app">
        <Header />
        {catalogError && (
          <div className="banner" data-testid="catalog-error">
            {catalogError}{" "}
            <button onClick={() => void useCatalog.getState().load()}>Retry</button>
          </div>
        )}
        <div className="main">
          {catalog ? <Palette /> : <aside className="palette muted">Loading the catalog…</aside>}
          {/* Handles come from the catalog: draw nodes only once it is here, so React Flow measures them. */}
          {catalog ? <Canvas /> : <div className="canvas" />}
          <aside className="sidebar">
            <div className="tabs" role="tablist" aria-label="side panels">
              {(["inspector", "data", "train", "runs", "search"] as Tab[]).map((t) => (
                <button
                  key={t}
                  role="tab"
                  id={`tab-${t}`}
                  aria-selected={tab === t}
                  aria-controls="tab-panel"
                  className={tab === t ? "active" : ""}
                  onClick={() => setTab(t)}
                  data-testid={`tab-${t}`}
                >
                  {TAB_NAMES[t]}
                  {t === "train" && running && <span className="dot" title="training" />}
                </button>
              ))}
            </div>
            <div className="tab-body" role="tabpanel" id="tab-panel" aria-labelledby={`tab-${tab}`}>
              {tab === "inspector" && <Inspector />}
              {tab === "data" && <DataTab />}
              {tab === "train" && <TrainPanel />}
              {tab === "runs" && (
                <>
                  <RunsPanel onOpen={() => setTab("train")} />
                  <Ensembles />
                </>
              )}
              {tab === "search" && <SearchTab onOpen={() => setTab("train")} />}
            </div>
          </aside>
        </div>
        {notice && (
          <div className={`toast ${noticeKind}`} data-testid="notice" onClick={() => useNotice.getState().clear()}>
            {notice}
          </div>
        )}
        <TokenDialog />
      </div>
    </ReactFlowProvider>
  );
}
