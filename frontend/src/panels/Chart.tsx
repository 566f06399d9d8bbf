// A small uPlot line chart that updates in place as new points arrive.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { cssVar, useTheme } from "../stores/theme";

export type Line = {
  label: string;
  x: number[];
  y: number[];
  color: string;
  dash?: boolean;
  /** A thin line without points, drawn under the others (per-batch values). */
  faint?: boolean;
};

const PALETTE = ["#6d8cff", "#30c48d", "#f5a524", "#ef5a6f", "#a36bff", "#22b8cf", "#ff8a3d", "#8bc34a"];
export const color = (i: number) => PALETTE[i % PALETTE.length];
const HEIGHT = 160;

/** uPlot wants one shared x array: merge the lines' x values and leave gaps (null) where a line has none. */
export function align(lines: Line[]): uPlot.AlignedData {
  const xs = [...new Set(lines.flatMap((l) => l.x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = lines.map((l) => {
    const col: (number | null)[] = Array.from({ length: xs.length }, () => null);
    l.x.forEach((x, i) => {
      const v = l.y[i];
      col[index.get(x)!] = Number.isFinite(v) ? v : null;
    });
    return col;
  });
  return [xs, ...ys] as uPlot.AlignedData;
}

/** Per-batch values too far apart to draw as a line: a short run's few samples (batch events come a few a second)
 * lie epochs apart, and a line between them cuts straight across the epochs like a glitch, so they are dots. */
export function sparse(line: Line): boolean {
  if (!line.faint) return false;
  const span = line.x.length ? line.x[line.x.length - 1] - line.x[0] : 0;
  return line.x.length < 2 * span; // fewer than two samples per epoch
}

/** The axes' look in the theme shown now (the text --muted, the grid lines --grid): read when a chart is built, and the
 * chart is built again when the theme changes (uPlot draws on a canvas, which CSS does not restyle). */
function axisStyle() {
  const grid = cssVar("--grid", "#232a3a");
  return { stroke: cssVar("--muted", "#8a93a6"), grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: "11px system-ui" };
}

export function Chart({ title, lines, testId, xLabel = "epoch" }: { title: string; lines: Line[]; testId?: string; xLabel?: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const theme = useTheme((s) => s.theme);
  const signature = lines.map((l) => `${l.label}|${l.color}|${l.dash}|${l.faint}|${sparse(l)}`).join(",");

  useEffect(() => {
    if (!host.current) return;
    const width = host.current.clientWidth || 320;
    const axis = axisStyle();
    const opts: uPlot.Options = {
      width,
      height: HEIGHT,
      scales: { x: { time: false } },
      // Whole epochs on the x axis even though batch points fall between them.
      axes: [
        { ...axis, label: xLabel, labelSize: 14, labelFont: "11px system-ui", size: 30, incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000] },
        { ...axis, size: 44 },
      ],
      legend: { show: true, live: false },
      cursor: { points: { size: 6 } },
      series: [
        { label: xLabel },
        ...lines.map((l) => {
          const dots = sparse(l);
          return {
            label: l.label,
            stroke: l.faint ? `${l.color}70` : l.color,
            width: l.faint ? 1 : 2,
            dash: l.dash ? [5, 4] : undefined,
            spanGaps: true,
            paths: dots ? () => null : undefined,
            points: { show: dots || (!l.faint && l.x.length < 30), size: dots ? 3 : 4 },
          };
        }),
      ],
    };
    plot.current = new uPlot(opts, align(lines), host.current);
    const observer = new ResizeObserver(() => {
      if (host.current && plot.current && host.current.clientWidth > 0) {
        plot.current.setSize({ width: host.current.clientWidth, height: HEIGHT });
      }
    });
    observer.observe(host.current);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuilt only when the set of lines (or the theme) changes; new points go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [signature, xLabel, theme]);

  useEffect(() => {
    plot.current?.setData(align(lines));
  }, [lines]);

  const points = lines.reduce((n, l) => n + l.x.length, 0);
  return (
    <div className="chart" data-testid={testId} data-points={points}>
      <div className="chart-title">{title}</div>
      <div ref={host} />
    </div>
  );
}
