// The Data tab: upload your own data (drop a file or pick one; progress while it is sent), the list of uploads,
// and for the chosen one what a run will read: columns with their types and statistics (choose the target and
// the features there), a preview, sample images per class, the tensor each graph Input receives and whether it
// fits, preprocessing, the split and, for images, augmentation with a preview strip.
import { useEffect, useMemo, useRef, useState } from "react";
import { client, ok } from "../api/client";
import { bindings } from "../lib/binding";
import {
  type Augmentation,
  type DatasetOptions,
  type Preprocessing,
  type UploadDetail,
  detailFields,
  noAugmentation,
  optionsOf,
  splitCounts,
  useDatasets,
} from "../stores/datasets";
import { useGraph } from "../stores/graph";
import { useTrain } from "../stores/train";
import { useUi } from "../stores/ui";
import { Sources } from "./data/Sources";
import { TokenSamples } from "./DatasetView";

const ACCEPT = ".csv,.tsv,.txt,.parquet,.zip,.npz";

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 ** 2).toFixed(1)} MB`;
}

function num(v: number | null | undefined): string {
  return v === null || v === undefined ? "" : Number(v.toPrecision(4)).toLocaleString("en-US");
}

/** Classes listed in full in the Columns table up to this many; past it, the first few and how many there are. */
const CLASSES_SHOWN = 10;

type Column = UploadDetail["columns"][number];

/**
 * A column's "values" cell: its classes with their counts when there are few (`0 (24), 1 (96)`), else a number
 * column's range and mean (an integer column such as an age, whose 45 values the server counts in case it is the
 * target, was listed one per line, `18 (1), 19 (1), …`, down the whole tab), else the first classes and how many.
 */
export function columnValues(c: Column): string {
  const classes = Object.entries(c.classes ?? {});
  const listed = (list: [string, number][]) => list.map(([k, n]) => `${k} (${n})`).join(", ");
  if (classes.length && classes.length <= CLASSES_SHOWN) return listed(classes);
  if (c.min !== null && c.min !== undefined) return `${num(c.min)} … ${num(c.max)}, mean ${num(c.mean)}`;
  if (classes.length) return `${listed(classes.slice(0, CLASSES_SHOWN - 2))}, … ${c.distinct ?? classes.length} distinct`;
  return c.shape ? `[${c.shape.join(", ")}]` : `${c.distinct ?? "?"} distinct`;
}

export function DataTab() {
  const { uploads, chosen, detail, detailError, listError } = useDatasets();
  useEffect(() => {
    void useDatasets.getState().refresh();
  }, []);
  useEffect(() => {
    if (chosen && !detail) void useDatasets.getState().loadDetail();
  }, [chosen, detail]);
  return (
    <div className="data-tab" data-testid="data-tab">
      <DropZone />
      {listError && <p className="node-error">{listError}</p>}
      <UploadList />
      <Sources />
      {!chosen && (
        <p className="muted small" data-testid="data-builtin">
          {uploads.length ? "Choose an upload to train on it; otherwise" : "Without an upload,"} runs use the built-in
          dataset chosen in the Train tab.
        </p>
      )}
      {chosen && detailError && (
        <pre className="node-error" data-testid="data-error">
          {detailError}
        </pre>
      )}
      {chosen && detail?.id === chosen && <UploadView detail={detail} />}
    </div>
  );
}

function DropZone() {
  const progress = useDatasets((s) => s.progress);
  const uploading = useDatasets((s) => s.uploading);
  const error = useDatasets((s) => s.uploadError);
  const [over, setOver] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  const send = (files: FileList | null | undefined) => {
    const file = files?.[0];
    if (file) void useDatasets.getState().send(file);
  };
  return (
    <div
      className={`drop-zone${over ? " over" : ""}`}
      data-testid="drop-zone"
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        send(e.dataTransfer.files);
      }}
    >
      {progress === null ? (
        <>
          <div>Drop a data file here</div>
          <div className="muted small">CSV/TSV, Parquet, a ZIP of images (a folder per class, or a CSV of file names and labels), NPZ</div>
          <button onClick={() => picker.current?.click()} data-testid="btn-pick-file">
            Choose a file…
          </button>
          <input
            ref={picker}
            type="file"
            accept={ACCEPT}
            hidden
            data-testid="upload-input"
            onChange={(e) => {
              send(e.target.files);
              e.target.value = "";
            }}
          />
        </>
      ) : (
        <div className="upload-progress" data-testid="upload-progress">
          <div className="small">
            Sending {uploading}… {Math.round(progress * 100)}%{progress >= 1 ? " — reading it" : ""}
          </div>
          <div className="progress">
            <div className="bar">
              <div style={{ width: `${(progress * 100).toFixed(1)}%` }} />
            </div>
          </div>
        </div>
      )}
      {error && (
        <pre className="node-error" data-testid="upload-error">
          {error}
        </pre>
      )}
    </div>
  );
}

function UploadList() {
  const { uploads, chosen, choose } = useDatasets();
  if (!uploads.length) return null;
  return (
    <div className="upload-list" data-testid="upload-list">
      <h3>Your uploads</h3>
      {uploads.map((u) => (
        <div key={u.id} className={`upload-row${u.id === chosen ? " chosen" : ""}`} data-testid={`upload-${u.name}`}>
          <label title={u.id === chosen ? "Runs train on this upload" : "Train on this upload"}>
            <input type="radio" name="upload" checked={u.id === chosen} onChange={() => choose(u.id)} data-testid={`choose-${u.name}`} />
            <b>{u.name}</b>
          </label>
          <span className="muted small">
            {u.kind}, {u.rows.toLocaleString("en-US")} rows, {bytes(u.size_bytes)}
          </span>
          <button
            onClick={() => useDatasets.getState().remove(u.id)}
            data-testid={`delete-${u.name}`}
            title="Delete this upload and its files (a toast offers Undo for a while)"
          >
            Delete
          </button>
        </div>
      ))}
      {chosen && (
        <button className="link" onClick={() => choose(null)} data-testid="use-builtin">
          Train on a built-in dataset instead
        </button>
      )}
    </div>
  );
}

type Role = "target" | "feature" | "unused";

function UploadView({ detail }: { detail: UploadDetail }) {
  const options = useDatasets((s) => s.options[detail.id]) ?? optionsOf(detail.id);
  const set = (patch: Partial<DatasetOptions>) => useDatasets.getState().setOptions(detail.id, patch);
  const images = detail.kind === "images";
  const targets = options.target ?? (detail.default_target ? [detail.default_target] : []);
  const role = (name: string): Role =>
    targets.includes(name) ? "target" : !options.features || options.features.includes(name) ? "feature" : "unused";
  const setRole = (name: string, next: Role) => {
    const columns = detail.columns.map((c) => c.name);
    // a chosen target replaces the default one; further targets add to the chosen ones (several outputs)
    const chosen = options.target ?? [];
    const target = next === "target" ? [...chosen.filter((t) => t !== name), name] : targets.filter((t) => t !== name);
    const features = columns.filter((c) => !target.includes(c) && (c === name ? next === "feature" : role(c) !== "unused"));
    const all = features.length === columns.filter((c) => !target.includes(c)).length;
    set({ target, features: all ? null : features });
  };
  return (
    <div className="upload-view" data-testid="upload-view">
      <h3>
        {detail.name} {detail.file !== detail.name && <span className="muted small">{detail.file}</span>}
      </h3>
      <p className="muted small">
        {detail.kind}, {detail.format}
        {detail.delimiter ? `, delimiter ${JSON.stringify(detail.delimiter)}` : ""}
        {detail.encoding ? `, ${detail.encoding}` : ""}, {detail.rows.toLocaleString("en-US")} rows
      </p>
      {(detail.warnings ?? []).map((w) => (
        <p key={w} className="hint warn small">
          ⚠ {w}
        </p>
      ))}
      <ColumnsTable detail={detail} images={images} role={role} setRole={setRole} options={options} set={set} />
      {detail.problem && (
        <p className="hint warn" data-testid="data-problem">
          ⚠ {detail.problem}
        </p>
      )}
      <InputFit detail={detail} />
      {images ? <ImageSamples detail={detail} /> : <Preview detail={detail} />}
      {detail.kind === "text" && <TokenSamples samples={detail.tokens ?? []} />}
      <PreprocessingForm detail={detail} value={options.preprocessing} onChange={(preprocessing) => set({ preprocessing })} />
      {(detail.pipeline ?? []).length > 0 && (
        <section>
          <h4>What a run will do</h4>
          <ol className="pipeline small" data-testid="pipeline">
            {(detail.pipeline ?? []).map((step) => (
              <li key={step}>{step}</li>
            ))}
          </ol>
        </section>
      )}
      <SplitForm detail={detail} targets={targets} testSplit={options.test_split} onChange={(test_split) => set({ test_split })} />
      {images && (
        <AugmentationForm
          datasetId={detail.id}
          value={options.augmentation ?? noAugmentation()}
          onChange={(augmentation) => set({ augmentation })}
        />
      )}
    </div>
  );
}

function ColumnsTable(props: {
  detail: UploadDetail;
  images: boolean;
  role: (name: string) => Role;
  setRole: (name: string, role: Role) => void;
  options: DatasetOptions;
  set: (patch: Partial<DatasetOptions>) => void;
}) {
  const { detail, images, role, setRole, options, set } = props;
  const overrides = options.preprocessing.columns ?? {};
  const setOp = (name: string, op: string) => {
    const columns = { ...overrides };
    if (op) columns[name] = op as (typeof columns)[string];
    else delete columns[name];
    set({ preprocessing: { ...options.preprocessing, columns } });
  };
  return (
    <section>
      <h4>Columns {images ? "(labels)" : ""}</h4>
      <table className="table compact columns" data-testid="columns-table">
        <thead>
          <tr>
            <th>column</th>
            <th>type</th>
            <th>missing</th>
            <th>values</th>
            <th>use as</th>
            {!images && <th>preprocess</th>}
          </tr>
        </thead>
        <tbody>
          {detail.columns.map((c) => (
            <tr key={c.name} data-testid={`column-${c.name}`}>
              <td className="mono">{c.name}</td>
              <td>{c.dtype}</td>
              <td className={c.missing ? "warn" : "muted"}>{c.missing}</td>
              <td className="small" data-testid={`values-${c.name}`}>
                {columnValues(c)}
              </td>
              <td>
                <select value={role(c.name)} onChange={(e) => setRole(c.name, e.target.value as Role)} data-testid={`role-${c.name}`}>
                  <option value="target">target</option>
                  {!images && <option value="feature">feature</option>}
                  <option value="unused">not used</option>
                </select>
              </td>
              {!images && (
                <td>
                  {role(c.name) === "feature" && c.dtype !== "text" && (
                    <select value={overrides[c.name] ?? ""} onChange={(e) => setOp(c.name, e.target.value)} data-testid={`op-${c.name}`}>
                      <option value="">default</option>
                      {(c.dtype === "categorical" ? ["onehot", "codes"] : ["standardize", "minmax", "none"]).map((op) => (
                        <option key={op}>{op}</option>
                      ))}
                    </select>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The tensor each graph Input will receive with these options, and whether it fits (amber when it does not). */
function InputFit({ detail }: { detail: UploadDetail }) {
  const key = useGraph((s) =>
    s.nodes
      .filter((n) => n.data.type === "Input" || n.data.type === "Output")
      .map((n) => `${n.id}:${JSON.stringify(n.data.params)}`)
      .join("|"),
  );
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const bound = useMemo(() => bindings(useGraph.getState().nodes, detailFields(detail)), [key, detail]);
  const fields = Object.entries(detail.fields);
  return (
    <section>
      <h4>What the graph receives</h4>
      <table className="table compact fields" data-testid="data-fields">
        <thead>
          <tr>
            <th>field</th>
            <th>role</th>
            <th>shape</th>
            <th>dtype</th>
          </tr>
        </thead>
        <tbody>
          {fields.map(([name, f]) => (
            <tr key={name} title={f.classes ? `classes: ${f.classes.join(", ")}` : undefined}>
              <td>
                <b>{name}</b>
              </td>
              <td className={f.role === "target" ? "role-target" : "role-input"}>{f.role}</td>
              <td className="mono">[{f.shape.join(", ")}]</td>
              <td className="mono">
                {f.dtype}
                {f.classes ? ` · ${f.classes.length} classes` : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {bound.length > 0 && (
        <div className="binding" data-testid="data-binding">
          {bound.map((b) => (
            <div key={`${b.kind}-${b.name}`} className={b.problem ? "bind-row warn" : "bind-row"} data-testid={`fit-${b.name}`}>
              <span className="muted">{b.kind}</span>
              <span className="mono">{b.name}</span>
              <span>
                {b.problem
                  ? `⚠ ${b.problem}`
                  : b.kind === "Input"
                    ? `✓ receives ${b.field} [${detail.fields[b.field!]?.shape.join(", ")}] ${detail.fields[b.field!]?.dtype}`
                    : `✓ learns ${b.field}`}
              </span>
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return num(v);
  if (Array.isArray(v)) return `[${v.map(cellText).join(", ")}]`;
  const text = String(v);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function Preview({ detail }: { detail: UploadDetail }) {
  const rows = detail.preview.slice(0, 8);
  if (!rows.length) return null;
  const columns = Object.keys(rows[0]);
  return (
    <section>
      <h4>{detail.kind === "text" ? "Text samples" : "Preview"}</h4>
      <div className="preview-scroll">
        <table className="table compact preview" data-testid="data-preview">
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                {columns.map((c) => (
                  <td key={c} className={typeof r[c] === "string" && String(r[c]).includes(" ") ? "text-cell" : undefined}>
                    {cellText(r[c])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ImageSamples({ detail }: { detail: UploadDetail }) {
  const byClass = new Map<string, string[]>();
  for (const s of detail.samples ?? []) byClass.set(s.label, [...(byClass.get(s.label) ?? []), s.image]);
  const sizes = (detail.images?.sizes ?? {}) as Record<string, number>;
  return (
    <section>
      <h4>Samples per class</h4>
      <p className="muted small">
        sizes: {Object.entries(sizes).map(([s, n]) => `${s} (${n})`).join(", ")}; {String(detail.images?.color ?? "")}
      </p>
      <div className="class-grid" data-testid="image-samples">
        {[...byClass].map(([label, list]) => (
          <div key={label} className="class-row">
            <span className="class-label">{label}</span>
            {list.map((src, i) => (
              <img key={i} src={src} alt={`${label} ${i + 1}`} className="sample-image" />
            ))}
          </div>
        ))}
      </div>
    </section>
  );
}

function Select<T extends string>(props: { label: string; value: T; choices: T[]; onChange: (v: T) => void; testId: string }) {
  return (
    <label className="field">
      <span className="field-name">{props.label}</span>
      <select value={props.value} onChange={(e) => props.onChange(e.target.value as T)} data-testid={props.testId}>
        {props.choices.map((c) => (
          <option key={c}>{c}</option>
        ))}
      </select>
    </label>
  );
}

function Num(props: { label: string; value: number; min: number; max: number; step?: number; onChange: (v: number) => void; testId: string }) {
  return (
    <label className="field">
      <span className="field-name">{props.label}</span>
      <input
        type="number"
        value={props.value}
        min={props.min}
        max={props.max}
        step={props.step ?? 1}
        data-testid={props.testId}
        onChange={(e) => {
          const v = Number(e.target.value);
          if (e.target.value !== "" && v >= props.min && v <= props.max) props.onChange(v);
        }}
      />
    </label>
  );
}

function PreprocessingForm({ detail, value, onChange }: { detail: UploadDetail; value: Preprocessing; onChange: (v: Preprocessing) => void }) {
  const set = (patch: Preprocessing) => onChange({ ...value, ...patch });
  const defaultSize = (detail.images?.default_size as [number, number] | undefined) ?? [28, 28];
  const size = value.image_size ?? defaultSize;
  const hasText = detail.columns.some((c) => c.dtype === "text");
  return (
    <section>
      <h4>Preprocessing</h4>
      <div className="form-grid">
        {detail.kind === "images" ? (
          <>
            <Num label="height" value={size[0]} min={4} max={1024} onChange={(h) => set({ image_size: [h, size[1]] })} testId="pre-height" />
            <Num label="width" value={size[1]} min={4} max={1024} onChange={(w) => set({ image_size: [size[0], w] })} testId="pre-width" />
            <Select
              label="colour"
              value={value.color ?? (detail.images?.color === "rgb" ? "rgb" : "grey")}
              choices={["grey", "rgb"]}
              onChange={(color) => set({ color })}
              testId="pre-color"
            />
          </>
        ) : (
          <>
            <Select label="numbers" value={value.numeric ?? "standardize"} choices={["standardize", "minmax", "none"]} onChange={(numeric) => set({ numeric })} testId="pre-numeric" />
            <Select label="categories" value={value.categorical ?? "onehot"} choices={["onehot", "codes"]} onChange={(categorical) => set({ categorical })} testId="pre-categorical" />
            <Select label="missing" value={value.impute ?? "mean"} choices={["mean", "median", "zero"]} onChange={(impute) => set({ impute })} testId="pre-impute" />
          </>
        )}
        {hasText && (
          <>
            <Select label="tokenizer" value={value.tokenizer ?? "word"} choices={["word", "bpe"]} onChange={(tokenizer) => set({ tokenizer })} testId="pre-tokenizer" />
            <Num label="vocabulary" value={value.vocab_size ?? 5000} min={10} max={200000} onChange={(vocab_size) => set({ vocab_size })} testId="pre-vocab" />
            <Num label="length" value={value.length ?? 64} min={1} max={4096} onChange={(length) => set({ length })} testId="pre-length" />
          </>
        )}
      </div>
    </section>
  );
}

function SplitForm({ detail, targets, testSplit, onChange }: { detail: UploadDetail; targets: string[]; testSplit: number; onChange: (v: number) => void }) {
  const config = useTrain((s) => s.config);
  const patch = useTrain((s) => s.patch);
  const missing = Math.max(0, ...detail.columns.filter((c) => targets.includes(c.name)).map((c) => c.missing));
  const [train, validation, test] = splitCounts(detail.rows - missing, testSplit, config.validation_split);
  return (
    <section>
      <h4>Split</h4>
      <div className="form-grid">
        <Num label="test" value={testSplit} min={0} max={0.9} step={0.05} onChange={onChange} testId="split-test" />
        <Num label="validation" value={config.validation_split} min={0} max={0.9} step={0.05} onChange={(v) => patch({ validation_split: v })} testId="split-validation" />
        <Num label="seed" value={config.seed} min={0} max={2 ** 31 - 1} onChange={(seed) => patch({ seed })} testId="split-seed" />
      </div>
      <p className="small" data-testid="split-counts">
        train {train.toLocaleString("en-US")} · validation {validation.toLocaleString("en-US")} · test {test.toLocaleString("en-US")} rows
        <span className="muted">
          {" "}
          — seeded{targets.length ? `, stratified by ${targets[0]} when it holds classes` : ""}
          {missing ? `; ${missing} rows without a target left out` : ""}
        </span>
      </p>
    </section>
  );
}

function AugmentationForm({ datasetId, value, onChange }: { datasetId: string; value: Augmentation; onChange: (v: Augmentation) => void }) {
  const [shown, setShown] = useState<{ body: string; images: string[] }>({ body: "", images: [] });
  const [error, setError] = useState<string | null>(null);
  const set = (patch: Partial<Augmentation>) => onChange({ ...value, ...patch });
  const body = JSON.stringify(value);
  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      ok(client.POST("/api/datasets/{dataset_id}/augmentation", { params: { path: { dataset_id: datasetId } }, body: value }))
        .then((r) => {
          if (!current) return;
          setShown({ body, images: r.images });
          setError(null);
        })
        .catch((e: Error) => current && setError(e.message));
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [datasetId, body]);
  return (
    <section>
      <h4>Augmentation (training split only, new each epoch)</h4>
      <div className="form-grid">
        <label className="field">
          <span className="field-name">flip left-right</span>
          <input type="checkbox" checked={value.hflip ?? false} onChange={(e) => set({ hflip: e.target.checked })} data-testid="aug-hflip" />
        </label>
        <label className="field">
          <span className="field-name">flip upside down</span>
          <input type="checkbox" checked={value.vflip ?? false} onChange={(e) => set({ vflip: e.target.checked })} data-testid="aug-vflip" />
        </label>
        <Num label="rotation °" value={value.rotation ?? 0} min={0} max={180} onChange={(rotation) => set({ rotation })} testId="aug-rotation" />
        <Num label="crop padding" value={value.crop_padding ?? 0} min={0} max={64} onChange={(crop_padding) => set({ crop_padding })} testId="aug-crop" />
        <Num label="brightness" value={value.brightness ?? 0} min={0} max={1} step={0.05} onChange={(brightness) => set({ brightness })} testId="aug-brightness" />
        <Num label="noise" value={value.noise ?? 0} min={0} max={1} step={0.01} onChange={(noise) => set({ noise })} testId="aug-noise" />
      </div>
      {error && <pre className="node-error">{error}</pre>}
      {/* data-options: the options these images show (a test waits for the ones it set) */}
      <div className="augment-strip" data-testid="augment-strip" data-options={shown.body}>
        {shown.images.map((src, i) => (
          <img key={`${shown.body}-${i}`} src={src} alt={`augmented ${i + 1}`} className="sample-image" />
        ))}
      </div>
    </section>
  );
}

/** The Train tab's view of the chosen upload: its fields for the options set in the Data tab, and the fit. */
export function ChosenUpload() {
  const chosen = useDatasets((s) => s.chosen);
  const detail = useDatasets((s) => s.detail);
  const error = useDatasets((s) => s.detailError);
  useEffect(() => {
    if (chosen && !detail) void useDatasets.getState().loadDetail();
  }, [chosen, detail]);
  if (error) return <pre className="node-error">{error}</pre>;
  if (!detail || detail.id !== chosen) return <p className="muted small">Reading the upload…</p>;
  return (
    <div data-testid="chosen-upload">
      <p className="muted small">
        {detail.name}: {detail.kind}, {detail.rows.toLocaleString("en-US")} rows. Target, features, preprocessing, split
        {detail.kind === "images" ? " and augmentation" : ""} are set in the{" "}
        <button className="link" onClick={() => useUi.getState().setTab("data")}>
          Data tab
        </button>
        .
      </p>
      {detail.problem && <p className="hint warn">⚠ {detail.problem}</p>}
      <InputFit detail={detail} />
    </div>
  );
}
