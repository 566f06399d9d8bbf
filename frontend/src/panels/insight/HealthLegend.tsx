// The key to the health strips on the canvas nodes, and every flagged layer with its one-line explanation.
import { flagged, useHealth } from "../../stores/health";
import "../../canvas/health.css";

export function HealthLegend() {
  const at = useHealth((s) => s.at);
  const latest = useHealth((s) => s.latest);
  if (!at) return null;
  const problems = flagged(latest);
  return (
    <section className="health-legend" data-testid="health-legend">
      <div className="keys">
        <b>Layer health</b>
        <span className="muted small">
          epoch {at.epoch}, step {at.step}/{at.steps}
        </span>
        <span>
          <i className="key ok" />
          healthy
        </span>
        <span>
          <i className="key amber" />
          dead, vanishing or exploding
        </span>
        <span className="muted small" title="On each node: the sparkline is its gradient norm (log scale) at each probed step; hover a node for its activation mean and std, dead units and update/weight ratio">
          ∇ = gradient norm
        </span>
      </div>
      {problems.length > 0 && (
        <ul data-testid="health-problems">
          {problems.map(([id, h]) => (
            <li key={id}>
              <b className="mono">{id}</b> <span className="warn-text">{h.flag}</span>: {h.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
