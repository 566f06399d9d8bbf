// "Try it" for a run on an uploaded table or text set: type one row in the file's own terms (numbers, a category
// from its list, a text) and the server applies the run's recorded preprocessing before the model sees it.
import { useEffect, useState } from "react";
import { type GraphJSON, type Schemas, client, ok } from "../api/client";
import type { UploadDetail } from "../stores/datasets";
import { PredictionView } from "./Predict";

type Prediction = Schemas["PredictResponse"];
type Ref = { id: string; target?: string[] | null; features?: string[] | null; preprocessing?: { categorical?: string; columns?: Record<string, string> } };

/** What each graph Input reads of a row: the columns of `x` as one row, a text column as its string, a column
 * with integer codes as {column: value}. The server's binding: a single Input takes the only input field. */
function inputValues(ref: Ref, detail: UploadDetail, inputs: string[], row: Record<string, string>): Record<string, unknown> {
  const op = (c: UploadDetail["columns"][number]) =>
    ref.preprocessing?.columns?.[c.name] ?? (c.dtype === "categorical" ? (ref.preprocessing?.categorical ?? "onehot") : "number");
  const value = (c: UploadDetail["columns"][number]) => (c.dtype === "numeric" && row[c.name] !== "" ? Number(row[c.name]) : row[c.name]);
  const features = featureColumns(ref, detail);
  const fields: Record<string, unknown> = {};
  const x = features.filter((c) => c.dtype !== "text" && op(c) !== "codes");
  if (x.length) fields.x = Object.fromEntries(x.map((c) => [c.name, value(c)]));
  for (const c of features) {
    if (c.dtype === "text") fields[c.name] = row[c.name];
    else if (op(c) === "codes") fields[c.name] = { [c.name]: value(c) };
  }
  const names = Object.keys(detail.fields).filter((f) => detail.fields[f].role === "input");
  if (inputs.length === 1 && names.length === 1) return { [inputs[0]]: fields[names[0]] };
  return Object.fromEntries(inputs.filter((i) => i in fields).map((i) => [i, fields[i]]));
}

function featureColumns(ref: Ref, detail: UploadDetail): UploadDetail["columns"] {
  const targets = ref.target?.length ? ref.target : [detail.default_target];
  return detail.columns.filter((c) => !targets.includes(c.name) && (!ref.features?.length || ref.features.includes(c.name)));
}

export function RowPredict({ runId, graph, dataset }: { runId: string; graph: GraphJSON; dataset: Ref }) {
  const [detail, setDetail] = useState<UploadDetail | null>(null);
  const [row, setRow] = useState<Record<string, string>>({});
  const [result, setResult] = useState<Prediction | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    ok(client.GET("/api/datasets/{dataset_id}", { params: { path: { dataset_id: dataset.id } } }))
      .then((d) => {
        setDetail(d);
        const first = (d.preview[0] ?? {}) as Record<string, unknown>;
        setRow(Object.fromEntries(d.columns.map((c) => [c.name, first[c.name] === null || first[c.name] === undefined ? "" : String(first[c.name])])));
      })
      .catch((e: Error) => setError(`the run's dataset cannot be read: ${e.message}`));
  }, [dataset.id]);
  const inputs = (graph.nodes ?? []).filter((n) => n.type === "Input").map((n) => n.id);

  const run = async () => {
    if (!detail) return;
    setError(null);
    setBusy(true);
    try {
      const payload = inputValues(dataset, detail, inputs, row);
      setResult(await ok(client.POST("/api/runs/{run_id}/predict", { params: { path: { run_id: runId } }, body: { inputs: payload } })));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="predict" data-testid="predict">
      <h3>Try it</h3>
      <p className="muted small">One row of {detail?.name ?? "the file"}, as in the file: the run's preprocessing is applied on the server.</p>
      {detail && (
        <div className="form-grid row-form">
          {featureColumns(dataset, detail).map((c) => (
            <label key={c.name} className="field">
              <span className="field-name">{c.name}</span>
              {c.classes && c.dtype !== "numeric" ? (
                <select value={row[c.name] ?? ""} onChange={(e) => setRow({ ...row, [c.name]: e.target.value })} data-testid={`row-${c.name}`}>
                  {Object.keys(c.classes).map((k) => (
                    <option key={k}>{k}</option>
                  ))}
                </select>
              ) : (
                <input
                  type={c.dtype === "numeric" ? "number" : "text"}
                  step="any"
                  value={row[c.name] ?? ""}
                  onChange={(e) => setRow({ ...row, [c.name]: e.target.value })}
                  data-testid={`row-${c.name}`}
                />
              )}
            </label>
          ))}
        </div>
      )}
      <div className="predict-actions">
        <button className="primary" onClick={() => void run()} disabled={busy || !detail} data-testid="btn-predict">
          Predict
        </button>
      </div>
      <PredictionView result={result} error={error} />
    </div>
  );
}
