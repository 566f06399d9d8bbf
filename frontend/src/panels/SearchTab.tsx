// The Search tab (docs/search.md): what a study varies (the graph's tune marks and training settings), how it
// samples, Start; the studies; for one study its live status, best-so-far chart, sortable trials, parallel
// coordinates, param importances, Stop and "Open best" (the best trial's graph and config onto the canvas).
import { useReactFlow } from "@xyflow/react";
import { useEffect, useMemo, useState } from "react";
import { client, ok } from "../api/client";
import { openGraph } from "../canvas/view";
import { oneOf } from "../lib/params";
import { type SearchDimension, describe } from "../lib/search";
import { useCatalog } from "../stores/catalog";
import { uploadRef, useDatasetLabel } from "../stores/datasets";
import { useGraph } from "../stores/graph";
import { useLibrary } from "../stores/library";
import {
  type Direction,
  type FieldProblems,
  type Sampler,
  type StudyDetail,
  type StudyRequest,
  type StudySummary,
  type Trial,
  useStudies,
} from "../stores/studies";
import { type PanelConfig, type TrainConfig, useTrain } from "../stores/train";
import { useWatchedRun } from "../stores/watchedRun";
import { FieldError, NumberInput } from "../ui/NumberInput";
import { Chart, type Line } from "./Chart";
import { type Tunable, TuneRow } from "./TuneMarks";
import "./search.css";

const POLL_MS = 1500;
const SAMPLERS: Sampler[] = ["tpe", "random", "grid"];
const DIRECTIONS: (Direction | "")[] = ["", "minimize", "maximize"];
const IDLE_POLL_MS = 8000;

/** "config.optimizer.lr" -> "optimizer.lr", "nodes.fc1.out_features" -> "fc1.out_features". */
export function shortKey(key: string): string {
  return key.replace(/^(config|nodes)\./, "");
}

function fmt(v: unknown): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
  return v === null || v === undefined ? "—" : String(v);
}

/** The metrics the runs report for this config (as the server names them): loss, its metrics, their val_ twins. */
function metricNames(config: PanelConfig): string[] {
  const names = ["loss"];
  if (Array.isArray(config.metrics)) names.push(...config.metrics);
  else for (const [output, ms] of Object.entries(config.metrics ?? {})) names.push(`${output}_loss`, ...ms.map((m) => `${output}_${m}`));
  return config.validation_split > 0 ? [...names.map((n) => `val_${n}`), ...names] : names;
}

type ConfigDim = { key: string; label: string; value: unknown; how: Tunable; initial: SearchDimension };

function configDims(config: PanelConfig, optimizers: string[]): ConfigDim[] {
  const lr = config.optimizer.lr;
  return [
    { key: "config.optimizer.lr", label: "learning rate", value: lr, how: { kind: "float", options: null }, initial: { type: "float", low: 1e-4, high: 0.1, log: true } },
    { key: "config.batch_size", label: "batch size", value: config.batch_size, how: { kind: "categorical", options: null }, initial: { type: "categorical", choices: [16, 32, 64] } },
    {
      key: "config.optimizer.type",
      label: "optimizer",
      value: config.optimizer.type,
      how: { kind: "categorical", options: optimizers },
      initial: { type: "categorical", choices: [...new Set([config.optimizer.type, "sgd"])] },
    },
    { key: "config.optimizer.weight_decay", label: "weight decay", value: config.optimizer.weight_decay ?? 0, how: { kind: "float", options: null }, initial: { type: "float", low: 1e-6, high: 1e-2, log: true } },
    { key: "config.epochs", label: "epochs", value: config.epochs, how: { kind: "int", options: null }, initial: { type: "int", low: Math.max(1, Math.floor(config.epochs / 2)), high: Math.max(2, config.epochs) } },
  ];
}

