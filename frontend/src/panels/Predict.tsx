// "Try it": send inputs to the predict API. Image inputs are drawn on a grid, tabular ones typed in a form, others
// edited as JSON; any input can be filled from one of the dataset's samples. Shows class probabilities.
import { useEffect, useMemo, useRef, useState } from "react";
import { type GraphJSON, type Schemas, client, ok } from "../api/client";
import { useCatalog } from "../stores/catalog";
import { shapeParam, strParam } from "../lib/params";
import { useWatchedRun } from "../stores/watchedRun";
import { ImageSample, isImageShape } from "./DatasetView";
import { RowPredict } from "./RowPredict";

type InputSpec = { id: string; shape: (number | null)[]; dtype: string; field: string | null };
type Ranked = { label: string; probability: number }[];
type Prediction = Schemas["PredictResponse"];

function zeros(shape: (number | null)[]): unknown {
  if (shape.length === 0) return 0;
  return Array.from({ length: shape[0] ?? 8 }, () => zeros(shape.slice(1)));
}

/** The 2-D plane of an image value ([H, W] or [1, H, W]). */
function plane(value: unknown, shape: (number | null)[]): number[][] {
  return (shape.length === 3 ? (value as number[][][])[0] : value) as number[][];
}

function DrawGrid({ value, onChange }: { value: number[][]; onChange: (v: number[][]) => void }) {
  const [down, setDown] = useState(false);
  const h = value.length;
  const w = value[0]?.length ?? 0;
  const paint = (r: number, c: number) => {
    const next = value.map((row) => [...row]);
    next[r][c] = 1;
    for (const [dr, dc] of [[0, 1], [1, 0], [0, -1], [-1, 0]]) {
      const rr = r + dr;
      const cc = c + dc;
      if (rr >= 0 && rr < h && cc >= 0 && cc < w) next[rr][cc] = Math.max(next[rr][cc], 0.5);
    }
    onChange(next);
  };
  return (
    <div
      className="draw-grid"
      style={{ gridTemplateColumns: `repeat(${w}, 1fr)`, width: Math.min(200, w * 22) }}
      onPointerLeave={() => setDown(false)}
      onPointerUp={() => setDown(false)}
      data-testid="draw-grid"
    >
      {value.flatMap((row, r) =>
        row.map((v, c) => (
          <div
            key={`${r}-${c}`}
            className="cell"
            style={{ background: `rgba(230, 236, 255, ${Math.max(0, Math.min(1, v))})` }}
            onPointerDown={(e) => {
              e.preventDefault();
              setDown(true);
              paint(r, c);
            }}
            onPointerEnter={() => down && paint(r, c)}
            data-testid={`cell-${r}-${c}`}
          />
        )),
      )}
    </div>
  );
}

/** What a prediction answered (each Output drawn as its kind of value), or why it failed. */
export function PredictionView({ result, error }: { result: Prediction | null; error: string | null }) {
  // Each new answer is scrolled into view: below a drawing grid it would otherwise appear below the fold.
  const shown = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (result || error) shown.current?.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }, [result, error]);
  return (
    <div ref={shown}>
      {error && <pre className="node-error">{error}</pre>}
      {result && (
        <div className="prediction" data-testid="prediction">
          {Object.entries(result.outputs).map(([name, value]) => (
            <OutputView key={name} name={name} value={value} ranked={result.classes?.[name]} />
          ))}
        </div>
      )}
    </div>
  );
}

export function OutputView({ name, value, ranked }: { name: string; value: unknown; ranked?: Ranked | Ranked[] }) {
  if (ranked) {
    const list = [...((Array.isArray(ranked[0]) ? ranked[0] : ranked) as Ranked)].sort((a, b) => b.probability - a.probability);
    return (
      <div className="output-result" data-testid={`prediction-${name}`}>
        <div className="output-name">
          {name} <span className="muted">→ {list[0]?.label}</span>
        </div>
        {list.slice(0, 5).map((c, i) => (
          <div key={c.label} className={`prob-row${i === 0 ? " top" : ""}`}>
            <span>{c.label}</span>
            <div className="prob-bar">
              <div style={{ width: `${(c.probability * 100).toFixed(1)}%` }} />
            </div>
            <span>{(c.probability * 100).toFixed(1)}%</span>
          </div>
        ))}
      </div>
    );
  }
  const dims: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) dims.push(v.length);
  if (isImageShape(dims)) {
    return (
      <div className="output-result" data-testid={`prediction-${name}`}>
        <div className="output-name">{name}</div>
        <ImageSample values={plane(value, dims)} size={96} />
      </div>
    );
  }
  const flat = Array.isArray(value) ? (value as unknown[]).flat(4) : [value];
  return (
    <div className="output-result" data-testid={`prediction-${name}`}>
      <div className="output-name">{name}</div>
      <code className="values">
        {flat
          .slice(0, 24)
          .map((v) => (typeof v === "number" ? Number(v.toPrecision(4)) : String(v)))
          .join(", ")}
        {flat.length > 24 ? ", …" : ""}
      </code>
    </div>
  );
}

