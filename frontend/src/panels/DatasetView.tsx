// A dataset's fields (shape, dtype, role, classes) and a few samples; images are drawn as images.
import { useEffect, useRef } from "react";
import type { DatasetInfo } from "../api/client";
import { Doc } from "../ui/Doc";
import "./data/data.css";

/** [H, W] or [1, H, W] with both sides 5..64: drawn as a grey-scale image. */
export function isImageShape(shape: (number | null)[]): boolean {
  const s = shape.length === 3 && shape[0] === 1 ? shape.slice(1) : shape;
  return s.length === 2 && s.every((d) => d !== null && d >= 5 && d <= 64);
}

export function ImageSample({ values, size = 44 }: { values: number[][]; size?: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    const h = values.length;
    const w = values[0]?.length ?? 0;
    c.width = w;
    c.height = h;
    const ctx = c.getContext("2d");
    if (!ctx || !w || !h) return;
    const flat = values.flat();
    const lo = Math.min(0, ...flat);
    const hi = Math.max(1, ...flat);
    const img = ctx.createImageData(w, h);
    flat.forEach((v, i) => {
      const g = Math.round(((v - lo) / (hi - lo)) * 255);
      img.data.set([g, g, g, 255], i * 4);
    });
    ctx.putImageData(img, 0, 0);
  }, [values]);
  return <canvas ref={ref} className="sample-image" style={{ width: size, height: size }} />;
}

function cell(value: unknown, shape: number[], classes: string[] | null | undefined): React.ReactNode {
  if (isImageShape(shape)) {
    return <ImageSample values={(shape.length === 3 ? (value as number[][][])[0] : value) as number[][]} />;
  }
  if (classes && typeof value === "number" && Number.isInteger(value)) return <span className="class-label">{classes[value] ?? value}</span>;
  const flat = Array.isArray(value) ? (value as unknown[]).flat(3) : [value];
  const text = flat
    .slice(0, 6)
    .map((v) => (typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : String(v)))
    .join(", ");
  return <code>{Array.isArray(value) ? `[${text}${flat.length > 6 ? ", …" : ""}]` : text}</code>;
}

export type TokenSample = { text?: string; tokens: string[]; ids?: number[]; cut?: number };

/** Texts with the tokens the recorded tokenizer makes of them: one chip per token, its id in the tooltip. */
export function TokenSamples({ samples, title = "Text samples and their tokens" }: { samples: TokenSample[]; title?: string }) {
  if (!samples.length) return null;
  return (
    <section className="token-samples" data-testid="token-samples">
      <h4>{title}</h4>
      {samples.map((s, i) => (
        <div key={i} className="token-sample">
          {s.text !== undefined && <p className="token-text">{s.text}</p>}
          <p className="tokens">
            {s.tokens.map((t, k) => (
              <span key={k} className={t === "[UNK]" ? "token unknown" : "token"} title={s.ids ? `id ${s.ids[k]}` : undefined}>
                {t}
              </span>
            ))}
            {!!s.cut && <span className="muted small"> +{s.cut} cut (past the length)</span>}
          </p>
        </div>
      ))}
    </section>
  );
}

export function DatasetView({ dataset }: { dataset: DatasetInfo }) {
  const count = Math.min(4, ...dataset.fields.map((f) => dataset.samples[f.name]?.length ?? 0));
  const images = dataset.fields.some((f) => f.role === "input" && isImageShape(f.shape));
  return (
    <div className="dataset-view" data-testid="dataset-view">
      <Doc text={dataset.doc} className="doc small" />
      <table className="table compact fields">
        <thead>
          <tr>
            <th>field</th>
            <th>role</th>
            <th>shape</th>
            <th>dtype</th>
          </tr>
        </thead>
        <tbody>
          {dataset.fields.map((f) => (
            <tr key={f.name} title={f.classes ? `classes: ${f.classes.join(", ")}` : undefined}>
              <td>
                <b>{f.name}</b>
              </td>
              <td className={f.role === "target" ? "role-target" : "role-input"}>{f.role}</td>
              <td className="mono">[{f.shape.join(", ")}]</td>
              <td className="mono">{f.dtype}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {dataset.fields.some((f) => f.classes) && (
        <p className="muted small classes">
          {dataset.fields
            .filter((f) => f.classes)
            .map((f) => `${f.name}: ${f.classes!.join(", ")}`)
            .join(" · ")}
        </p>
      )}
      {count > 0 &&
        (images ? (
          <div className="samples">
            {Array.from({ length: count }, (_, i) => (
              <div key={i} className="sample">
                {dataset.fields.map((f) => (
                  <div key={f.name}>{cell(dataset.samples[f.name][i], f.shape, f.classes)}</div>
                ))}
              </div>
            ))}
          </div>
        ) : (
          <table className="table compact samples-table">
            <thead>
              <tr>
                {dataset.fields.map((f) => (
                  <th key={f.name}>{f.name}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {Array.from({ length: count }, (_, i) => (
                <tr key={i}>
                  {dataset.fields.map((f) => (
                    <td key={f.name}>{cell(dataset.samples[f.name][i], f.shape, f.classes)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        ))}
      {Object.entries(dataset.tokens ?? {}).map(([field, rows]) => (
        <TokenSamples key={field} samples={rows.map((tokens) => ({ tokens }))} title={`${field} as words`} />
      ))}
    </div>
  );
}
