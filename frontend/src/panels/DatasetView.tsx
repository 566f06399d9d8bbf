// A dataset's fields (shape, dtype, role, classes) and a few samples; images are drawn as images.
import { useEffect, useRef } from "react";
import type { DatasetInfo } from "../api/client";

function ImageSample({ values }: { values: number[][] }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    const h = values.length;
    const w = values[0]?.length ?? 0;
    c.width = w;
    c.height = h;
    const ctx = c.getContext("2d");
    if (!ctx) return;
    const img = ctx.createImageData(w, h);
    values.flat().forEach((v, i) => {
      const g = Math.round(Math.max(0, Math.min(1, v)) * 255);
      img.data.set([g, g, g, 255], i * 4);
    });
    ctx.putImageData(img, 0, 0);
  }, [values]);
  return <canvas ref={ref} className="sample-image" />;
}

function preview(value: unknown, shape: number[]): React.ReactNode {
  if (shape.length === 3 && shape[0] === 1) return <ImageSample values={(value as number[][][])[0]} />;
  if (shape.length === 2 && shape[0] > 4 && shape[1] > 4) return <ImageSample values={value as number[][]} />;
  const flat = Array.isArray(value) ? (value as unknown[]).flat(3) : [value];
  const text = flat
    .slice(0, 8)
    .map((v) => (typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : String(v)))
    .join(", ");
  return <code>{flat.length > 8 ? `${text}, …` : text}</code>;
}

export function DatasetView({ dataset }: { dataset: DatasetInfo }) {
  const input = dataset.fields.find((f) => f.role === "input");
  const target = dataset.fields.find((f) => f.role === "target");
  const samples = input ? (dataset.samples[input.name] ?? []) : [];
  return (
    <div className="dataset-view" data-testid="dataset-view">
      <p className="doc">{dataset.doc}</p>
      <table className="table compact">
        <tbody>
          {dataset.fields.map((f) => (
            <tr key={f.name}>
              <td>
                <b>{f.name}</b>
              </td>
              <td>{f.role}</td>
              <td>[{f.shape.join(", ")}]</td>
              <td>{f.dtype}</td>
              <td className="muted">{f.classes ? f.classes.join(", ") : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {input && (
        <div className="samples">
          {samples.slice(0, 4).map((s, i) => {
            const t = target ? dataset.samples[target.name]?.[i] : undefined;
            const label = target?.classes && typeof t === "number" ? target.classes[t] : JSON.stringify(t);
            return (
              <div key={i} className="sample">
                {preview(s, input.shape)}
                {t !== undefined && <span className="muted small">{label}</span>}
              </div>
            );
          })}
        </div>
      )}
    </div>
  );
}
