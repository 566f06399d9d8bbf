// The training config (docs/training-config.md) as a form: dataset, optimizer from the catalog's schemas, schedule, loss and
// metrics per output, epochs, batch size, validation split, seed, L1/L2, gradient clipping, device, precision,
// data-parallel workers (on a Ray server), early stopping.
import { useMemo } from "react";
import type { Catalog, Schemas } from "../api/client";
import { bindings } from "../lib/binding";
import { outputName } from "../lib/graph";
import { oneOf } from "../lib/params";
import { useDatasets } from "../stores/datasets";
import { useGraph } from "../stores/graph";
import { type PanelConfig, type TrainConfig, useTrain } from "../stores/train";
import { useConfigError } from "../lib/serverErrors";
import { Doc } from "../ui/Doc";
import { NumberInput } from "../ui/NumberInput";
import { ChosenUpload } from "./DataTab";
import { DatasetView } from "./DatasetView";
import { type JsonSchema, SchemaForm } from "./SchemaForm";

/** The graph's output names (an Output's `name` param, else its id). A string selector: dragging does not re-render. */
export function useOutputNames(): string[] {
  const joined = useGraph((s) =>
    s.nodes
      .filter((n) => n.data.type === "Output")
      .map(outputName)
      .join("\n"),
  );
  return useMemo(() => (joined ? joined.split("\n") : []), [joined]);
}

type LossSpec = string | Schemas["LossSpec"];
type Optimizer = PanelConfig["optimizer"];
type Schedule = NonNullable<TrainConfig["schedule"]>;
type EarlyStopping = NonNullable<TrainConfig["early_stopping"]>;

const PRECISIONS: NonNullable<TrainConfig["precision"]>[] = ["32", "bf16-mixed", "16-mixed"];
const MODES: NonNullable<EarlyStopping["mode"]>[] = ["auto", "min", "max"];
/** Early stopping as the checkbox turns it on; a config that leaves a field out gets the server's default. */
const STOPPING = { monitor: "val_loss", patience: 3, restore_best_weights: true, mode: "auto", min_delta: 0 } satisfies EarlyStopping;

/** One loss object, not one per output: the server reads a `type` string as that (docs/training-config.md). */
function isSpec(loss: Schemas["LossSpec"] | Record<string, LossSpec>): loss is Schemas["LossSpec"] {
  return typeof loss.type === "string";
}

function lossEntry(config: PanelConfig, out: string, outputs: string[]): { type: string; weight: number } {
  const loss = config.loss;
  let spec: LossSpec | undefined;
  if (typeof loss === "string" || isSpec(loss)) spec = loss;
  else spec = loss[out] ?? (outputs.length <= 1 ? Object.values(loss)[0] : undefined);
  if (spec === undefined) return { type: "mse", weight: 1 };
  return typeof spec === "string" ? { type: spec, weight: 1 } : { type: spec.type, weight: spec.weight ?? 1 };
}

function metricList(config: PanelConfig, out: string, outputs: string[]): string[] {
  const metrics = config.metrics;
  if (Array.isArray(metrics)) return metrics;
  return metrics[out] ?? (outputs.length <= 1 ? (Object.values(metrics)[0] ?? []) : []);
}

