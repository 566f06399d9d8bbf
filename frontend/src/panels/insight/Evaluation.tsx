// A finished run's evaluation on its test split, per Output: the confusion matrix (click a cell to see its
// samples), per-class scores, ROC and precision-recall curves, the worst-classified samples; for regression
// MAE/RMSE/R², predicted against true, and the residuals.
import { useEffect, useState } from "react";
import { type Schemas, client, ok } from "../../api/client";
import { HeatGrid, Histogram, Plot, Sample, fmt } from "./Visuals";

type Evaluation = Schemas["Evaluation"];
type OutputEvaluation = Schemas["OutputEvaluation"];
type Samples = Schemas["Samples"];
const SHOWN = 12;

function useSamples(runId: string, indices: number[]): { samples: Samples["samples"] | null; error: string | null } {
  const key = indices.join(",");
  const [state, setState] = useState<{ key: string; samples: Samples["samples"] | null; error: string | null }>({ key: "", samples: null, error: null });
  useEffect(() => {
    if (!key) return;
    let live = true;
    ok(client.GET("/api/runs/{run_id}/samples", { params: { path: { run_id: runId }, query: { indices: key } } }))
      .then((r) => live && setState({ key, samples: r.samples, error: null }))
      .catch((e: Error) => live && setState({ key, samples: null, error: e.message }));
    return () => {
      live = false;
    };
  }, [runId, key]);
  return state.key === key ? state : { samples: null, error: null };
}

function SampleStrip({ runId, indices, caption, testId }: { runId: string; indices: number[]; caption: (i: number) => string; testId: string }) {
  const { samples, error } = useSamples(runId, indices);
  if (!indices.length) return <p className="muted">No samples.</p>;
  if (error) return <p className="node-error">{error}</p>;
  if (!samples) return <p className="muted">Loading samples…</p>;
  return (
    <div className="sample-strip" data-testid={testId}>
      {samples.map((s) => (
        <figure key={s.index} className="sample-card" data-testid={`${testId}-sample`}>
          {Object.entries(s.inputs).map(([name, view]) => (
            <Sample key={name} view={view} testId={`${testId}-${s.index}-${name}`} />
          ))}
          <figcaption>
            #{s.index} {caption(s.index)}
          </figcaption>
        </figure>
      ))}
    </div>
  );
}

