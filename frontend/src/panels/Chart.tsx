// A small uPlot line chart that updates in place as new points arrive.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export type Line = { label: string; x: number[]; y: number[]; color: string; dash?: boolean };

const PALETTE = ["#6d8cff", "#30c48d", "#f5a524", "#ef5a6f", "#a36bff", "#22b8cf", "#ff8a3d", "#8bc34a"];
export const color = (i: number) => PALETTE[i % PALETTE.length];

/** uPlot wants one shared x array: merge the lines' x values and leave gaps (null) where a line has none. */
function align(lines: Line[]): uPlot.AlignedData {
  const xs = [...new Set(lines.flatMap((l) => l.x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = lines.map((l) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    l.x.forEach((x, i) => {
      const v = l.y[i];
      col[index.get(x)!] = Number.isFinite(v) ? v : null;
    });
    return col;
  });
  return [xs, ...ys] as uPlot.AlignedData;
}

export function Chart({ title, lines, testId }: { title: string; lines: Line[]; testId?: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const signature = lines.map((l) => `${l.label}|${l.color}|${l.dash}`).join(",");

  useEffect(() => {
    if (!host.current) return;
    const width = host.current.clientWidth || 320;
    const opts: uPlot.Options = {
      title,
      width,
      height: 170,
      scales: { x: { time: false } },
      axes: [
        { stroke: "#8a93a6", grid: { stroke: "#2a3142" }, ticks: { stroke: "#2a3142" } },
        { stroke: "#8a93a6", grid: { stroke: "#2a3142" }, ticks: { stroke: "#2a3142" }, size: 48 },
      ],
      legend: { show: true },
      series: [
        { label: "epoch" },
        ...lines.map((l) => ({
          label: l.label,
          stroke: l.color,
          width: 2,
          dash: l.dash ? [6, 4] : undefined,
          spanGaps: true,
          points: { show: l.x.length < 40 },
        })),
      ],
    };
    plot.current = new uPlot(opts, align(lines), host.current);
    const observer = new ResizeObserver(() => {
      if (host.current && plot.current) plot.current.setSize({ width: host.current.clientWidth, height: 170 });
    });
    observer.observe(host.current);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuilt only when the set of lines changes; new points go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [signature, title]);

  useEffect(() => {
    plot.current?.setData(align(lines));
  }, [lines]);

  const points = lines.reduce((n, l) => n + l.x.length, 0);
  return <div className="chart" ref={host} data-testid={testId} data-points={points} />;
}
