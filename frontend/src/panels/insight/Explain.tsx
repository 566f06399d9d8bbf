// Why the model predicted what it did for one test sample: saliency, integrated gradients, KernelSHAP or LIME
// drawn on the sample (image overlay, signed bars per column, highlighted tokens), or the attention maps of every
// attention layer. The explanation runs as a background job on the server, with progress and Cancel.
import { useEffect, useRef, useState } from "react";
import { type Schemas, client, ok } from "../../api/client";
import { oneOf } from "../../lib/params";
import { HeatGrid, Sample, fmt } from "./Visuals";

type Explanation = Schemas["Explanation"];
type ExplainJob = Schemas["ExplainJob"];
type Method = Schemas["ExplainBody"]["method"];

const METHODS: [Method, string, string][] = [
  ["saliency", "Saliency", "the gradient of the score: where a small change moves it most (instant)"],
  ["integrated_gradients", "Integrated gradients", "gradients summed along the path from a blank input; they add up to the score's change"],
  ["shap", "KernelSHAP", "Shapley values estimated by switching groups of features off (model-agnostic)"],
  ["lime", "LIME", "a local linear model fitted to switched-off variants of the sample (model-agnostic)"],
  ["attention", "Attention maps", "the weights each attention layer gives every key position, per query position"],
];
const POLL_MS = 250;

function Attention({ maps, tokens }: { maps: NonNullable<Explanation["attention"]>; tokens: string[] | null }) {
  const [head, setHead] = useState<Record<string, number>>({});
  return (
    <>
      {maps.map((m, i) => {
        const key = `${m.node}:${m.part}`;
        const h = head[key] ?? -1;
        const matrix = h < 0 ? m.mean : m.heads[h];
        const label = (n: number) => (k: number) => (tokens && tokens.length === n ? tokens[k] : String(k));
        return (
          <section key={key} className="attention-map">
            <h4>
              {m.node} <span className="muted small">{m.type} · {m.part}</span>
              <select value={h} onChange={(e) => setHead({ ...head, [key]: Number(e.target.value) })} data-testid={`attention-head-${i}`}>
                <option value={-1}>mean of {m.heads.length} heads</option>
                {m.heads.map((_, k) => (
                  <option key={k} value={k}>
                    head {k + 1}
                  </option>
                ))}
              </select>
            </h4>
            <HeatGrid
              matrix={matrix}
              rows={Array.from({ length: m.queries }, (_, k) => label(m.queries)(k))}
              cols={Array.from({ length: m.keys }, (_, k) => label(m.keys)(k))}
              rowTitle="query"
              colTitle="key"
              testId={`attention-${i}`}
            />
          </section>
        );
      })}
    </>
  );
}

