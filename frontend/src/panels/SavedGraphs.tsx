// Graphs saved on the server: save the current one (new, or over the one it was opened from), open, rename, delete.
import { useReactFlow } from "@xyflow/react";
import { useEffect, useState } from "react";
import { replaceCanvas } from "../canvas/replace";
import { openGraph, showGraph } from "../canvas/view";
import { useGraph } from "../stores/graph";
import { type GraphSummary, useLibrary } from "../stores/library";
import { notify } from "../stores/notice";

function stamp(iso: string): string {
  return new Date(iso).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function Row({ g, onOpen }: { g: GraphSummary; onOpen: (id: string) => void }) {
  const current = useLibrary((s) => s.currentId === g.id);
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(g.name);
  const commit = async () => {
    setEditing(false);
    if (name.trim() && name !== g.name) {
      try {
        await useLibrary.getState().rename(g.id, name.trim());
        if (useLibrary.getState().currentId === g.id) useGraph.getState().setName(name.trim());
      } catch (e) {
        notify((e as Error).message);
      }
    }
  };
  return (
    <tr className={current ? "current" : undefined} data-testid={`saved-${g.id}`}>
      <td>
        {editing ? (
          <input
            autoFocus
            value={name}
            onChange={(e) => setName(e.target.value)}
            onBlur={() => void commit()}
            onKeyDown={(e) => {
              if (e.key === "Enter") void commit();
              if (e.key === "Escape") setEditing(false);
            }}
            data-testid="rename-input"
          />
        ) : (
          <button className="link name" onClick={() => onOpen(g.id)}>
            {g.name}
          </button>
        )}
        {current && <span className="muted small"> · on the canvas</span>}
      </td>
      <td>{g.nodes}</td>
      <td className="small">{stamp(g.created_at)}</td>
      <td className="small">{stamp(g.updated_at)}</td>
      <td className="actions">
        <button onClick={() => onOpen(g.id)}>Open</button>
        <button
          onClick={() => {
            setName(g.name);
            setEditing(true);
          }}
          data-testid="btn-rename"
        >
          Rename
        </button>
        <button
          onClick={() => useLibrary.getState().remove(g.id)}
          data-testid="btn-delete"
          title={`Delete '${g.name}' from the server (a toast offers Undo for a while)`}
        >
          Delete
        </button>
      </td>
    </tr>
  );
}

export function SavedGraphs({ onClose }: { onClose: () => void }) {
  const { graphs, currentId, error } = useLibrary();
  const graphName = useGraph((s) => s.name);
  const [name, setName] = useState(graphName);
  const flow = useReactFlow();
  const current = graphs.find((g) => g.id === currentId);
  useEffect(() => {
    void useLibrary.getState().refresh();
  }, []);

  const saveNew = async () => {
    try {
      const title = name.trim() || graphName;
      useGraph.getState().setName(title);
      await useLibrary.getState().saveNew(useGraph.getState().toJSON(), title);
      notify(`Saved '${title}' on the server`, "info");
    } catch (e) {
      notify((e as Error).message);
    }
  };
  const update = async () => {
    try {
      await useLibrary.getState().update(useGraph.getState().toJSON());
      notify(`Updated '${graphName}'`, "info");
    } catch (e) {
      notify((e as Error).message);
    }
  };
  const open = async (id: string) => {
    try {
      const previous = useLibrary.getState().currentId;
      const graph = await useLibrary.getState().fetch(id);
      useLibrary.setState({ currentId: previous });
      onClose();
      replaceCanvas(
        `Opened '${graph.name ?? "untitled"}' from the server`,
        () => {
          useLibrary.setState({ currentId: id });
          openGraph(flow, graph);
        },
        () => showGraph(flow),
      );
    } catch (e) {
      notify((e as Error).message);
    }
  };
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal" onClick={(e) => e.stopPropagation()} data-testid="saved-graphs">
        <div className="modal-head">
          <h2>Graphs on the server</h2>
          <button onClick={onClose}>Close</button>
        </div>
        <div className="modal-row">
          <input value={name} onChange={(e) => setName(e.target.value)} aria-label="name to save as" data-testid="save-name" />
          {current && (
            <button onClick={() => void update()} className="primary" data-testid="btn-update-server" title={`Overwrite '${current.name}'`}>
              Update
            </button>
          )}
          <button onClick={() => void saveNew()} className={current ? undefined : "primary"} data-testid="btn-save-server">
            Save as new
          </button>
        </div>
        {error && <p className="node-error">{error}</p>}
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Nodes</th>
              <th>Created</th>
              <th>Updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {graphs.map((g) => (
              <Row key={g.id} g={g} onOpen={(id) => void open(id)} />
            ))}
            {graphs.length === 0 && (
              <tr>
                <td colSpan={5} className="muted">
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