/** The node marks (set in the inspector), each with a button that selects its node. */
function NodeMarks({ problems }: { problems: FieldProblems }) {
  const search = useGraph((s) => s.search);
  const keys = Object.keys(search).filter((k) => k.startsWith("nodes."));
  const select = (key: string) => {
    const { nodes } = useGraph.getState();
    const node = nodes.find((n) => key.startsWith(`nodes.${n.id}.`));
    if (node) useGraph.setState({ nodes: nodes.map((n) => (n.selected === (n === node) ? n : { ...n, selected: n === node })) });
  };
  if (!keys.length) return <p className="muted small">No layer params marked: select a node and tick "tune" in the inspector.</p>;
  return (
    <ul className="search-marks" data-testid="search-node-marks">
      {keys.map((k) => (
        <li key={k}>
          <button className="link mono" onClick={() => select(k)} title="select this node">
            {shortKey(k)}
          </button>{" "}
          <span className="muted small">{describe(search[k])}</span>
          <button className="quiet" onClick={() => useGraph.getState().setMark(k, null)} title="stop varying it">
            ×
          </button>
          {problems[k] && <FieldError testId={`search-problem-${k}`}>{problems[k]}</FieldError>}
        </li>
      ))}
    </ul>
  );
}

function StartForm() {
  const config = useTrain((s) => s.config);
  const dataset = useTrain((s) => s.dataset);
  const datasetLabel = useDatasetLabel(dataset);
  const optimizers = useCatalog((s) => s.catalog?.optimizers);
  const marks = useGraph((s) => Object.keys(s.search).length);
  const start = useStudies((s) => s.start);
  const [sampler, setSampler] = useState<Sampler>("tpe");
  const [trials, setTrials] = useState(20);
  const names = metricNames(config);
  const [objective, setObjective] = useState(names[0]);
  const [direction, setDirection] = useState<Direction | "">("");
  const [parallel, setParallel] = useState(1);
  const [pruning, setPruning] = useState(true);
  const [problems, setProblems] = useState<FieldProblems>({});
  const [busy, setBusy] = useState(false);
  const shownObjective = names.includes(objective) ? objective : names[0];

  const submit = async () => {
    setBusy(true);
    const graph = useGraph.getState().toJSON();
    const found = await start({
      graph,
      dataset: (uploadRef() ?? { name: dataset }) as StudyRequest["dataset"], // the chosen upload, as Train uses
      config,
      space: useGraph.getState().search,
      sampler,
      trials,
      objective: shownObjective,
      direction: direction || null,
      pruner: pruning ? "median" : null,
      parallel,
    });
    setProblems(found);
    setBusy(false);
  };

  return (
    <section className="search-form" data-testid="search-form">
      <h3>What to vary</h3>
      <NodeMarks problems={problems} />
      <div className="search-config-dims">
        {configDims(config, (optimizers ?? []).map((o) => o.type)).map((d) => (
          <TuneRow key={d.key} spaceKey={d.key} label={d.label} value={d.value} how={d.how} initial={d.initial} testId={`tune-${d.key}`} error={problems[d.key]} />
        ))}
      </div>
      <h3>How</h3>
      <div className="search-settings">
        <label className="field">
          <span className="field-name">sampler</span>
          <select value={sampler} onChange={(e) => setSampler(oneOf(e.target.value, SAMPLERS, "tpe"))} data-testid="search-sampler">
            <option value="tpe">TPE (Bayesian)</option>
            <option value="random">random</option>
            <option value="grid">grid</option>
          </select>
          {problems.sampler && <FieldError testId="search-sampler-error">{problems.sampler}</FieldError>}
        </label>
        <label className="field">
          <span className="field-name">trials</span>
          <NumberInput value={trials} bounds={{ integer: true, minimum: 1, maximum: 1000 }} onChange={setTrials} testId="search-trials" error={problems.trials} />
        </label>
        <label className="field">
          <span className="field-name">objective</span>
          <select value={shownObjective} onChange={(e) => setObjective(e.target.value)} data-testid="search-objective">
            {names.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
          {problems.objective && <FieldError testId="search-objective-error">{problems.objective}</FieldError>}
        </label>
        <label className="field">
          <span className="field-name">direction</span>
          <select value={direction} onChange={(e) => setDirection(oneOf(e.target.value, DIRECTIONS, ""))} data-testid="search-direction">
            <option value="">the metric's own</option>
            <option value="minimize">minimize</option>
            <option value="maximize">maximize</option>
          </select>
        </label>
        <label className="field">
          <span className="field-name">parallel trials</span>
          <NumberInput value={parallel} bounds={{ integer: true, minimum: 1, maximum: 64 }} onChange={setParallel} testId="search-parallel" error={problems.parallel} />
        </label>
        <label className="check" title="stop trials that are clearly behind the median of earlier ones">
          <input type="checkbox" checked={pruning} onChange={(e) => setPruning(e.target.checked)} data-testid="search-pruning" />
          prune weak trials early
        </label>
      </div>
      <p className="muted small">
        On <b>{datasetLabel}</b> with the Train tab's settings; each trial is an ordinary run.
      </p>
      <button className="primary" disabled={busy || marks === 0} onClick={() => void submit()} data-testid="search-start" title={marks ? "" : "mark something to vary first"}>
        {busy ? "Starting…" : "Start search"}
      </button>
      {problems[""] && <FieldError testId="search-error">{problems[""]}</FieldError>}
    </section>
  );
}

function StudyList() {
  const { studies, openId, open, refresh, listError } = useStudies();
  const active = studies.some((s) => s.status === "running");
  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), active ? POLL_MS : IDLE_POLL_MS);
    return () => clearInterval(t);
  }, [refresh, active]);
  return (
    <section data-testid="study-list">
      <h3>Studies</h3>
      {listError && <p className="field-error">{listError}</p>}
      {!studies.length && <p className="muted small">No studies yet.</p>}
      {studies.map((s) => (
        <button key={s.id} className={`study-row${openId === s.id ? " watching" : ""}`} onClick={() => open(openId === s.id ? null : s.id)} data-testid={`study-${s.id}`}>
          <span className="study-name">{s.name}</span>
          <span className={`badge ${s.status}`}>{s.status}</span>
          <span className="muted small">
            {Object.values(s.counts).reduce((a, b) => a + (b ?? 0), 0)}/{s.budget} trials · {s.sampler}
            {s.best ? ` · best ${s.objective} ${fmt(s.best.value)}` : ""}
          </span>
        </button>
      ))}
    </section>
  );
}

