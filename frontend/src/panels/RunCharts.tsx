// Live charts of a run: the loss per batch and per epoch, and every metric for train and validation.
import { useMemo } from "react";
import type { Series } from "../stores/watchedRun";
import { Chart, type Line, color } from "./Chart";

/** One chart per training metric (loss first), each with its validation twin dashed; the loss chart also per batch. */
export function chartLines(series: Series): [string, Line[]][] {
  if (series.metrics.g_loss && series.metrics.d_loss) return ganLines(series);
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

/** A GAN (docs/training-config.md#gans): the generator's and the discriminator's losses on one chart (the batch
 * line is the generator's), then the discriminator's scores of real and generated samples. */
function ganLines(series: Series): [string, Line[]][] {
  const losses: Line[] = [];
  if (series.batchX.length) losses.push({ label: "generator batch", x: series.batchX, y: series.batchLoss, color: color(0), faint: true });
  losses.push({ label: "generator", x: series.epochs, y: series.metrics.g_loss, color: color(0) });
  losses.push({ label: "discriminator", x: series.epochs, y: series.metrics.d_loss, color: color(1) });
  const charts: [string, Line[]][] = [["losses", losses]];
  const scores: Line[] = [];
  for (const [i, name] of ["d_real", "d_fake"].entries()) {
    const label = name === "d_real" ? "real" : "generated";
    if (series.metrics[name]) scores.push({ label, x: series.epochs, y: series.metrics[name], color: color(i + 2) });
    const val = series.metrics[`val_${name}`];
    if (val) scores.push({ label: `${label} (validation)`, x: series.epochs, y: val, color: color(i + 2), dash: true });
  }
  if (scores.length) charts.push(["discriminator scores", scores]);
  const accuracy = series.metrics.d_accuracy;
  if (accuracy) {
    const lines: Line[] = [{ label: "train", x: series.epochs, y: accuracy, color: color(4) }];
    const val = series.metrics.val_d_accuracy;
    if (val) lines.push({ label: "validation", x: series.epochs, y: val, color: color(4), dash: true });
    charts.push(["discriminator accuracy", lines]);
  }
  return charts;
}

export function RunCharts({ series, live }: { series: Series; live: boolean }) {
  const charts = useMemo(() => chartLines(series), [series]);
  if (!charts.length) return live ? <div className="chart-placeholder muted">Waiting for the first batch…</div> : null;
  return (
    <div className="charts">
      {charts.map(([name, lines]) => (
        <Chart key={name} title={name.replace(/_/g, " ")} lines={lines} testId={`chart-${name.replace(/ /g, "-")}`} />
      ))}
    </div>
  );
}
