// Live charts of a run: the loss per batch and per epoch, and every metric for train and validation.
import { useMemo } from "react";
import type { Series } from "../stores/watchedRun";
import { Chart, type Line, color } from "./Chart";

/** One chart per training metric (loss first), each with its validation twin dashed; the loss chart also per batch. */
export function chartLines(series: Series): [string, Line[]][] {
  const names = Object.keys(series.metrics).filter((k) => !k.startsWith("val_"));
  names.sort((a, b) => (a === "loss" ? -1 : b === "loss" ? 1 : 0));
  if (!names.includes("loss") && series.batchX.length) names.unshift("loss");
  return names.map((name, i) => {
    const c = color(i);
    const lines: Line[] = [];
    if (name === "loss" && series.batchX.length) {
      lines.push({ label: "batch", x: series.batchX, y: series.batchLoss, color: c, faint: true });
    }
    if (series.metrics[name]) lines.push({ label: "train", x: series.epochs, y: series.metrics[name], color: c });
    const val = series.metrics[`val_${name}`];
    if (val) lines.push({ label: "validation", x: series.epochs, y: val, color: c, dash: true });
    return [name, lines];
  });
}

export function RunCharts({ series, live }: { series: Series; live: boolean }) {
  const charts = useMemo(() => chartLines(series), [series]);
  if (!charts.length) return live ? <div className="chart-placeholder muted">Waiting for the first batch…</div> : null;
  return (
    <div className="charts">
      {charts.map(([name, lines]) => (
        <Chart key={name} title={name.replace(/_/g, " ")} lines={lines} testId={`chart-${name}`} />
      ))}
    </div>
  );
}
