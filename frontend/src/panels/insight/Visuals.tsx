// Drawing blocks of the evaluation and explanation views: a heat map grid, samples as a person reads them
// (images, table rows named by column, tokens) with an optional attribution on top, and small SVG plots.
import { useEffect, useRef } from "react";
import type { Schemas } from "../../api/client";
import { color } from "../Chart";

export type SampleView = Schemas["SampleView"];
type Nested = number | Nested[];

/** Every number of a nested array, in order. */
export function flat(value: unknown): number[] {
  return Array.isArray(value) ? (value as Nested[]).flatMap((v) => flat(v)) : typeof value === "number" ? [value] : [];
}

function maxAbs(values: number[]): number {
  return values.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
}

/** Red for positive, blue for negative, as opaque as the value is large against `scale`. */
export function signedColor(v: number, scale: number): string {
  const a = Math.min(1, Math.abs(v) / scale);
  return v >= 0 ? `rgba(239, 90, 111, ${a.toFixed(3)})` : `rgba(109, 140, 255, ${a.toFixed(3)})`;
}

export function HeatGrid({
  matrix,
  rows,
  cols,
  text,
  signed = false,
  onCell,
  selected,
  testId,
  rowTitle,
  colTitle,
}: {
  matrix: number[][];
  rows: string[];
  cols: string[];
  text?: (v: number, r: number, c: number) => string;
  signed?: boolean;
  onCell?: (r: number, c: number) => void;
  selected?: [number, number] | null;
  testId: string;
  rowTitle?: string;
  colTitle?: string;
}) {
  const scale = signed ? maxAbs(matrix.flat()) : Math.max(...matrix.flat(), 1e-12);
  const dense = cols.length > 14;
  return (
    <div className="heat-wrap">
      {colTitle && <div className="heat-col-title muted small">{colTitle} →</div>}
      <table className={`heat ${dense ? "dense" : ""}`} data-testid={testId}>
        <thead>
          <tr>
            <th className="muted small">{rowTitle ? `${rowTitle} ↓` : ""}</th>
            {cols.map((c, i) => (
              <th key={i} title={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {matrix.map((row, r) => (
            <tr key={r}>
              <th title={rows[r]}>{rows[r]}</th>
              {row.map((v, c) => (
                <td
                  key={c}
                  className={`${onCell ? "clickable" : ""} ${selected && selected[0] === r && selected[1] === c ? "selected" : ""}`}
                  style={{ background: signed ? signedColor(v, scale) : `rgba(109, 140, 255, ${(v / scale).toFixed(3)})` }}
                  onClick={onCell ? () => onCell(r, c) : undefined}
                  title={`${rows[r]} / ${cols[c]}: ${v}`}
                  data-testid={`${testId}-${r}-${c}`}
                >
                  {text ? text(v, r, c) : ""}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** An image [C, H, W] or [H, W] in grey, with an attribution of the same shape drawn over it. */
export function ImageCanvas({ values, overlay, size = 144, testId }: { values: unknown; overlay?: unknown; size?: number; testId?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const planes = (Array.isArray((values as Nested[][])[0]?.[0]) ? values : [values]) as number[][][];
  const h = planes[0]?.length ?? 0;
  const w = planes[0]?.[0]?.length ?? 0;
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext("2d");
    if (!canvas || !ctx || !h || !w) return;
    const cell = size / Math.max(h, w);
    const pixels = flat(values);
    const lo = Math.min(...pixels);
    const hi = Math.max(...pixels);
    const heat = overlay === undefined ? null : flat(overlay);
    const perPixel = heat ? heat.length / (h * w) : 1;
    const scale = heat ? maxAbs(heat) : 1;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const g = planes.reduce((s, p) => s + p[r][c], 0) / planes.length;
        const grey = Math.round(((g - lo) / (hi - lo || 1)) * (heat ? 150 : 235));
        ctx.fillStyle = `rgb(${grey}, ${grey}, ${grey})`;
        ctx.fillRect(c * cell, r * cell, Math.ceil(cell), Math.ceil(cell));
        if (heat) {
          let v = 0;
          for (let k = 0; k < perPixel; k++) v += heat[k * h * w + r * w + c];
          ctx.fillStyle = signedColor(v, scale);
          ctx.fillRect(c * cell, r * cell, Math.ceil(cell), Math.ceil(cell));
        }
      }
    }
  }, [values, overlay, planes, h, w, size]);
  const cell = size / Math.max(h || 1, w || 1);
  return <canvas ref={ref} width={Math.round(w * cell)} height={Math.round(h * cell)} className="image-canvas" data-testid={testId} />;
}

/** Signed horizontal bars, one per named feature, largest magnitude first. */
export function SignedBars({ names, values, raw, testId }: { names: string[]; values: number[]; raw?: number[]; testId: string }) {
  const scale = maxAbs(values);
  const order = values.map((_, i) => i).sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]));
  return (
    <div className="signed-bars" data-testid={testId}>
      {order.map((i) => (
        <div key={i} className="signed-bar" data-testid={`${testId}-bar`}>
          <span className="name" title={names[i]}>
            {names[i]}
            {raw ? <span className="muted"> = {fmt(raw[i])}</span> : null}
          </span>
          <span className="track">
            <span
              className={values[i] >= 0 ? "pos" : "neg"}
              style={{ width: `${((Math.abs(values[i]) / scale) * 50).toFixed(1)}%`, [values[i] >= 0 ? "left" : "right"]: "50%" }}
            />
          </span>
          <span className="value">{values[i] >= 0 ? "+" : ""}{fmt(values[i])}</span>
        </div>
      ))}
    </div>
  );
}

export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.001 || a >= 10000)) return v.toExponential(2);
  return v.toFixed(a >= 100 ? 1 : 3);
}

/** One input of one sample, drawn for a person; `attribution` (shaped like the input) colours it. */
export function Sample({ view, attribution, testId }: { view: SampleView; attribution?: unknown; testId: string }) {
  if (view.kind === "image") {
    if (attribution === undefined) return <ImageCanvas values={view.values} size={72} testId={testId} />;
    return (
      <div className="image-pair">
        <ImageCanvas values={view.values} size={192} />
        <ImageCanvas values={view.values} overlay={attribution} size={192} testId={testId} />
      </div>
    );
  }
  if (view.kind === "text") {
    const tokens = view.tokens ?? [];
    const ids = view.ids ?? [];
    const heat = attribution === undefined ? null : flat(attribution);
    const scale = heat ? maxAbs(heat) : 1;
    const last = ids.reduce((m, id, i) => (id !== 0 ? i : m), -1);
    return (
      <div className="tokens" data-testid={testId}>
        {tokens.slice(0, Math.max(last + 1, 1)).map((t, i) => (
          <span
            key={i}
            className="token"
            style={heat ? { background: signedColor(heat[i], scale) } : undefined}
            title={heat ? `${t}: ${fmt(heat[i])}` : t}
          >
            {t}
          </span>
        ))}
      </div>
    );
  }
  if (view.kind === "table") {
    const names = view.features ?? [];
    const values = flat(view.values);
    if (attribution !== undefined) return <SignedBars names={names} values={flat(attribution)} raw={values} testId={testId} />;
    return (
      <table className="sample-row" data-testid={testId}>
        <tbody>
          {names.map((n, i) => (
            <tr key={i}>
              <th>{n}</th>
              <td>{fmt(values[i])}</td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  const values = flat(view.values);
  if (attribution !== undefined) {
    return <SignedBars names={values.map((_, i) => `[${i}]`)} values={flat(attribution)} raw={values} testId={testId} />;
  }
  return (
    <code className="small" data-testid={testId}>
      {values.slice(0, 24).map(fmt).join(", ")}
      {values.length > 24 ? " …" : ""}
    </code>
  );
}

export type Series = { label: string; x: number[]; y: number[] };

/** A square SVG plot of lines (or points), both axes given. */
export function Plot({
  series,
  xLabel,
  yLabel,
  testId,
  points = false,
  diagonal = false,
  range,
}: {
  series: Series[];
  xLabel: string;
  yLabel: string;
  testId: string;
  points?: boolean;
  diagonal?: boolean;
  range?: [number, number];
}) {
  const size = 220;
  const pad = 28;
  const all = series.flatMap((s) => [...s.x, ...s.y]);
  const [lo, hi] = range ?? [Math.min(...all), Math.max(...all)];
  const span = hi - lo || 1;
  const px = (v: number) => pad + ((v - lo) / span) * (size - pad - 6);
  const py = (v: number) => size - pad - ((v - lo) / span) * (size - pad - 6);
  return (
    <svg className="plot" width={size} height={size} data-testid={testId}>
      <rect x={pad} y={6} width={size - pad - 6} height={size - pad - 6} className="frame" />
      {diagonal && <line x1={px(lo)} y1={py(lo)} x2={px(hi)} y2={py(hi)} className="diagonal" />}
      {series.map((s, i) =>
        points ? (
          <g key={s.label} fill={color(i)}>
            {s.x.map((x, k) => (
              <circle key={k} cx={px(x)} cy={py(s.y[k])} r={1.8} opacity={0.7} />
            ))}
          </g>
        ) : (
          <polyline key={s.label} fill="none" stroke={color(i)} strokeWidth={1.5} points={s.x.map((x, k) => `${px(x)},${py(s.y[k])}`).join(" ")} />
        ),
      )}
      <text x={size / 2} y={size - 4} className="axis-label">
        {xLabel}
      </text>
      <text x={10} y={size / 2} className="axis-label" transform={`rotate(-90 10 ${size / 2})`}>
        {yLabel}
      </text>
      <text x={pad} y={size - pad + 12} className="tick">
        {fmt(lo)}
      </text>
      <text x={size - 6} y={size - pad + 12} className="tick end">
        {fmt(hi)}
      </text>
    </svg>
  );
}

/** Bars of a histogram over `edges`. */
export function Histogram({ counts, edges, label, testId }: { counts: number[]; edges: number[]; label: string; testId: string }) {
  const w = 260;
  const h = 140;
  const top = Math.max(...counts, 1);
  const bar = w / counts.length;
  return (
    <svg className="plot" width={w} height={h + 30} data-testid={testId}>
      {counts.map((c, i) => (
        <rect key={i} x={i * bar} y={h - (c / top) * h} width={Math.max(1, bar - 1)} height={(c / top) * h} fill={color(0)}>
          <title>{`${fmt(edges[i])} to ${fmt(edges[i + 1])}: ${c}`}</title>
        </rect>
      ))}
      <text x={0} y={h + 12} className="tick">
        {fmt(edges[0])}
      </text>
      <text x={w} y={h + 12} className="tick end">
        {fmt(edges[edges.length - 1])}
      </text>
      <text x={w / 2} y={h + 26} className="axis-label">
        {label}
      </text>
    </svg>
  );
}
