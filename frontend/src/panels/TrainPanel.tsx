// Dataset, training config, Train/Stop, live progress and charts, then results and downloads.
import { useMemo, useState } from "react";
import { api } from "../api/client";
import { useCatalog } from "../stores/catalog";
import { useGraph } from "../stores/graph";
import { useRun } from "../stores/run";
import { useRuns } from "../stores/runs";
import { useTrain } from "../stores/train";
import { DatasetView } from "./DatasetView";
import { Results } from "./Results";
import { RunCharts } from "./RunCharts";
import { type JsonSchema, SchemaForm } from "./SchemaForm";

/** The graph's output names (an Output's `name` param, else its id). A string selector: dragging nodes does not re-render. */
function useOutputNames(): string[] {
  const joined = useGraph((s) =>
    s.nodes
      .filter((n) => n.data.type === "Output")
      .map((n) => (typeof n.data.params.name === "string" && n.data.params.name ? n.data.params.name : n.id))
      .join("\n"),
  );
  return useMemo(() => (joined ? joined.split("\n") : []), [joined]);
}

function Progress() {
  const progress = useRun((s) => s.progress);
  const status = useRun((s) => s.status);
  if (!progress) return status ? <div className="progress-text">{status}</div> : null;
  const { epoch, epochs, step, steps, secondsPerEpoch } = progress;
  const done = epochs ? ((epoch - 1 + (steps ? step / steps : 1)) / epochs) * 100 : 0;
  const left = secondsPerEpoch && epochs ? Math.max(0, (epochs - epoch) * secondsPerEpoch) : null;
  return (
    <div className="progress" data-testid="progress">
      <div className="bar">
        <div style={{ width: `${Math.min(100, status === "completed" ? 100 : done)}%` }} />
      </div>
      <div className="progress-text">
        <span data-testid="run-status">{status}</span> · epoch {epoch}/{epochs || "?"} · step {step}/{steps || "?"}
        {left !== null && status === "running" && ` · ${left < 60 ? `${left.toFixed(0)} s` : `${(left / 60).toFixed(1)} min`} left`}
      </div>
    </div>
  );
}

