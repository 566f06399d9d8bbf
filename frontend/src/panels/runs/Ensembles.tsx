// Ensembles, under the Runs tab: start one from the canvas graph with the Train tab's dataset and settings (method,
// members), follow its member runs, compare the combined model's test metrics with each member's, download its ONNX.
import { useCallback, useEffect, useState } from "react";
import { type Schemas, client, ok } from "../../api/client";
import { locateErrors } from "../../lib/serverErrors";
import { uploadRef, useDatasetLabel } from "../../stores/datasets";
import { useGraph } from "../../stores/graph";
import { useTrain } from "../../stores/train";
import { NumberInput } from "../../ui/NumberInput";
import "./ensembles.css";

type Summary = Schemas["EnsembleSummary"];
type Detail = Schemas["EnsembleDetail"];
type Method = Schemas["EnsembleCreate"]["method"];

const METHODS: Record<Method, string> = {
  bagging: "bagging: bootstrap samples, a seed each, the mean of their outputs",
  boosting: "boosting (SAMME): one after another on reweighted samples",
  stacking: "stacking: K folds, a meta-learner on out-of-fold predictions",
};

const fixed = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(4));

const fetchDetail = (id: string) => ok(client.GET("/api/ensembles/{ensemble_id}", { params: { path: { ensemble_id: id } } }));

