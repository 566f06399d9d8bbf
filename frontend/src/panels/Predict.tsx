// "Try it": send inputs to the predict API. Image inputs are drawn on a grid, tabular ones typed in a form.
import { useMemo, useState } from "react";
import { type Schemas, api } from "../api/client";

type InputSpec = { id: string; shape: (number | null)[]; dtype: string };
type Prediction = {
  outputs: Record<string, unknown>;
  classes?: Record<string, { label: string; probability: number }[][] | { label: string; probability: number }[]>;
};

function isImage(shape: (number | null)[]): boolean {
  const s = shape.length === 3 && shape[0] === 1 ? shape.slice(1) : shape;
  return s.length === 2 && s.every((d) => d !== null && d >= 5 && d <= 64);
}

function zeros(shape: (number | null)[]): unknown {
  if (shape.length === 0) return 0;
  return Array.from({ length: shape[0] ?? 8 }, () => zeros(shape.slice(1)));
}

function DrawGrid({ shape, value, onChange }: { shape: number[]; value: number[][]; onChange: (v: number[][]) => void }) {
  const [down, setDown] = useState(false);
  const paint = (r: number, c: number) => {
    const next = value.map((row) => [...row]);
    next[r][c] = 1;
    for (const [dr, dc] of [[0, 1], [1, 0], [0, -1], [-1, 0]]) {
      const rr = r + dr;
      const cc = c + dc;
      if (rr >= 0 && rr < shape[0] && cc >= 0 && cc < shape[1]) next[rr][cc] = Math.max(next[rr][cc], 0.5);
    }
    onChange(next);
  };
  return (
    <div
      className="draw-grid"
      style={{ gridTemplateColumns: `repeat(${shape[1]}, 1fr)` }}
      onMouseLeave={() => setDown(false)}
      onMouseUp={() => setDown(false)}
      data-testid="draw-grid"
    >
      {value.flatMap((row, r) =>
        row.map((v, c) => (
          <div
            key={`${r}-${c}`}
            className="cell"
            style={{ background: `rgba(230, 236, 255, ${v})` }}
            onMouseDown={() => {
              setDown(true);
              paint(r, c);
            }}
            onMouseEnter={() => down && paint(r, c)}
            data-testid={`cell-${r}-${c}`}
          />
        )),
      )}
    </div>
  );
}

export function Predict({ runId, graph }: { runId: string; graph: Schemas["Graph"] }) {
  const inputs: InputSpec[] = useMemo(
    () =>
      (graph.nodes ?? [])
        .filter((n) => n.type === "Input")
        .map((n) => ({
          id: n.id,
          shape: ((n.params?.shape as (number | null)[]) ?? [1]).map((d) => d),
          dtype: (n.params?.dtype as string) ?? "float32",
        })),
    [graph],
  );
  const [values, setValues] = useState<Record<string, unknown>>(() =>
    Object.fromEntries(inputs.map((i) => [i.id, zeros(i.shape)])),
  );
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [result, setResult] = useState<Prediction | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = async () => {
    setError(null);
    try {
      const payload: Record<string, unknown> = {};
      for (const i of inputs) payload[i.id] = texts[i.id] !== undefined ? JSON.parse(texts[i.id]) : values[i.id];
      setResult(await api<Prediction>(`/api/runs/${runId}/predict`, { method: "POST", json: { inputs: payload } }));
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <div className="predict" data-testid="predict">
      <h3>Try it</h3>
      {inputs.map((i) => {
        const image = isImage(i.shape);
        const hw = (i.shape.length === 3 ? i.shape.slice(1) : i.shape) as number[];
        const flat = i.shape.length === 1 && i.shape[0] !== null && i.shape[0] <= 64 && i.dtype === "float32";
        return (
          <div key={i.id} className="predict-input">
            <span className="field-name">
              {i.id} [{i.shape.map((d) => d ?? "?").join(", ")}] {i.dtype}
            </span>
            {image ? (
              <>
                <DrawGrid
                  shape={hw}
                  value={(i.shape.length === 3 ? (values[i.id] as number[][][])[0] : values[i.id]) as number[][]}
                  onChange={(v) => setValues({ ...values, [i.id]: i.shape.length === 3 ? [v] : v })}
                />
                <button onClick={() => setValues({ ...values, [i.id]: zeros(i.shape) })}>Clear</button>
              </>
            ) : flat ? (
              <div className="tabular">
                {(values[i.id] as number[]).map((v, k) => (
                  <input
                    key={k}
                    type="number"
                    step="any"
                    value={v}
                    data-testid={`predict-${i.id}-${k}`}
                    onChange={(e) => {
                      const next = [...(values[i.id] as number[])];
                      next[k] = Number(e.target.value);
                      setValues({ ...values, [i.id]: next });
                    }}
                  />
                ))}
              </div>
            ) : (
              <textarea
                rows={3}
                value={texts[i.id] ?? JSON.stringify(values[i.id])}
                onChange={(e) => setTexts({ ...texts, [i.id]: e.target.value })}
                data-testid={`predict-${i.id}-json`}
              />
            )}
          </div>
        );
      })}
      <button className="primary" onClick={() => void run()} data-testid="btn-predict">
        Predict
      </button>
      {error && <pre className="node-error">{error}</pre>}
      {result && (
        <div className="prediction" data-testid="prediction">
          {Object.entries(result.classes ?? {}).map(([out, ranked]) => {
            const list = (Array.isArray(ranked[0]) ? ranked[0] : ranked) as { label: string; probability: number }[];
            return (
              <div key={out}>
                <b>{out}</b>
                {list.slice(0, 5).map((c) => (
                  <div key={c.label} className="prob-row">
                    <span>{c.label}</span>
                    <div className="prob-bar">
                      <div style={{ width: `${(c.probability * 100).toFixed(1)}%` }} />
                    </div>
                    <span>{(c.probability * 100).toFixed(1)}%</span>
                  </div>
                ))}
              </div>
            );
          })}
          {!result.classes && <pre>{JSON.stringify(result.outputs, null, 1).slice(0, 600)}</pre>}
        </div>
      )}
    </div>
  );
}