function Classification({ runId, report }: { runId: string; report: OutputEvaluation }) {
  const [normalized, setNormalized] = useState(false);
  const [cell, setCell] = useState<[number, number] | null>(null);
  const classes = report.classes ?? [];
  const cm = report.confusion_matrix;
  const worst = report.worst ?? [];
  const byIndex = new Map(worst.map((w) => [w.index, w]));
  return (
    <>
      <div className="metric-tiles">
        <div className="tile">
          <span>accuracy</span>
          <b data-testid="eval-accuracy">{fmt(report.accuracy)}</b>
        </div>
        <div className="tile">
          <span>macro F1</span>
          <b>{fmt(report.macro_f1)}</b>
        </div>
        <div className="tile">
          <span>test samples</span>
          <b>{report.samples}</b>
        </div>
      </div>
      {cm && (
        <section>
          <h4>
            Confusion matrix
            <label className="inline small">
              <input type="checkbox" checked={normalized} onChange={(e) => setNormalized(e.target.checked)} data-testid="cm-normalized" /> normalized by true
              class
            </label>
          </h4>
          <HeatGrid
            matrix={normalized ? cm.normalized : cm.counts}
            rows={classes}
            cols={classes}
            rowTitle="true"
            colTitle="predicted"
            text={(v) => (normalized ? (v ? `${Math.round(v * 100)}%` : "") : v ? String(v) : "")}
            onCell={(r, c) => setCell([r, c])}
            selected={cell}
            testId="confusion"
          />
          {cell && (
            <div className="cell-samples" data-testid="cell-samples">
              <p>
                True <b>{classes[cell[0]]}</b>, predicted <b>{classes[cell[1]]}</b>: {cm.counts[cell[0]][cell[1]]} sample
                {cm.counts[cell[0]][cell[1]] === 1 ? "" : "s"}
                {cm.samples[cell[0]][cell[1]].length > SHOWN ? ` (the ${SHOWN} most confident shown)` : ""}
              </p>
              <SampleStrip runId={runId} indices={cm.samples[cell[0]][cell[1]].slice(0, SHOWN)} caption={() => ""} testId="cell" />
            </div>
          )}
        </section>
      )}
      {report.per_class && (
        <section>
          <h4>Per class</h4>
          <table className="per-class" data-testid="per-class">
            <thead>
              <tr>
                <th>class</th>
                <th>precision</th>
                <th>recall</th>
                <th>F1</th>
                <th>support</th>
                <th>ROC AUC</th>
              </tr>
            </thead>
            <tbody>
              {report.per_class.map((row) => (
                <tr key={row.class}>
                  <th>{row.class}</th>
                  <td>{fmt(row.precision)}</td>
                  <td>{fmt(row.recall)}</td>
                  <td>{fmt(row.f1)}</td>
                  <td>{row.support}</td>
                  <td>{fmt(report.roc?.[row.class]?.auc)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <section className="curves">
        {report.roc && (
          <figure>
            <Plot
              series={Object.entries(report.roc).map(([label, c]) => ({ label, x: c.fpr, y: c.tpr }))}
              xLabel="false positive rate"
              yLabel="true positive rate"
              range={[0, 1]}
              diagonal
              testId="roc"
            />
            <figcaption>ROC, one class against the rest</figcaption>
          </figure>
        )}
        {report.pr && (
          <figure>
            <Plot
              series={Object.entries(report.pr).map(([label, c]) => ({ label, x: c.recall, y: c.precision }))}
              xLabel="recall"
              yLabel="precision"
              range={[0, 1]}
              testId="pr"
            />
            <figcaption>Precision-recall</figcaption>
          </figure>
        )}
      </section>
      {worst.length > 0 && (
        <section>
          <h4>Worst classified</h4>
          <SampleStrip
            runId={runId}
            indices={worst.map((w) => w.index)}
            caption={(i) => {
              const w = byIndex.get(i);
              return w ? `true ${String(w.true)} (p ${fmt(w.true_probability)}), predicted ${String(w.predicted)} (p ${fmt(w.probabilities?.[0]?.probability)})` : "";
            }}
            testId="worst"
          />
        </section>
      )}
    </>
  );
}

function Regression({ runId, report }: { runId: string; report: OutputEvaluation }) {
  const worst = report.worst ?? [];
  const byIndex = new Map(worst.map((w) => [w.index, w]));
  return (
    <>
      <div className="metric-tiles" data-testid="regression-metrics">
        {(["mae", "rmse", "r2"] as const).map((k) => (
          <div className="tile" key={k}>
            <span>{k === "r2" ? "R²" : k.toUpperCase()}</span>
            <b>{fmt(report[k])}</b>
          </div>
        ))}
      </div>
      <section className="curves">
        {report.scatter && (
          <figure>
            <Plot series={[{ label: "samples", x: report.scatter.true, y: report.scatter.predicted }]} xLabel="true" yLabel="predicted" points diagonal testId="scatter" />
            <figcaption>Predicted against true</figcaption>
          </figure>
        )}
        {report.residuals && (
          <figure>
            <Histogram counts={report.residuals.counts} edges={report.residuals.edges} label="predicted − true" testId="residuals" />
            <figcaption>
              Residuals: mean {fmt(report.residuals.mean)}, std {fmt(report.residuals.std)}
            </figcaption>
          </figure>
        )}
      </section>
      {worst.length > 0 && (
        <section>
          <h4>Largest errors</h4>
          <SampleStrip runId={runId} indices={worst.map((w) => w.index)} caption={(i) => `error ${fmt(byIndex.get(i)?.error)}`} testId="worst" />
        </section>
      )}
    </>
  );
}

export function EvaluationView({ runId }: { runId: string }) {
  const [evaluation, setEvaluation] = useState<Evaluation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [output, setOutput] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    ok(client.GET("/api/runs/{run_id}/evaluation", { params: { path: { run_id: runId } } }))
      .then((e) => live && setEvaluation(e))
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [runId]);
  if (error) return <p className="node-error">{error}</p>;
  if (!evaluation) return <p className="muted" data-testid="evaluation-loading">Evaluating on the test split…</p>;
  const names = Object.keys(evaluation.outputs);
  const chosen = output && names.includes(output) ? output : names[0];
  const report = evaluation.outputs[chosen];
  return (
    <div className="evaluation" data-testid="evaluation">
      {names.length > 1 && (
        <div className="output-tabs">
          {names.map((n) => (
            <button key={n} className={n === chosen ? "active" : ""} onClick={() => setOutput(n)} data-testid={`eval-output-${n}`}>
              {n} <span className="muted small">{evaluation.outputs[n].task}</span>
            </button>
          ))}
        </div>
      )}
      <p className="muted small">
        Output <b>{chosen}</b> ({report.loss}) on the {evaluation.split === "test" ? "test" : "validation"} split, with the run's best weights.
      </p>
      {report.task === "classification" ? <Classification key={chosen} runId={runId} report={report} /> : <Regression key={chosen} runId={runId} report={report} />}
    </div>
  );
}
