// Every run with status, dataset, best metric and time; open one, or overlay several to compare.
import { useReactFlow } from "@xyflow/react";
import { useEffect, useMemo } from "react";
import { client, ok } from "../api/client";
import { openGraph } from "../canvas/view";
import { type Upload, useDatasets } from "../stores/datasets";
import { useLibrary } from "../stores/library";
import { useWatchedRun } from "../stores/watchedRun";
import { type RunSummary, useRunList } from "../stores/runList";
import { epochText } from "../lib/compare";
import { Compare } from "./runs/Compare";
import { duration } from "./RunView";

function when(iso: string): string {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function took(r: RunSummary): string | null {
  if (!r.started_at) return null;
  const end = r.finished_at ? new Date(r.finished_at).getTime() : Date.now();
  return duration(Math.max(0, (end - new Date(r.started_at).getTime()) / 1000));
}

/** What a run trained on, as the list shows it: a built-in dataset's name, an upload's file name (its id when the
 * upload is not in the list, e.g. deleted). */
export function datasetName(dataset: Record<string, unknown>, uploads: Pick<Upload, "id" | "name">[]): string {
  if (typeof dataset.name === "string") return dataset.name;
  const id = typeof dataset.id === "string" ? dataset.id : "";
  return uploads.find((u) => u.id === id)?.name ?? id;
}

export function RunsPanel({ onOpen }: { onOpen: () => void }) {
  const { runs: all, compare, refresh, toggleCompare, remove, deleting } = useRunList();
  const runs = useMemo(() => all.filter((r) => !deleting.includes(r.id)), [all, deleting]);
  const watching = useWatchedRun((s) => s.runId);
  const uploads = useDatasets((s) => s.uploads);
  useEffect(() => {
    if (useDatasets.getState().uploads.length === 0) void useDatasets.getState().refresh(); // upload names
  }, []);
  const flow = useReactFlow();
  const active = runs.some((r) => r.status === "running" || r.status === "queued");
  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), active ? 1500 : 8000);
    return () => clearInterval(t);
  }, [refresh, active]);

  const open = async (id: string, withGraph: boolean) => {
    useWatchedRun.getState().watch(id);
    if (withGraph) {
      useLibrary.getState().detach();
      openGraph(flow, (await ok(client.GET("/api/runs/{run_id}", { params: { path: { run_id: id } } }))).graph);
    }
    onOpen();
  };

  return (
    <div className="runs-panel" data-testid="runs-panel">
      {runs.length === 0 && <p className="muted">No runs yet: build a graph (or pick a template) and press Train.</p>}
      {runs.length > 0 && <p className="muted small">Tick runs to overlay their curves.</p>}
      <div className="run-list">
        {runs.map((r) => (
          <div key={r.id} className={`run-row${watching === r.id ? " watching" : ""}`} data-testid={`run-${r.id}`}>
            <input
              type="checkbox"
              checked={compare.includes(r.id)}
              onChange={() => toggleCompare(r.id)}
              title="compare"
              data-testid={`compare-${r.id}`}
            />
            <div className="run-main">
              <div className="run-line">
                <button className="link name" onClick={() => void open(r.id, false)} title="Show its charts and results">
                  {r.name}
                </button>
                <span className={`badge ${r.status}`}>{r.status}</span>
              </div>
              <div className="run-meta muted small">
                <span className="mono">{r.id.slice(0, 8)}</span>
                <span>{datasetName(r.dataset, uploads)}</span>
                <span data-testid={`epochs-${r.id}`}>{epochText(r)}</span>
                <span>{when(r.created_at)}</span>
                {took(r) && <span>{took(r)}</span>}
              </div>
              {r.best && (
                <div className="run-best small">
                  best {r.best.name} <b className="mono">{r.best.value.toFixed(4)}</b>
                  {r.best.epoch ? <span className="muted"> (epoch {r.best.epoch})</span> : null}
                </div>
              )}
              {r.error && (
                <div className="run-error small" title={r.error}>
                  {r.error.length > 140 ? `${r.error.slice(0, 139)}…` : r.error}
                </div>
              )}
            </div>
            <div className="run-actions">
              <button onClick={() => void open(r.id, true)} title="Open its charts and its graph" data-testid={`open-${r.id}`}>
                Open
              </button>
              <button onClick={() => remove(r.id)} title="Delete this run and its files (Undo in the toast)" className="quiet" data-testid={`delete-${r.id}`}>
                Delete
              </button>
            </div>
          </div>
        ))}
      </div>
      {compare.length > 0 && <Compare ids={compare} runs={runs} />}
    </div>
  );
}
