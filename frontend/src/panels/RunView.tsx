// The watched run: status, progress with time left, live charts, log, then results.
import { useReactFlow } from "@xyflow/react";
import { useGraph } from "../stores/graph";
import { FINAL, fractionDone, secondsLeft, useWatchedRun } from "../stores/watchedRun";
import { HealthLegend } from "./insight/HealthLegend";
import { InsightButton } from "./insight/Insight";
import { Results } from "./Results";
import { RunCharts } from "./RunCharts";
import { SampleGrid } from "./runs/SampleGrid";

export function duration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

function ProgressBar() {
  const progress = useWatchedRun((s) => s.progress);
  const status = useWatchedRun((s) => s.status);
  const connected = useWatchedRun((s) => s.connected);
  const live = status === "running" || status === "queued";
  const done = status === "completed" ? 1 : progress ? fractionDone(progress) : 0;
  const left = progress && live ? secondsLeft(progress) : null;
  const elapsed = progress?.epochSeconds.reduce((a, b) => a + b, 0) ?? 0;
  return (
    <div className="progress" data-testid="progress">
      <div className={`bar ${status ?? ""}`}>
        <div style={{ width: `${(done * 100).toFixed(1)}%` }} />
      </div>
      <div className="progress-text">
        <span className={`badge ${status ?? ""}`} data-testid="run-status">
          {status ?? "connecting"}
        </span>
        {progress && (
          <span data-testid="progress-text">
            epoch {Math.min(progress.epoch, progress.epochs || progress.epoch)}/{progress.epochs || "?"}
            {(live || status === "paused") && progress.steps ? ` · step ${progress.step}/${progress.steps}` : ""}
            {status === "completed" && progress.epochs > progress.epochsDone ? " · stopped early" : ""}
          </span>
        )}
        <span className="grow" />
        {live && !connected && <span className="muted">reconnecting…</span>}
        {left !== null && <span data-testid="eta">{duration(left)} left</span>}
        {!live && elapsed > 0 && (
          <span className="muted" title="training time (sum of the epochs)">
            {duration(elapsed)}
          </span>
        )}
      </div>
    </div>
  );
}

function Log() {
  const logs = useWatchedRun((s) => s.logs);
  if (!logs.length) return null;
  return (
    <details className="log">
      <summary>Log ({logs.length})</summary>
      <div className="log-lines">
        {logs.map((l) => (
          <div key={l.seq} className={`log-line ${l.type === "error" ? "error" : l.level}`}>
            {l.type === "error" && l.node ? <b>{l.node}: </b> : null}
            {l.message}
          </div>
        ))}
      </div>
    </details>
  );
}

export function RunView() {
  const runId = useWatchedRun((s) => s.runId);
  const info = useWatchedRun((s) => s.info);
  const status = useWatchedRun((s) => s.status);
  const series = useWatchedRun((s) => s.series);
  const error = useWatchedRun((s) => s.error);
  const errorNode = useWatchedRun((s) => s.errorNode);
  const flow = useReactFlow();
  if (!runId) return null;
  const live = !status || status === "running" || status === "queued";
  const showNode = (id: string) => {
    const node = useGraph.getState().nodes.find((n) => n.id === id);
    if (!node) return;
    useGraph.getState().onNodesChange(useGraph.getState().nodes.map((n) => ({ type: "select", id: n.id, selected: n.id === id })));
    void flow.setCenter(node.position.x + 94, node.position.y + 37, { zoom: Math.max(flow.getZoom(), 0.9), duration: 300 });
  };
  return (
    <section className="run-view" data-testid="run-view">
      <div className="run-title">
        <b>{info?.name ?? "Run"}</b>
        <span className="muted small">
          <span data-testid="run-id">{runId}</span>
          {info ? ` · ${String(info.dataset.name ?? info.dataset.id ?? "")}` : ""}
        </span>
      </div>
      <ProgressBar />
      {error && (
        <div className="node-error" data-testid="run-error">
          {error}
          {errorNode && (
            <button className="link" onClick={() => showNode(errorNode)}>
              Show '{errorNode}'
            </button>
          )}
        </div>
      )}
      <SampleGrid />
      <RunCharts series={series} live={live} />
      <HealthLegend />
      <Log />
      {status && FINAL.has(status) && status !== "failed" ? <InsightButton runId={runId} graph={info?.graph} /> : null}
      {status && FINAL.has(status) && status !== "failed" ? <Results runId={runId} /> : null}
    </section>
  );
}
