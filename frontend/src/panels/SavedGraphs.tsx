// Graphs saved on the server (the graphs table): save the current one, open, rename, delete.
import { useReactFlow } from "@xyflow/react";
import { useCallback, useEffect, useState } from "react";
import { type Schemas, api } from "../api/client";
import { openGraph } from "../canvas/view";
import { useGraph } from "../stores/graph";

type Summary = Schemas["GraphSummary"];
type Record_ = Schemas["GraphRecord"];

export function SavedGraphs({ onClose, onNotice }: { onClose: () => void; onNotice: (t: string) => void }) {
  const [graphs, setGraphs] = useState<Summary[]>([]);
  const flow = useReactFlow();
  const refresh = useCallback(() => {
    api<Summary[]>("/api/graphs").then(setGraphs, (e: Error) => onNotice(e.message));
  }, [onNotice]);
  useEffect(refresh, [refresh]);

  const saveCurrent = async () => {
    const graph = useGraph.getState().toJSON();
    try {
      await api("/api/graphs", { method: "POST", json: { graph, name: graph.name } });
      refresh();
    } catch (e) {
      onNotice((e as Error).message);
    }
  };
  const open = async (id: string) => {
    const record = await api<Record_>(`/api/graphs/${id}`);
    onClose();
    openGraph(flow, record.graph);
  };
  const rename = async (g: Summary) => {
    const name = prompt("New name", g.name);
    if (!name) return;
    await api(`/api/graphs/${g.id}`, { method: "PUT", json: { name } });
    refresh();
  };
  const remove = async (g: Summary) => {
    if (!confirm(`Delete '${g.name}'?`)) return;
    await api(`/api/graphs/${g.id}`, { method: "DELETE" });
    refresh();
  };
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal" onClick={(e) => e.stopPropagation()} data-testid="saved-graphs">
        <div className="modal-head">
          <h2>Graphs on the server</h2>
          <button onClick={saveCurrent} className="primary" data-testid="btn-save-server">
            Save current
          </button>
          <button onClick={onClose}>Close</button>
        </div>
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Nodes</th>
              <th>Updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {graphs.map((g) => (
              <tr key={g.id}>
                <td>
                  <a onClick={() => void open(g.id)}>{g.name}</a>
                </td>
                <td>{g.nodes}</td>
                <td>{new Date(g.updated_at).toLocaleString()}</td>
                <td className="actions">
                  <button onClick={() => void open(g.id)}>Open</button>
                  <button onClick={() => void rename(g)}>Rename</button>
                  <button onClick={() => void remove(g)}>Delete</button>
                </td>
              </tr>
            ))}
            {graphs.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  Nothing saved yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
