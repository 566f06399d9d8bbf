// After training: test metrics, downloads of every export format, and a "try it" panel.
import { useEffect, useState } from "react";
import { type Schemas, api } from "../api/client";
import { useRun } from "../stores/run";
import { Predict } from "./Predict";

const FORMATS: [string, string][] = [
  ["onnx", "ONNX"],
  ["onnx-int8", "ONNX int8"],
  ["pytorch", "PyTorch code"],
  ["torchscript", "TorchScript"],
  ["weights", "Weights"],
  ["bundle", "Bundle (.zip)"],
];

export function Results({ runId }: { runId: string }) {
  const test = useRun((s) => s.testMetrics);
  const [graph, setGraph] = useState<Schemas["Graph"] | null>(null);
  useEffect(() => {
    api<{ graph: Schemas["Graph"] }>(`/api/runs/${runId}`).then((r) => setGraph(r.graph), () => setGraph(null));
  }, [runId]);
  return (
    <div className="results" data-testid="results">
      {test && Object.keys(test).length > 0 && (
        <>
          <h3>Test metrics</h3>
          <div className="metric-tiles" data-testid="test-metrics">
            {Object.entries(test).map(([k, v]) => (
              <div key={k} className="tile">
                <span>{k.replace(/^test_/, "")}</span>
                <b>{typeof v === "number" ? v.toFixed(4) : "—"}</b>
              </div>
            ))}
          </div>
        </>
      )}
      <h3>Download</h3>
      <div className="downloads">
        {FORMATS.map(([format, label]) => (
          <a key={format} className="button" href={`/api/runs/${runId}/export?format=${format}`} download data-testid={`download-${format}`}>
            {label}
          </a>
        ))}
      </div>
      {graph && <Predict runId={runId} graph={graph} />}
    </div>
  );
}