export function TrainPanel() {
  const catalog = useCatalog((s) => s.catalog);
  const { dataset, config, setDataset, patch } = useTrain();
  const runId = useRun((s) => s.runId);
  const status = useRun((s) => s.status);
  const series = useRun((s) => s.series);
  const runError = useRun((s) => s.error);
  const outputs = useOutputNames();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!catalog) return null;
  const ds = catalog.datasets.find((d) => d.name === dataset) ?? catalog.datasets[0];
  const optimizer = catalog.optimizers.find((o) => o.type === config.optimizer.type) ?? catalog.optimizers[0];
  const running = status === "running" || status === "queued";
  const lossFor = (out: string) => (typeof config.loss === "string" ? config.loss : (config.loss[out] ?? "mse"));
  const metricsList = Array.isArray(config.metrics) ? config.metrics : Object.values(config.metrics).flat();

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const graph = useGraph.getState().toJSON();
      const created = await api<{ id: string }>("/api/runs", {
        method: "POST",
        json: { graph, dataset: { name: ds.name }, config },
      });
      useRun.getState().watch(created.id);
      void useRuns.getState().refresh();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const runView = runId && (
    <section data-testid="run-view">
      <Progress />
      {runError && <p className="node-error">{runError}</p>}
      <RunCharts series={series} />
      {status === "completed" || status === "stopped" ? <Results runId={runId} /> : null}
    </section>
  );
  return (
    <div className="train-panel" data-testid="train-panel">
      <div className="train-actions">
        <button className="primary" disabled={busy || running} onClick={() => void start()} data-testid="btn-train">
          Train
        </button>
        <button disabled={!running} onClick={() => void useRun.getState().stop()} data-testid="btn-stop">
          Stop
        </button>
      </div>
      {error && (
        <pre className="node-error" data-testid="train-error">
          {error}
        </pre>
      )}
      {runView}
      <details className="settings" open={!runId} data-testid="train-settings">
        <summary>Dataset and training settings</summary>
      <section>
        <h3>Dataset</h3>
        <select value={ds.name} onChange={(e) => setDataset(e.target.value)} data-testid="dataset-select">
          {catalog.datasets.map((d) => (
            <option key={d.name} value={d.name}>
              {d.name} — {d.task}, {d.size}
            </option>
          ))}
        </select>
        <DatasetView dataset={ds} />
      </section>
      <section>
        <h3>Optimizer</h3>
        <select
          value={config.optimizer.type}
          onChange={(e) => patch({ optimizer: { type: e.target.value, lr: config.optimizer.lr } })}
          data-testid="optimizer-select"
        >
          {catalog.optimizers.map((o) => (
            <option key={o.type} value={o.type}>
              {o.type}
            </option>
          ))}
        </select>
        <SchemaForm
          schema={optimizer.params_schema as JsonSchema}
          values={config.optimizer}
          onChange={(v) => patch({ optimizer: { ...(v as typeof config.optimizer), type: config.optimizer.type } })}
          testPrefix="opt"
          skip={["type"]}
        />
      </section>
      <section>
        <h3>Learning-rate schedule</h3>
        <select
          value={(config.schedule?.type as string | undefined) ?? ""}
          onChange={(e) => patch({ schedule: e.target.value ? { type: e.target.value } : null })}
          data-testid="schedule-select"
        >
          <option value="">constant</option>
          {catalog.schedules.map((o) => (
            <option key={o.type} value={o.type} title={o.doc}>
              {o.type}
            </option>
          ))}
        </select>
        {config.schedule && (
          <SchemaForm
            schema={(catalog.schedules.find((o) => o.type === config.schedule?.type)?.params_schema ?? {}) as JsonSchema}
            values={config.schedule}
            onChange={(v) => patch({ schedule: { ...v, type: config.schedule?.type } })}
            testPrefix="schedule"
            skip={["type"]}
          />
        )}
        <NumberField label="gradient clip" value={(config.grad_clip as number | null) ?? 0} min={0} step={0.1}
          onChange={(v) => patch({ grad_clip: v > 0 ? v : null })} />
      </section>
      <section>
        <h3>Loss and metrics</h3>
        {(outputs.length ? outputs : ["(output)"]).map((out) => (
          <label key={out} className="field">
            <span className="field-name">loss{outputs.length > 1 ? ` of ${out}` : ""}</span>
            <select
              value={lossFor(out)}
              data-testid={`loss-${out}`}
              onChange={(e) => {
                if (outputs.length <= 1) patch({ loss: e.target.value });
                else patch({ loss: Object.fromEntries(outputs.map((o) => [o, o === out ? e.target.value : lossFor(o)])) });
              }}
            >
              {catalog.losses.map((l) => (
                <option key={l.type} value={l.type} title={l.doc}>
                  {l.type}
                </option>
              ))}
            </select>
          </label>
        ))}
        <div className="checks">
          {catalog.metrics.map((m) => (
            <label key={m.type} title={m.doc}>
              <input
                type="checkbox"
                checked={metricsList.includes(m.type)}
                onChange={(e) => {
                  const next = e.target.checked ? [...metricsList, m.type] : metricsList.filter((x) => x !== m.type);
                  patch({ metrics: outputs.length > 1 ? Object.fromEntries(outputs.map((o) => [o, next])) : next });
                }}
              />
              {m.type}
            </label>
          ))}
        </div>
      </section>
      <section className="grid2">
        <NumberField label="epochs" value={config.epochs} min={1} onChange={(epochs) => patch({ epochs })} />
        <NumberField label="batch size" value={config.batch_size} min={1} onChange={(batch_size) => patch({ batch_size })} />
        <NumberField label="validation split" value={config.validation_split} min={0} max={0.9} step={0.05}
          onChange={(validation_split) => patch({ validation_split })} />
        <NumberField label="seed" value={config.seed} min={0} onChange={(seed) => patch({ seed })} />
        <NumberField label="L1" value={config.regularization.l1} min={0} step={0.0001}
          onChange={(l1) => patch({ regularization: { ...config.regularization, l1 } })} />
        <NumberField label="L2" value={config.regularization.l2} min={0} step={0.0001}
          onChange={(l2) => patch({ regularization: { ...config.regularization, l2 } })} />
      </section>
      <section>
        <label className="check">
          <input
            type="checkbox"
            checked={config.early_stopping !== null}
            onChange={(e) =>
              patch({ early_stopping: e.target.checked ? { monitor: "val_loss", patience: 3, restore_best_weights: true } : null })
            }
            data-testid="early-stopping"
          />
          early stopping
        </label>
        {config.early_stopping && (
          <div className="grid2">
            <label className="field">
              <span className="field-name">monitor</span>
              <input
                value={config.early_stopping.monitor}
                onChange={(e) => patch({ early_stopping: { ...config.early_stopping!, monitor: e.target.value } })}
              />
            </label>
            <NumberField label="patience" value={config.early_stopping.patience} min={0}
              onChange={(patience) => patch({ early_stopping: { ...config.early_stopping!, patience } })} />
          </div>
        )}
      </section>
      </details>
    </div>
  );
}

function NumberField(props: { label: string; value: number; min?: number; max?: number; step?: number; onChange: (v: number) => void }) {
  return (
    <label className="field">
      <span className="field-name">{props.label}</span>
      <input
        type="number"
        value={props.value}
        min={props.min}
        max={props.max}
        step={props.step ?? 1}
        data-testid={`cfg-${props.label.replace(/\s+/g, "-")}`}
        onChange={(e) => e.target.value !== "" && props.onChange(Number(e.target.value))}
      />
    </label>
  );
}