/** The first Input's shape ([] when there is none). */
function inputShape(graph: GraphJSON): (number | null)[] {
  const input = (graph.nodes ?? []).find((n) => n.type === "Input");
  return input ? shapeParam(input, "shape", []) : [];
}

export function Predict({ runId, graph }: { runId: string; graph: GraphJSON }) {
  const upload = useWatchedRun((s) => s.info?.dataset as { id?: string; kind?: string } | undefined);
  // a run on an uploaded table or text: one row typed in the file's own terms; images are drawn below
  if (upload?.id && !isImageShape(inputShape(graph))) {
    return <RowPredict runId={runId} graph={graph} dataset={upload as { id: string }} />;
  }
  return <TensorPredict runId={runId} graph={graph} />;
}

function TensorPredict({ runId, graph }: { runId: string; graph: GraphJSON }) {
  const datasetName = useWatchedRun((s) => s.info?.dataset.name);
  const dataset = useCatalog((s) => s.catalog?.datasets.find((d) => d.name === datasetName));
  const inputs: InputSpec[] = useMemo(() => {
    const nodes = (graph.nodes ?? []).filter((n) => n.type === "Input");
    const fields = dataset?.fields.filter((f) => f.role === "input") ?? [];
    return nodes.map((n) => ({
      id: n.id,
      shape: shapeParam(n, "shape", [4]),
      dtype: strParam(n, "dtype", "float32"),
      field: (nodes.length === 1 ? fields[0]?.name : fields.find((f) => f.name === n.id)?.name) ?? null,
    }));
  }, [graph, dataset]);
  const [values, setValues] = useState<Record<string, unknown>>(() => Object.fromEntries(inputs.map((i) => [i.id, zeros(i.shape)])));
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [sample, setSample] = useState(0);
  const [result, setResult] = useState<Prediction | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const samples = dataset ? Object.values(dataset.samples)[0]?.length ?? 0 : 0;

  const fillFromSample = () => {
    if (!dataset) return;
    const next = { ...values };
    const nextTexts = { ...texts };
    for (const i of inputs) {
      const v = i.field ? dataset.samples[i.field]?.[sample % samples] : undefined;
      if (v !== undefined) {
        next[i.id] = v;
        delete nextTexts[i.id];
      }
    }
    setValues(next);
    setTexts(nextTexts);
    setSample(sample + 1);
  };

  const run = async () => {
    setError(null);
    setBusy(true);
    try {
      const payload: Record<string, unknown> = {};
      for (const i of inputs) payload[i.id] = texts[i.id] !== undefined ? JSON.parse(texts[i.id]) : values[i.id];
      setResult(await ok(client.POST("/api/runs/{run_id}/predict", { params: { path: { run_id: runId } }, body: { inputs: payload } })));
    } catch (e) {
      setError(e instanceof SyntaxError ? `not valid JSON: ${e.message}` : (e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="predict" data-testid="predict">
      <h3>Try it</h3>
      {inputs.map((i) => {
        const image = isImageShape(i.shape);
        const flat = i.shape.length === 1 && i.shape[0] !== null && i.shape[0] <= 32 && i.dtype === "float32";
        return (
          <div key={i.id} className="predict-input">
            <span className="field-name">
              {i.id} <span className="muted">[{i.shape.map((d) => d ?? "?").join(", ")}] {i.dtype}</span>
            </span>
            {image ? (
              <div className="draw-row">
                <DrawGrid
                  value={plane(values[i.id], i.shape)}
                  onChange={(v) => setValues({ ...values, [i.id]: i.shape.length === 3 ? [v] : v })}
                />
                <div className="muted small">
                  Draw with the mouse.
                  <br />
                  <button onClick={() => setValues({ ...values, [i.id]: zeros(i.shape) })} data-testid={`clear-${i.id}`}>
                    Clear
                  </button>
                </div>
              </div>
            ) : flat ? (
              <div className="tabular">
                {(values[i.id] as number[]).map((v, k) => (
                  <label key={k}>
                    <span className="muted small">{k}</span>
                    <input
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
                  </label>
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
      <div className="predict-actions">
        <button className="primary" onClick={() => void run()} disabled={busy} data-testid="btn-predict">
          Predict
        </button>
        {samples > 0 && inputs.some((i) => i.field) && (
          <button onClick={fillFromSample} data-testid="btn-sample" title="Fill the inputs with one of the dataset's samples">
            Use sample {(sample % samples) + 1}/{samples}
          </button>
        )}
      </div>
      <PredictionView result={result} error={error} />
    </div>
  );
}
