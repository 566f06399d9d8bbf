// The templates gallery: a ready graph for each model family, with its dataset and training config.
import { useReactFlow } from "@xyflow/react";
import { useEffect, useState } from "react";
import { type Schemas, client, ok } from "../api/client";
import { replaceCanvas } from "../canvas/replace";
import { openGraph, showGraph } from "../canvas/view";
import { useLibrary } from "../stores/library";
import { type TrainConfig, useTrain } from "../stores/train";

type Template = Schemas["Template"];

export function Templates({ onClose }: { onClose: () => void }) {
  const [templates, setTemplates] = useState<Template[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const flow = useReactFlow();
  useEffect(() => {
    ok(client.GET("/api/templates")).then(setTemplates, (e: Error) => setError(e.message));
  }, []);
  const pick = (t: Template) => {
    onClose();
    replaceCanvas(
      `Opened the template '${t.name}'`,
      () => {
        useLibrary.getState().detach();
        openGraph(flow, t.graph, { relayout: true });
        if (t.dataset.name) useTrain.getState().setDataset(t.dataset.name);
        useTrain.getState().setConfig(t.config as TrainConfig);
      },
      () => showGraph(flow),
    );
  };
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal wide" onClick={(e) => e.stopPropagation()} data-testid="templates">
        <div className="modal-head">
          <h2>Templates</h2>
          <button onClick={onClose}>Close</button>
        </div>
        {error && <p className="node-error">{error}</p>}
        {!templates && !error && <p className="muted">Loading…</p>}
        <div className="template-grid">
          {templates?.map((t) => (
            <button key={t.id} className="template-card" onClick={() => pick(t)} data-testid={`template-${t.id}`}>
              <span className="family">{t.family}</span>
              <b>{t.name}</b>
              <span className="desc">{t.description}</span>
              <span className="meta">
                {t.dataset.name} · {t.graph.nodes?.length ?? 0} layers · {String(t.config.epochs ?? "")} epochs
              </span>
            </button>
          ))}
        </div>
      </div>
    </div>
  );
}