function bestSoFar(study: StudyDetail): Line[] {
  const done = study.trials.filter((t) => t.state === "complete" && t.value !== null);
  const better = (a: number, b: number) => (study.direction === "maximize" ? a > b : a < b);
  let best: number | null = null;
  const bests = done.map((t) => {
    best = best === null || better(t.value!, best) ? t.value! : best;
    return best;
  });
  return [
    { label: "best so far", x: done.map((t) => t.number), y: bests, color: "#30c48d" },
    { label: "trial", x: done.map((t) => t.number), y: done.map((t) => t.value!), color: "#6d8cff", dash: true },
  ];
}

type SortKey = { column: string; descending: boolean };

function sortValue(t: Trial, column: string): number | string {
  const v = column === "#" ? t.number : column === "value" ? t.value : column === "state" ? t.state : t.params[column];
  if (typeof v === "number" || typeof v === "string") return v;
  return typeof v === "boolean" ? Number(v) : Number.NEGATIVE_INFINITY;
}

function TrialsTable({ study }: { study: StudyDetail }) {
  const [sort, setSort] = useState<SortKey>({ column: "#", descending: false });
  const keys = Object.keys(study.space);
  const rows = useMemo(() => {
    const sorted = [...study.trials].sort((a, b) => {
      const x = sortValue(a, sort.column);
      const y = sortValue(b, sort.column);
      return x < y ? -1 : x > y ? 1 : 0;
    });
    return sort.descending ? sorted.reverse() : sorted;
  }, [study.trials, sort]);
  const header = (column: string, label: string) => (
    <th key={column}>
      <button
        className="link"
        onClick={() => setSort({ column, descending: sort.column === column ? !sort.descending : false })}
        data-testid={`trials-sort-${column}`}
        aria-sort={sort.column === column ? (sort.descending ? "descending" : "ascending") : undefined}
      >
        {label}
        {sort.column === column ? (sort.descending ? " ▼" : " ▲") : ""}
      </button>
    </th>
  );
  return (
    <div className="trials-wrap">
      <table className="table compact trials" data-testid="trials-table">
        <thead>
          <tr>
            {header("#", "#")}
            {header("state", "state")}
            {header("value", study.objective)}
            {keys.map((k) => header(k, shortKey(k)))}
          </tr>
        </thead>
        <tbody>
          {rows.map((t) => (
            <tr key={t.number} className={study.best?.number === t.number ? "best" : ""} title={t.message ?? ""} data-testid={`trial-${t.number}`}>
              <td className="mono">{t.number}</td>
              <td>
                <span className={`badge ${t.state === "complete" ? "completed" : t.state}`}>{t.state}</span>
              </td>
              <td className="mono">{fmt(t.value)}</td>
              {keys.map((k) => (
                <td key={k} className="mono">
                  {fmt(t.params[k])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const PC = { width: 340, height: 170, top: 24, bottom: 14, side: 24 };

/** Each complete trial as a line across one axis per dimension and one for the objective; brighter is better. */
function ParallelCoordinates({ study }: { study: StudyDetail }) {
  const done = study.trials.filter((t) => t.state === "complete" && t.value !== null);
  const keys = Object.keys(study.space);
  if (done.length < 2 || !keys.length) return null;
  const axes = [...keys, "value"];
  const step = (PC.width - 2 * PC.side) / Math.max(1, axes.length - 1);
  const span = PC.height - PC.top - PC.bottom;
  // Each axis maps a trial to 0 (bottom) .. 1 (top).
  const scale = (axis: string): ((t: Trial) => number) => {
    const dim = study.space[axis];
    if (dim?.type === "categorical") {
      const n = Math.max(1, dim.choices.length - 1);
      return (t) => dim.choices.findIndex((c) => c === t.params[axis]) / n;
    }
    const read = (t: Trial) => Number(axis === "value" ? t.value : t.params[axis]);
    const log = dim?.log === true;
    const f = (v: number) => (log ? Math.log(v) : v);
    const values = done.map((t) => f(read(t)));
    const lo = dim ? f(dim.low) : Math.min(...values);
    const hi = dim ? f(dim.high) : Math.max(...values);
    return (t) => (hi > lo ? (f(read(t)) - lo) / (hi - lo) : 0.5);
  };
  const scales = axes.map(scale);
  const byValue = scale("value");
  const goodness = (t: Trial) => (study.direction === "maximize" ? byValue(t) : 1 - byValue(t));
  const ordered = [...done].sort((a, b) => goodness(a) - goodness(b));
  return (
    <svg className="parallel" viewBox={`0 0 ${PC.width} ${PC.height}`} data-testid="parallel-coordinates" role="img" aria-label="parallel coordinates of the trials">
      {axes.map((a, i) => (
        <g key={a}>
          <line x1={PC.side + i * step} x2={PC.side + i * step} y1={PC.top} y2={PC.top + span} className="pc-axis" />
          <text x={PC.side + i * step} y={PC.top - 8} textAnchor={i === 0 ? "start" : i === axes.length - 1 ? "end" : "middle"} className="pc-label">
            {a === "value" ? study.objective : shortKey(a).split(".").pop()}
          </text>
        </g>
      ))}
      {ordered.map((t) => {
        const g = goodness(t);
        const points = scales.map((s, i) => `${PC.side + i * step},${PC.top + (1 - s(t)) * span}`).join(" ");
        const best = study.best?.number === t.number;
        return (
          <polyline key={t.number} points={points} className={best ? "pc-line best" : "pc-line"} style={{ opacity: 0.25 + 0.75 * g }}>
            <title>
              trial {t.number}: {fmt(t.value)}
            </title>
          </polyline>
        );
      })}
    </svg>
  );
}

function Importances({ values }: { values: Record<string, number> }) {
  const entries = Object.entries(values).sort((a, b) => b[1] - a[1]);
  const top = Math.max(...entries.map((e) => e[1]), 1e-9);
  return (
    <div className="importances" data-testid="importances">
      <h4>Param importance</h4>
      {entries.map(([k, v]) => (
        <div key={k} className="importance">
          <span className="mono small">{shortKey(k)}</span>
          <span className="bar" style={{ width: `${(v / top) * 100}%` }} />
          <span className="mono small">{v.toFixed(2)}</span>
        </div>
      ))}
    </div>
  );
}


function StudyView({ summary, onOpen }: { summary: StudySummary; onOpen: () => void }) {
  const detail = useStudies((s) => (s.detail?.id === summary.id ? s.detail : null));
  const { loadDetail, stop } = useStudies();
  const flow = useReactFlow();
  const [error, setError] = useState<string | null>(null);
  const running = (detail?.status ?? summary.status) === "running";
  // The list's summary changes as trials finish; the detail follows it, and polls on its own while running.
  const version = `${summary.status}:${JSON.stringify(summary.counts)}`;
  useEffect(() => {
    void loadDetail();
    if (!running) return;
    const t = setInterval(() => void loadDetail(), POLL_MS);
    return () => clearInterval(t);
  }, [loadDetail, running, version]);
  const lines = useMemo(() => (detail ? bestSoFar(detail) : []), [detail]);

  const openBest = async () => {
    const runId = detail?.best?.run_id;
    if (!runId) return;
    setError(null);
    try {
      const run = await ok(client.GET("/api/runs/{run_id}", { params: { path: { run_id: runId } } }));
      useLibrary.getState().detach();
      openGraph(flow, run.graph);
      const { setConfig, setDataset } = useTrain.getState();
      setConfig(run.config as unknown as TrainConfig);
      if (typeof run.dataset.name === "string") setDataset(run.dataset.name);
      useWatchedRun.getState().watch(runId);
      onOpen();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  if (!detail) return <p className="muted">Loading the study…</p>;
  const best = detail.best;
  return (
    <section className="study-view" data-testid="study-view" data-status={detail.status}>
      <div className="study-head">
        <h3>{detail.name}</h3>
        <span className={`badge ${detail.status}`} data-testid="study-status">
          {detail.status}
        </span>
      </div>
      <p className="muted small">
        {detail.sampler} · {detail.direction} {detail.objective} ·{" "}
        {Object.entries(detail.counts)
          .map(([state, n]) => `${n} ${state}`)
          .join(", ") || "no trials yet"}{" "}
        of {detail.budget}
      </p>
      {detail.error && <p className="field-error">{detail.error}</p>}
      {best && (
        <p className="study-best" data-testid="study-best">
          best: trial {best.number}, {detail.objective} <b className="mono">{fmt(best.value)}</b>{" "}
          <span className="muted small">{Object.entries(best.params).map(([k, v]) => `${shortKey(k)}=${fmt(v)}`).join(", ")}</span>
        </p>
      )}
      <div className="row">
        {running && (
          <button onClick={() => void stop(detail.id)} data-testid="study-stop">
            Stop
          </button>
        )}
        {best?.run_id && (
          <button className="primary" onClick={() => void openBest()} data-testid="study-open-best" title="Load the best trial's graph onto the canvas and its config into the Train tab">
            Open best
          </button>
        )}
      </div>
      {error && <FieldError testId="study-error">{error}</FieldError>}
      {lines[0].x.length > 0 && <Chart title={`best ${detail.objective} so far`} lines={lines} xLabel="trial" testId="chart-best" />}
      <ParallelCoordinates study={detail} />
      {detail.importances && Object.keys(detail.importances).length > 0 && <Importances values={detail.importances} />}
      <TrialsTable study={detail} />
    </section>
  );
}

export function SearchTab({ onOpen }: { onOpen: () => void }) {
  const openId = useStudies((s) => s.openId);
  const summary = useStudies((s) => s.studies.find((x) => x.id === openId) ?? null);
  return (
    <div className="search-tab" data-testid="search-tab">
      <StartForm />
      <StudyList />
      {summary && <StudyView key={summary.id} summary={summary} onOpen={onOpen} />}
    </div>
  );
}
