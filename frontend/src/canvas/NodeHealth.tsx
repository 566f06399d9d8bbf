// A layer's health while its run trains: a strip under the node, green or amber, with a sparkline of its gradient
// norm (log scale) and the flag's one-line explanation on hover. Drawn only for nodes the watched run reports.
import { memo } from "react";
import { type NodeHealth as Health, short, useHealth } from "../stores/health";
import "./health.css";

const W = 54;
const H = 12;

export function sparkPoints(values: (number | null)[], width = W, height = H): string {
  const known = values.filter((v): v is number => v !== null);
  if (known.length < 2) return "";
  const low = Math.min(...known);
  const span = Math.max(...known) - low || 1;
  const dx = width / Math.max(1, values.length - 1);
  return values
    .map((v, i) => (v === null ? null : `${(i * dx).toFixed(1)},${(height - 1 - ((v - low) / span) * (height - 2)).toFixed(1)}`))
    .filter((p) => p !== null)
    .join(" ");
}

export function describe(h: Health): string {
  const lines = [
    h.message ? `${h.flag}: ${h.message}` : "healthy",
    `activation mean ${short(h.mean)}, std ${short(h.std)}`,
    h.dead !== null && h.dead !== undefined ? `dead units ${(h.dead * 100).toFixed(0)}%` : null,
    `gradient norm ${short(h.grad_norm)}`,
    h.update_ratio !== null && h.update_ratio !== undefined ? `update/weight ratio ${short(h.update_ratio)}` : null,
  ];
  return lines.filter(Boolean).join("\n");
}

function NodeHealthView({ id }: { id: string }) {
  const health = useHealth((s) => s.latest[id]);
  const trail = useHealth((s) => s.trails[id]);
  if (!health) return null;
  const points = sparkPoints(trail ?? []);
  const dead = health.dead !== null && health.dead !== undefined ? ` · dead ${(health.dead * 100).toFixed(0)}%` : "";
  return (
    <div className={`node-health ${health.flag ? "flagged" : "healthy"}`} data-testid={`health-${id}`} data-flag={health.flag ?? "ok"} title={describe(health)}>
      <svg width={W} height={H} className="spark" aria-hidden="true">
        {points && <polyline points={points} />}
      </svg>
      <span className="health-text">{health.flag ? health.flag : `∇ ${short(health.grad_norm)}${dead}`}</span>
    </div>
  );
}

export const NodeHealth = memo(NodeHealthView);