export function TrainSettings({ catalog }: { catalog: Catalog }) {
  const { dataset, config, setDataset, patch } = useTrain();
  const upload = useDatasets((s) => s.chosen);
  const uploads = useDatasets((s) => s.uploads);
  const outputs = useOutputNames();
  const ds = catalog.datasets.find((d) => d.name === dataset) ?? catalog.datasets[0];
  const optimizer = catalog.optimizers.find((o) => o.type === config.optimizer.type) ?? catalog.optimizers[0];
  const named = outputs.length ? outputs : ["output"];
  const multi = outputs.length > 1;
  const devices = catalog.devices ?? [];
  const autoDevice = devices.find((d) => d.auto);
  const device = config.device ?? "auto";
  const workers = workersField(catalog);

  const setLoss = (out: string, type: string, weight: number) => {
    if (!multi) return patch({ loss: type });
    const loss = Object.fromEntries(
      outputs.map((o) => {
        const e = o === out ? { type, weight } : lossEntry(config, o, outputs);
        return [o, e.weight === 1 ? e.type : e];
      }),
    );
    patch({ loss });
  };
  const setMetrics = (out: string, list: string[]) => {
    if (!multi) return patch({ metrics: list });
    patch({ metrics: Object.fromEntries(outputs.map((o) => [o, o === out ? list : metricList(config, o, outputs)])) });
  };
  /** The metrics a run will report, each with the direction its metric declares in the catalog (losses: min). */
  const monitors = useMemo(() => {
    const declared = new Map(catalog.metrics.map((m) => [m.type, m.direction]));
    const names: [string, string][] = [["loss", "min"]];
    for (const out of named) {
      if (multi) names.push([`${out}_loss`, "min"]);
      for (const m of metricList(config, out, outputs)) names.push([multi ? `${out}_${m}` : m, declared.get(m) ?? "min"]);
    }
    return new Map([...names.map(([n, d]): [string, string] => [`val_${n}`, d]), ...names]);
  }, [catalog, config, named, multi, outputs]);
  const stopping = config.early_stopping && { ...STOPPING, ...config.early_stopping };
  const schedule = config.schedule;

  return (
    <div className="train-settings">
      <section>
        <h3>Dataset</h3>
        <select
          value={upload ? `upload:${upload}` : ds.name}
          onChange={(e) => {
            const id = e.target.value.startsWith("upload:") ? e.target.value.slice(7) : null;
            useDatasets.getState().choose(id);
            if (!id) setDataset(e.target.value);
          }}
          data-testid="dataset-select"
        >
          {catalog.datasets.map((d) => (
            <option key={d.name} value={d.name}>
              {d.name} — {d.task}, {d.size.toLocaleString("en-US")} samples
            </option>
          ))}
          {uploads.length > 0 && (
            <optgroup label="Your uploads (Data tab)">
              {uploads.map((u) => (
                <option key={u.id} value={`upload:${u.id}`}>
                  {u.name} — {u.kind}, {u.rows.toLocaleString("en-US")} rows
                </option>
              ))}
            </optgroup>
          )}
        </select>
        {upload ? (
          <ChosenUpload />
        ) : (
          <>
            <DatasetView dataset={ds} />
            <Binding dataset={ds} />
          </>
        )}
      </section>

      <section>
        <h3>Optimizer</h3>
        <select
          value={config.optimizer.type}
          onChange={(e) => patch({ optimizer: { type: e.target.value as Optimizer["type"], lr: config.optimizer.lr } })}
          data-testid="optimizer-select"
          title={optimizer.doc}
        >
          {catalog.optimizers.map((o) => (
            <option key={o.type} value={o.type} title={o.doc}>
              {o.type}
            </option>
          ))}
        </select>
        <Doc text={optimizer.doc} className="doc small" />
        <SchemaForm
          schema={optimizer.params_schema as JsonSchema}
          values={config.optimizer}
          onChange={(v) => patch({ optimizer: { ...v, type: config.optimizer.type } as Optimizer })}
          testPrefix="opt"
          skip={["type"]}
          compact
        />
      </section>

      <section>
        <h3>Learning-rate schedule</h3>
        <select
          value={config.schedule?.type ?? ""}
          onChange={(e) => patch({ schedule: e.target.value ? { type: e.target.value as Schedule["type"] } : null })}
          data-testid="schedule-select"
        >
          <option value="">constant</option>
          {catalog.schedules.map((o) => (
            <option key={o.type} value={o.type} title={o.doc}>
              {o.type}
            </option>
          ))}
        </select>
        {schedule && (
          <SchemaForm
            schema={(catalog.schedules.find((o) => o.type === schedule.type)?.params_schema ?? {}) as JsonSchema}
            values={schedule}
            onChange={(v) => patch({ schedule: { ...v, type: schedule.type } as Schedule })}
            testPrefix="schedule"
            skip={["type"]}
            compact
          />
        )}
      </section>

      <section>
        <h3>Loss and metrics{multi ? " per output" : ""}</h3>
        {named.map((out) => {
          const loss = lossEntry(config, out, outputs);
          const picked = metricList(config, out, outputs);
          return (
            <div key={out} className={multi ? "output-block" : undefined} data-testid={`output-${out}`}>
              {multi && <div className="output-name">{out}</div>}
              <div className={multi ? "grid-loss" : undefined}>
                <label className="field">
                  <span className="field-name">loss</span>
                  <select value={loss.type} data-testid={`loss-${out}`} onChange={(e) => setLoss(out, e.target.value, loss.weight)}>
                    {catalog.losses.map((l) => (
                      <option key={l.type} value={l.type} title={l.doc}>
                        {l.type}
                      </option>
                    ))}
                  </select>
                </label>
                {multi && (
                  <NumberField label="weight" value={loss.weight} min={0} step={0.1} testId={`loss-weight-${out}`}
                    onChange={(w) => setLoss(out, loss.type, w)} />
                )}
              </div>
              <div className="checks">
                {catalog.metrics.map((m) => (
                  <label key={m.type} title={m.doc}>
                    <input
                      type="checkbox"
                      checked={picked.includes(m.type)}
                      data-testid={`metric-${out}-${m.type}`}
                      onChange={(e) => setMetrics(out, e.target.checked ? [...picked, m.type] : picked.filter((x) => x !== m.type))}
                    />
                    {m.type}
                  </label>
                ))}
              </div>
            </div>
          );
        })}
      </section>

      <section>
        <h3>Training</h3>
        <div className="grid2">
          <NumberField label="epochs" value={config.epochs} min={1} onChange={(epochs) => patch({ epochs })} />
          <NumberField label="batch size" value={config.batch_size} min={1} onChange={(batch_size) => patch({ batch_size })} />
          <NumberField label="validation split" value={config.validation_split} min={0} max={0.9} step={0.05}
            onChange={(validation_split) => patch({ validation_split })} />
          <NumberField label="seed" value={config.seed} min={0} onChange={(seed) => patch({ seed })} />
          <NumberField label="L1" value={config.regularization?.l1 ?? 0} min={0} step={0.0001}
            onChange={(l1) => patch({ regularization: { ...(config.regularization ?? { l1: 0, l2: 0 }), l1 } })} />
          <NumberField label="L2" value={config.regularization?.l2 ?? 0} min={0} step={0.0001}
            onChange={(l2) => patch({ regularization: { ...(config.regularization ?? { l1: 0, l2: 0 }), l2 } })} />
          <NumberField label="gradient clip" value={config.grad_clip ?? 0} min={0} step={0.1}
            hint="max gradient norm; 0 = off" onChange={(v) => patch({ grad_clip: v > 0 ? v : null })} />
          <label className="field" title="Where the run trains: auto takes the server's first CUDA GPU, else the CPU">
            <span className="field-name">device</span>
            <select value={device} data-testid="device-select"
              onChange={(e) => patch({ device: e.target.value, precision: "32" })}>
              <option value="auto">auto ({autoDevice?.name ?? "cpu"})</option>
              {devices.map((d) => (
                <option key={d.name} value={d.name} title={d.description}>
                  {d.name}
                </option>
              ))}
            </select>
          </label>
          <label className="field" title="bf16-mixed / 16-mixed: forward pass and loss in half precision (autocast)">
            <span className="field-name">precision</span>
            <select value={config.precision ?? "32"} data-testid="precision-select"
              onChange={(e) => patch({ precision: oneOf(e.target.value, PRECISIONS, "32") })}>
              {(devices.find((d) => d.name === (device === "auto" ? autoDevice?.name : device))?.precisions ?? ["32"]).map(
                (p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ),
              )}
            </select>
          </label>
          {/* Only a Ray server trains data-parallel; elsewhere the field shows only to fix a config that asks for it. */}
          {(catalog.executor === "ray" || (config.workers ?? 1) > 1) && (
            <NumberField label="workers" value={config.workers ?? 1} min={workers.minimum} max={workers.maximum}
              hint={workers.description} onChange={(n) => patch({ workers: n })} />
          )}
        </div>
      </section>

      <section>
        <label className="check">
          <input
            type="checkbox"
            checked={Boolean(stopping)}
            onChange={(e) =>
              patch({ early_stopping: e.target.checked ? STOPPING : null })
            }
            data-testid="early-stopping"
          />
          <b>Early stopping</b>
        </label>
        {stopping && (
          <div className="grid2">
            <label className="field">
              <span className="field-name">monitor</span>
              <select
                value={stopping.monitor}
                onChange={(e) => patch({ early_stopping: { ...stopping, monitor: e.target.value } })}
                data-testid="es-monitor"
              >
                {[...new Set([stopping.monitor, ...monitors.keys()])].map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
            </label>
            <label className="field">
              <span className="field-name">mode</span>
              <select
                value={stopping.mode ?? "auto"}
                onChange={(e) => patch({ early_stopping: { ...stopping, mode: oneOf(e.target.value, MODES, "auto") } })}
                data-testid="es-mode"
              >
                {MODES.map((m) => (
                  <option key={m} value={m}>
                    {m === "auto" && monitors.has(stopping.monitor) ? `auto (${monitors.get(stopping.monitor)})` : m}
                  </option>
                ))}
              </select>
            </label>
            <NumberField label="patience" value={stopping.patience} min={0}
              onChange={(patience) => patch({ early_stopping: { ...stopping, patience } })} />
            <NumberField label="min delta" value={stopping.min_delta ?? 0} min={0} step={0.001}
              onChange={(min_delta) => patch({ early_stopping: { ...stopping, min_delta } })} />
            <label className="check span2">
              <input
                type="checkbox"
                checked={stopping.restore_best_weights}
                onChange={(e) => patch({ early_stopping: { ...stopping, restore_best_weights: e.target.checked } })}
              />
              restore the best weights
            </label>
          </div>
        )}
      </section>
    </div>
  );
}

/** The bounds and description of the config's `workers` (data-parallel runs) from the catalog's config schema. */
function workersField(catalog: Catalog): JsonSchema {
  const schema = catalog.config_schema as JsonSchema;
  return schema.properties?.workers ?? { minimum: 1 };
}

/** Which field each Input and Output will read, as the server binds them; problems in amber. */
function Binding({ dataset }: { dataset: Catalog["datasets"][number] }) {
  const nodes = useGraph((s) => s.nodes);
  // Recomputed only when the graph's structure changes, not on every drag frame.
  const key = useGraph((s) =>
    s.nodes
      .filter((n) => n.data.type === "Input" || n.data.type === "Output")
      .map((n) => `${n.id}:${JSON.stringify(n.data.params)}`)
      .join("|"),
  );
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const bound = useMemo(() => bindings(nodes, dataset), [key, dataset]);
  if (!bound.length) return null;
  return (
    <div className="binding" data-testid="binding">
      {bound.map((b) => (
        <div key={`${b.kind}-${b.name}`} className={b.problem ? "bind-row warn" : "bind-row"}>
          <span className="muted">{b.kind}</span>
          <span className="mono">{b.name}</span>
          <span>{b.problem ? `⚠ ${b.problem}` : b.kind === "Input" ? `reads ${b.field}` : `learns ${b.field}`}</span>
        </div>
      ))}
    </div>
  );
}

function NumberField(props: {
  label: string;
  value: number;
  min?: number;
  max?: number;
  step?: number;
  hint?: string;
  testId?: string;
  /** The config path the server names in a 422 (default: the label, "batch size" -> batch_size). */
  path?: string;
  onChange: (v: number) => void;
}) {
  const refused = useConfigError(props.path ?? props.label.replace(/\s+/g, "_"), props.value);
  return (
    <label className="field" title={props.hint}>
      <span className="field-name">{props.label}</span>
      <NumberInput
        value={props.value}
        bounds={{ minimum: props.min, maximum: props.max, integer: props.step === undefined }}
        step={props.step ?? 1}
        onChange={props.onChange}
        testId={props.testId ?? `cfg-${props.label.replace(/\s+/g, "-")}`}
        label={props.label}
        error={refused}
      />
    </label>
  );
}
