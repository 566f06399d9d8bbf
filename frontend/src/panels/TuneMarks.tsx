// "tune" toggles: mark a node param (or, in the Search tab, a training setting) as a search dimension, with its
// range (low, high, log) or its list of choices. The marks live in the graph's `search` (lib/search.ts).
import { useEffect, useState } from "react";
import { type Choice, type SearchDimension, defaultDimension, markedParam, nodeKey } from "../lib/search";
import { useGraph } from "../stores/graph";
import { FieldError, NumberInput } from "../ui/NumberInput";
import type { JsonSchema } from "./SchemaForm";
import "./search.css";

export type Tunable = { kind: "int" | "float" | "categorical"; options: Choice[] | null };

function isChoice(v: unknown): v is Choice {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

/** How a param of this schema can vary, or null (text, lists, nested objects cannot). */
export function tunable(schema: JsonSchema): Tunable | null {
  const options = schema.enum ?? (schema.anyOf?.every((s) => s.const !== undefined || s.enum || s.type === "null")
    ? schema.anyOf.flatMap((s) => s.enum ?? (s.const !== undefined ? [s.const] : []))
    : null);
  if (options) return { kind: "categorical", options: options.filter(isChoice) };
  const types = schema.anyOf ? schema.anyOf.map((s) => s.type) : [schema.type];
  const own = types.filter((t) => t !== "null");
  if (own.length !== 1) return null;
  if (own[0] === "integer") return { kind: "int", options: null };
  if (own[0] === "number") return { kind: "float", options: null };
  if (own[0] === "boolean") return { kind: "categorical", options: [true, false] };
  return null;
}

/** Typed choices "16, 32, 64" or "adam, sgd": numbers where they read as numbers. */
function readChoices(text: string): Choice[] {
  return text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => (t === "true" ? true : t === "false" ? false : Number.isFinite(Number(t)) ? Number(t) : t));
}

function ChoiceList({ choices, onChange, testId }: { choices: Choice[]; onChange: (c: Choice[]) => void; testId: string }) {
  const [text, setText] = useState(choices.join(", "));
  return (
    <input
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        onChange(readChoices(e.target.value));
      }}
      aria-label="choices, separated by commas"
      placeholder="choices, separated by commas"
      data-testid={testId}
    />
  );
}

/** The range or the choices of one dimension. */
export function DimensionEditor({
  dim,
  tunable: { kind, options },
  onChange,
  testId,
  error,
}: {
  dim: SearchDimension;
  tunable: Tunable;
  onChange: (dim: SearchDimension) => void;
  testId: string;
  error?: string | null;
}) {
  if (dim.type === "categorical") {
    return (
      <div className="tune-editor">
        {options ? (
          <div className="tune-choices">
            {options.map((c) => (
              <label key={String(c)} className="check">
                <input
                  type="checkbox"
                  checked={dim.choices.includes(c)}
                  onChange={(e) =>
                    onChange({ type: "categorical", choices: e.target.checked ? options.filter((o) => o === c || dim.choices.includes(o)) : dim.choices.filter((o) => o !== c) })
                  }
                  data-testid={`${testId}-choice-${String(c)}`}
                />
                {String(c)}
              </label>
            ))}
          </div>
        ) : (
          <ChoiceList choices={dim.choices} onChange={(choices) => onChange({ type: "categorical", choices })} testId={`${testId}-choices`} />
        )}
        {error && <FieldError testId={`${testId}-error`}>{error}</FieldError>}
      </div>
    );
  }
  const integer = kind === "int";
  return (
    <div className="tune-editor">
      <div className="tune-range">
        <NumberInput value={dim.low} bounds={{ integer }} onChange={(low) => onChange({ ...dim, low })} testId={`${testId}-low`} label="low" />
        <span className="muted">to</span>
        <NumberInput value={dim.high} bounds={{ integer }} onChange={(high) => onChange({ ...dim, high })} testId={`${testId}-high`} label="high" />
        <label className="check" title="sample evenly in log space (needs low > 0)">
          <input type="checkbox" checked={dim.log ?? false} onChange={(e) => onChange({ ...dim, log: e.target.checked })} data-testid={`${testId}-log`} />
          log
        </label>
      </div>
      {error && <FieldError testId={`${testId}-error`}>{error}</FieldError>}
    </div>
  );
}

/** One toggle with its editor: `key` is the space key, `value` the current value (the first range centres on it). */
export function TuneRow({
  spaceKey,
  label,
  value,
  how,
  testId,
  error,
  initial,
}: {
  spaceKey: string;
  label: string;
  value: unknown;
  how: Tunable;
  testId: string;
  error?: string | null;
  /** The dimension a new mark starts with (default: around `value`, or every choice). */
  initial?: SearchDimension;
}) {
  const dim = useGraph((s) => s.search[spaceKey]);
  const setMark = useGraph((s) => s.setMark);
  return (
    <div className={`tune-row${dim ? " on" : ""}`} data-testid={testId}>
      <label className="check">
        <input
          type="checkbox"
          checked={!!dim}
          onChange={(e) => setMark(spaceKey, e.target.checked ? (initial ?? defaultDimension(value, how.kind, how.options ?? undefined)) : null)}
          data-testid={`${testId}-toggle`}
        />
        <span className="mono">{label}</span>
      </label>
      {dim && <DimensionEditor dim={dim} tunable={how} onChange={(d) => setMark(spaceKey, d)} testId={testId} error={error} />}
    </div>
  );
}

/** The inspector's "Tune" section: every numeric or choice param of the node. */
export function TuneMarks({ id, schema, params }: { id: string; schema: JsonSchema; params: Record<string, unknown> }) {
  const rows = Object.entries(schema.properties ?? {})
    .map(([name, s]) => ({ name, how: tunable(s), value: params[name] ?? s.default }))
    .filter((r): r is { name: string; how: Tunable; value: unknown } => r.how !== null);
  const marked = useGraph((s) => Object.keys(s.search).filter((k) => markedParam(k, id) !== null).length);
  // Folded until opened; a node with marks shows them.
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (marked > 0) setOpen(true);
  }, [id, marked]);
  if (!rows.length) return null;
  return (
    <details className="tune-marks" open={open} onToggle={(e) => setOpen(e.currentTarget.open)} data-testid="tune-marks">
      <summary data-testid="tune-marks-open">
        Tune <span className="muted small">{marked ? `${marked} marked for search` : "vary params in a search"}</span>
      </summary>
      {rows.map((r) => (
        <TuneRow key={r.name} spaceKey={nodeKey(id, r.name)} label={r.name} value={r.value} how={r.how} testId={`tune-${r.name}`} />
      ))}
    </details>
  );
}
