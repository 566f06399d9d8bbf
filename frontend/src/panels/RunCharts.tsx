// Live charts of a run: the loss per batch and per epoch, and every metric for train and validation.
import { useMemo } from "react";
import type { Series } from "../stores/run";
import { Chart, type Line, color } from "./Chart";

export function RunCharts({ series }: { series: Series }) {
  const { loss, metrics } = useMemo(() => {
    const loss: Line[] = [];
    if (series.batchX.length) loss.push({ label: "batch loss", x: series.batchX, y: series.batchLoss, color: "#3d4a66" });
    const names = Object.keys(series.metrics).filter((k) => !k.startsWith("val_"));
    const charts: Record<string, Line[]> = {};
    names.forEach((name, i) => {
      const lines: Line[] = [{ label: name, x: series.epochs, y: series.metrics[name], color: color(i) }];
      const val = series.metrics[`val_${name}`];
      if (val) lines.push({ label: `val_${name}`, x: series.epochs, y: val, color: color(i), dash: true });
      if (name.endsWith("loss")) loss.push(...lines);
      else charts[name] = lines;
    });
    return { loss, metrics: charts };
  }, [series]);
  return (
    <div className="charts">
      <Chart title="loss" lines={loss} testId="chart-loss" />
      {Object.entries(metrics).map(([name, lines]) => (
        <Chart key={name} title={name} lines={lines} testId={`chart-${name}`} />
      ))}
    </div>
  );
}
