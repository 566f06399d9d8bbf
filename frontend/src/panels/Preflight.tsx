// Before Train: the server's estimates for the chosen batch size and optimizer (the rule it refuses runs by), and the
// warnings about the run (an Output that does not fit the dataset, a model past the limits). Warnings never block
// Train: the server has the last word.
import { useGraph } from "../stores/graph";
import { useOverlay } from "../stores/overlay";
import "./preflight.css";

/** Decimal units, as the server's limits are written (NETCANVAS_MAX_TRAINING_MEMORY_MB is in 10^6 bytes). */
export function formatBytes(bytes: number): string {
  const units: [number, string][] = [[1e12, "TB"], [1e9, "GB"], [1e6, "MB"], [1e3, "kB"]];
  for (const [size, unit] of units) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toPrecision(3)} ${unit}`;
    }
  }
  return `${bytes} B`;
}

export function Preflight() {
  const estimates = useGraph((s) => s.validation?.estimates ?? null);
  const params = useGraph((s) => s.validation?.total_params ?? 0);
  const warnings = useGraph((s) => s.validation?.warnings?.length ?? 0);
  const first = useGraph((s) => s.validation?.warnings?.[0]?.message ?? null);
  if (!estimates) return null;
  const share = estimates.training_bytes / estimates.training_limit_bytes;
  const tooBig = share > 1 || params > estimates.max_params;
  return (
    <div className={`preflight${tooBig ? " over" : ""}`} data-testid="preflight">
      <div className="preflight-row">
        <span className="muted">Parameters</span>
        <span data-testid="preflight-params">
          {params.toLocaleString("en-US")} · {formatBytes(estimates.parameter_bytes)}
        </span>
      </div>
      <div className="preflight-row" title="Weights, gradients, the optimizer's state, and a batch's activations and their gradients">
        <span className="muted">Training memory</span>
        <span data-testid="preflight-memory">
          ≈ {formatBytes(estimates.training_bytes)} at batch {estimates.batch_size} with {estimates.optimizer}
        </span>
      </div>
      <div className="preflight-meter" aria-hidden="true">
        <span style={{ width: `${Math.min(100, share * 100)}%` }} />
      </div>
      <div className="preflight-limit muted small">
        {Math.round(share * 100)} % of the server's limit of {(estimates.training_limit_bytes / 1e6).toLocaleString("en-US")} MB
      </div>
      {warnings > 0 && (
        <p className="hint warn" data-testid="preflight-warning">
          <span title={first ?? undefined}>▲ {warnings === 1 ? first : `${warnings} warnings, the first: ${first}`}</span>
          <span className="muted"> (a warning: Train is not blocked)</span>{" "}
          <button className="link" onClick={() => useOverlay.getState().setIssuesOpen(true)} data-testid="preflight-show-issues">
            Show the issues
          </button>
        </p>
      )}
    </div>
  );
}