export function ExplainView({ runId, hasAttention }: { runId: string; hasAttention: boolean }) {
  const [method, setMethod] = useState<Method>(hasAttention ? "attention" : "integrated_gradients");
  const [sample, setSample] = useState("0");
  const [target, setTarget] = useState<string>("");
  const [job, setJob] = useState<ExplainJob | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<Explanation | null>(null);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  const follow = async (started: ExplainJob) => {
    let current = started;
    while (alive.current && (current.status === "queued" || current.status === "running")) {
      setJob(current);
      await new Promise((r) => setTimeout(r, POLL_MS));
      current = await ok(client.GET("/api/runs/{run_id}/explain/{job_id}", { params: { path: { run_id: runId, job_id: current.id } } }));
    }
    if (!alive.current) return;
    setJob(current);
    if (current.status === "done" && current.result) setResult(current.result);
    if (current.status === "failed") setError(current.error ?? "the explanation failed");
  };

  const run = () => {
    setError(null);
    setResult(null);
    const index = Number(sample);
    if (!Number.isInteger(index) || index < 0) {
      setError("sample: give a whole number ≥ 0 (an index into the test split)");
      return;
    }
    const body = { method, sample: index, background: true, ...(target !== "" && method !== "attention" ? { target: Number(target) } : {}) };
    ok(client.POST("/api/runs/{run_id}/explain", { params: { path: { run_id: runId } }, body }))
      .then((answer) => {
        // `background` asks for a job to follow (202); an answer without a job is the explanation itself (200)
        if ("status" in answer) return follow(answer);
        setResult(answer);
      })
      .catch((e: Error) => alive.current && setError(e.message));
  };

  const cancel = () => {
    if (job) void client.DELETE("/api/runs/{run_id}/explain/{job_id}", { params: { path: { run_id: runId, job_id: job.id } } }).catch((e: Error) => setError(e.message));
  };

  const busy = job?.status === "queued" || job?.status === "running";
  const methods = METHODS.filter(([m]) => m !== "attention" || hasAttention);
  const textTokens = result ? Object.values(result.inputs).find((v) => v.kind === "text")?.tokens ?? null : null;
  return (
    <div className="explain" data-testid="explain">
      <div className="explain-controls">
        <label>
          method
          <select value={method} onChange={(e) => setMethod(oneOf(e.target.value, methods.map(([m]) => m), method))} data-testid="explain-method">
            {methods.map(([m, label, hint]) => (
              <option key={m} value={m} title={hint}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          test sample #
          <input className="narrow" value={sample} onChange={(e) => setSample(e.target.value)} data-testid="explain-sample" />
        </label>
        {method !== "attention" && (
          <label>
            class
            <select value={target} onChange={(e) => setTarget(e.target.value)} data-testid="explain-target">
              <option value="">predicted</option>
              {(result?.prediction ?? [])
                .filter((p) => p.class !== undefined && p.class !== null)
                .map((p) => (
                  <option key={p.class} value={String(p.class)}>
                    {p.label}
                  </option>
                ))}
            </select>
          </label>
        )}
        <button className="primary" onClick={run} disabled={busy} data-testid="btn-explain">
          Explain
        </button>
        {busy && (
          <button onClick={cancel} data-testid="btn-explain-cancel">
            Cancel
          </button>
        )}
      </div>
      <p className="muted small">{METHODS.find(([m]) => m === method)?.[2]}</p>
      {busy && job && (
        <div className="progress" data-testid="explain-progress">
          <div className="bar running">
            <div style={{ width: `${(job.progress * 100).toFixed(0)}%` }} />
          </div>
        </div>
      )}
      {job?.status === "cancelled" && <p className="muted" data-testid="explain-cancelled">Cancelled.</p>}
      {error && (
        <p className="node-error" data-testid="explain-error">
          {error}
        </p>
      )}
      {result && (
        <div className="explanation" data-testid="explanation">
          <p>
            Sample #{result.sample}: predicted{" "}
            {result.prediction.slice(0, 3).map((p, i) => (
              <span key={i} className="pill">
                {p.label ?? `[${p.index}] ${fmt(p.value)}`}
                {p.probability !== undefined && p.probability !== null ? ` ${(p.probability * 100).toFixed(1)}%` : ""}
              </span>
            ))}
            {result.target_label ? (
              <>
                {" "}
                · explaining class <b data-testid="explain-target-label">{result.target_label}</b>
              </>
            ) : null}
            <span className="muted small"> · {fmt(result.seconds)} s</span>
          </p>
          {result.attention ? (
            <Attention maps={result.attention} tokens={textTokens} />
          ) : (
            <>
              <p className="muted small">
                <span className="swatch pos" /> raises the score · <span className="swatch neg" /> lowers it
              </p>
              <div className="explained-inputs">
                {Object.entries(result.inputs).map(([name, view]) => (
                  <figure key={name}>
                    <Sample view={view} attribution={result.attributions[name]} testId={`attribution-${name}`} />
                    <figcaption>{name}</figcaption>
                  </figure>
                ))}
              </div>
            </>
          )}
        </div>
      )}
    </div>
  );
}