/** Save the ensemble's ONNX file under the name the server gives it (a plain link cannot send the token). */
async function download(id: string): Promise<void> {
  const { data, response } = await client.GET("/api/ensembles/{ensemble_id}/export", {
    params: { path: { ensemble_id: id }, query: { format: "onnx" } },
    parseAs: "blob",
  });
  const disposition = response.headers.get("content-disposition") ?? "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  const link = document.createElement("a");
  link.href = URL.createObjectURL(data ?? new Blob());
  link.download = encoded ? decodeURIComponent(encoded) : `ensemble-${id}.onnx`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/** Bounds of an ensemble's member count (the server's EnsembleCreate.members: 2 to MAX_MEMBERS). */
const MEMBERS = { integer: true, minimum: 2, maximum: 50 };

export function StartForm({ onStarted }: { onStarted: (id: string) => void }) {
  const [method, setMethod] = useState<Method>("bagging");
  const [members, setMembers] = useState(3);
  const [problem, setProblem] = useState<string | null>(null);
  const [membersError, setMembersError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const dataset = useDatasetLabel(useTrain((s) => s.dataset));

  const start = async () => {
    setBusy(true);
    setProblem(null);
    setMembersError(null);
    try {
      const { config, dataset: name } = useTrain.getState();
      const ref = uploadRef() ?? { name };
      const { id } = await ok(
        client.POST("/api/ensembles", {
          body: { graph: useGraph.getState().toJSON(), dataset: ref, config, method, members } as Schemas["EnsembleCreate"],
        }),
      );
      onStarted(id);
    } catch (e) {
      const found = locateErrors(e, ["body"]);
      setMembersError(found.fields.members ?? null);
      const { members: _shownUnderTheField, ...fields } = found.fields;
      const rest = [...Object.entries(fields), ...Object.entries(found.nodes)].map(([k, v]) => `${k}: ${v}`);
      setProblem([...rest, ...found.other].join("; ") || null);
    }
    setBusy(false);
  };

  return (
    <div className="ensemble-form" data-testid="ensemble-form">
      <label>
        method
        <select value={method} onChange={(e) => setMethod(e.target.value as Method)} data-testid="ensemble-method">
          {(Object.keys(METHODS) as Method[]).map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </label>
      <label>
        members
        {/* Checked as typed, as the other number fields: "abc" or "1" is named under it. */}
        <NumberInput
          value={members}
          bounds={MEMBERS}
          onChange={(v) => {
            setMembers(v);
            setMembersError(null);
          }}
          testId="ensemble-members"
          label="members"
          error={membersError}
        />
      </label>
      <button onClick={() => void start()} disabled={busy} data-testid="ensemble-start">
        Start ensemble
      </button>
      <p className="muted small span">
        {METHODS[method]}. The canvas graph on <b>{dataset}</b> with the Train tab's settings; each member is an ordinary run.
      </p>
      {problem && (
        <p className="error small span" data-testid="ensemble-problem">
          {problem}
        </p>
      )}
    </div>
  );
}

function EnsembleView({ detail }: { detail: Detail }) {
  const [exporting, setExporting] = useState<string | null>(null);
  const names = Array.from(new Set([...Object.keys(detail.test_metrics), ...detail.member_runs.flatMap((m) => Object.keys(m.test_metrics))]));
  const stop = () => void client.POST("/api/ensembles/{ensemble_id}/stop", { params: { path: { ensemble_id: detail.id } } });
  const exportOnnx = async () => {
    setExporting("exporting and checking in ONNX Runtime…");
    try {
      await download(detail.id);
      setExporting(null);
    } catch (e) {
      setExporting(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <div className="ensemble-view" data-testid="ensemble-view">
      <div className="ensemble-head">
        <b>{detail.name}</b>
        <span className={`badge ${detail.status}`} data-testid="ensemble-status">
          {detail.status}
        </span>
        {detail.status === "running" && (
          <button className="quiet" onClick={stop}>
            Stop
          </button>
        )}
        {detail.status === "completed" && (
          <button onClick={() => void exportOnnx()} data-testid="ensemble-onnx">
            ONNX
          </button>
        )}
      </div>
      {exporting && <p className="muted small">{exporting}</p>}
      {detail.error && <p className="error small">{detail.error}</p>}
      {detail.message && <p className="muted small">{detail.message}</p>}
      <table className="table compact" data-testid="ensemble-metrics">
        <thead>
          <tr>
            <th>model</th>
            <th>status</th>
            {detail.method === "boosting" && <th>weight</th>}
            {names.map((n) => (
              <th key={n}>{n.replace(/^test_/, "")}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr className="ensemble-row">
            <td>ensemble</td>
            <td>{detail.status}</td>
            {detail.method === "boosting" && <td />}
            {names.map((n) => (
              <td key={n} className="mono">
                {fixed(detail.test_metrics[n])}
              </td>
            ))}
          </tr>
          {detail.member_runs.map((m) => (
            <tr key={m.number} data-testid={`ensemble-member-${m.number}`}>
              <td className="mono" title={m.run_id ?? ""}>
                member {m.number}
              </td>
              <td>{m.status ?? "—"}</td>
              {detail.method === "boosting" && <td className="mono">{fixed(m.weight)}</td>}
              {names.map((n) => (
                <td key={n} className="mono">
                  {fixed(m.test_metrics[n])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">Test split metrics: the same split for the ensemble and every member.</p>
    </div>
  );
}

export function Ensembles() {
  const [list, setList] = useState<Summary[]>([]);
  const [openId, setOpenId] = useState<string | null>(null);
  const [detail, setDetail] = useState<Detail | null>(null);
  const refresh = useCallback(async () => {
    try {
      setList(await ok(client.GET("/api/ensembles")));
      if (openId) setDetail(await fetchDetail(openId));
    } catch {
      // the next refresh tries again
    }
  }, [openId]);
  const running = list.some((e) => e.status === "running");
  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), running ? 1500 : 8000);
    return () => clearInterval(t);
  }, [refresh, running]);

  return (
    <details className="ensembles" data-testid="ensembles" open={list.length > 0 || undefined}>
      <summary>Ensembles</summary>
      <StartForm
        onStarted={(id) => {
          setOpenId(id);
          setDetail(null);
        }}
      />
      <div className="ensemble-list">
        {list.map((e) => (
          <button key={e.id} className={`ensemble-item${openId === e.id ? " watching" : ""}`} onClick={() => setOpenId(e.id)} data-testid={`ensemble-${e.id}`}>
            <span>{e.name}</span>
            <span className={`badge ${e.status}`}>{e.status}</span>
            <span className="mono muted small">{fixed(e.test_metrics.test_accuracy ?? e.test_metrics.test_loss)}</span>
          </button>
        ))}
      </div>
      {detail && detail.id === openId && <EnsembleView detail={detail} />}
    </details>
  );
}
