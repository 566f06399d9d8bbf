// After training: test metrics, downloads of every export format, and a "try it" panel.
import { type ExportFormat, downloadExport, storedToken } from "../api/client";
import { notify } from "../stores/notice";
import { useWatchedRun } from "../stores/watchedRun";
import { Predict } from "./Predict";

const FORMATS: [ExportFormat, string, string][] = [
  ["onnx", "ONNX", "model.onnx with a dynamic batch axis, for ONNX Runtime and friends"],
  [
    "onnx-int8",
    "ONNX int8",
    "int8 ONNX (calibrated for CNNs, dynamic otherwise) when it is ≥ 1.3× faster with ≤ 1 point lost; " +
      "else the float model, and the export report says why",
  ],
  ["pytorch", "PyTorch code", "a Python file defining the model as an nn.Module"],
  ["torchscript", "TorchScript", "a scripted model: torch.jit.load, no Python class needed"],
  ["weights", "Weights", "the trained state_dict (safetensors)"],
  ["bundle", "Bundle (.zip)", "everything: graph, config, weights, code, ONNX and metrics"],
];

function metricValue(v: number): string {
  if (!Number.isFinite(v)) return "—";
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(4);
}

export function Results({ runId }: { runId: string }) {
  const test = useWatchedRun((s) => s.testMetrics);
  const graph = useWatchedRun((s) => s.info?.graph);
  // A GAN's model is its generator: its samples grid is what there is to try (docs/training-config.md#gans).
  const gan = useWatchedRun((s) => s.info?.config?.kind === "gan");
  return (
    <div className="results" data-testid="results">
      {test && Object.keys(test).length > 0 && (
        <>
          <h3>Test metrics</h3>
          <div className="metric-tiles" data-testid="test-metrics">
            {Object.entries(test).map(([k, v]) => (
              <div key={k} className="tile">
                <span>{k.replace(/^test_/, "").replace(/_/g, " ")}</span>
                <b>{metricValue(v)}</b>
              </div>
            ))}
          </div>
        </>
      )}
      <h3>Download</h3>
      <div className="downloads">
        {FORMATS.map(([format, label, hint]) => (
          <a
            key={format}
            className="button"
            href={`/api/runs/${runId}/export?format=${format}`}
            download
            onClick={(e) => {
              if (!storedToken()) return; // a plain link: the browser shows the download's progress
              e.preventDefault();
              notify(`Preparing ${label}…`, "info");
              downloadExport(runId, format).catch((err: Error) => notify(err.message));
            }}
            title={hint}
            data-testid={`download-${format}`}
          >
            ↓ {label}
          </a>
        ))}
      </div>
      {graph && !gan && <Predict key={runId} runId={runId} graph={graph} />}
    </div>
  );
}
