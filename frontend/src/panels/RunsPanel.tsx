// Every run with status, dataset, best metric and time; open one, or overlay several to compare.
import { useReactFlow } from "@xyflow/react";
import { useEffect, useState } from "react";
import { type Schemas, api } from "../api/client";
import { openGraph } from "../canvas/view";
import { useRun } from "../stores/run";
import { useRuns } from "../stores/runs";
import { Chart, type Line, color } from "./Chart";

type Detail = Schemas["RunDetail"];

function Compare({ ids }: { ids: string[] }) {
  const [details, setDetails] = useState<Detail[]>([]);
  const [metric, setMetric] = useState("val_loss");
  useEffect(() => {
    Promise.all(ids.map((id) => api<Detail>(`/api/runs/${id}`))).then(setDetails, () => setDetails([]));
  }, [ids]);
  const names = [...new Set(details.flatMap((d) => d.history.flatMap((h) => Object.keys(h.metrics))))].sort();
  const lines: Line[] = details.map((d, i) => ({
    label: `${d.name} (${d.id.slice(0, 6)})`,
    x: d.history.map((h) => h.epoch),
    y: d.history.map((h) => h.metrics[metric] ?? NaN),
    color: color(i),
  }));
  return (
    <div className="compare" data-testid="compare">
      <select value={metric} onChange={(e) => setMetric(e.target.value)}>
        {names.map((n) => (
          <option key={n}>{n}</option>
        ))}
      </select>
      <Chart title={`compare: ${metric}`} lines={lines} testId="chart-compare" />
    </div>
  );
}

export function RunsPanel({ onOpen }: { onOpen: () => void }) {
  const { runs, compare, refresh, toggleCompare, remove } = useRuns();
  const flow = useReactFlow();
  const active = runs.some((r) => r.status === "running" || r.status === "queued");
  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), active ? 2000 : 10000);
    return () => clearInterval(t);
  }, [refresh, active]);

  const open = async (id: string, withGraph: boolean) => {
    useRun.getState().watch(id);
    if (withGraph) {
      const d = await api<Detail>(`/api/runs/${id}`);
      openGraph(flow, d.graph as Schemas["Graph"]);
    }
    onOpen();
  };

  return (
    <div className="runs-panel" data-testid="runs-panel">
      <table className="table">
        <thead>
          <tr>
            <th title="compare">⇆</th>
            <th>Run</th>
            <th>Status</th>
            <th>Dataset</th>
            <th>Best</th>
            <th>Started</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-testid={`run-${r.id}`}>
              <td>
                <input type="checkbox" checked={compare.includes(r.id)} onChange={() => toggleCompare(r.id)} />
              </td>
              <td>
                <a onClick={() => void open(r.id, false)}>{r.name}</a>
                <div className="muted small">{r.id}</div>
              </td>
              <td>
                <span className={`badge ${r.status}`}>{r.status}</span>
                {r.error && <div className="muted small" title={r.error}>{r.error.slice(0, 60)}</div>}
              </td>
              <td>{String(r.dataset.name ?? r.dataset.id ?? "")}</td>
              <td>{r.best ? `${r.best.name} ${r.best.value.toFixed(3)}` : "—"}</td>
              <td className="small">{new Date(r.created_at).toLocaleTimeString()}</td>
              <td className="actions">
                <button onClick={() => void open(r.id, true)} title="open its charts and its graph">Open</button>
                <button onClick={() => void remove(r.id)}>Delete</button>
              </td>
            </tr>
          ))}
          {runs.length === 0 && (
            <tr>
              <td colSpan={7} className="muted">
                No runs yet: press Train.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {compare.length > 0 && <Compare ids={compare} />}
    </div>
  );
}
