// A form generated from a pydantic JSON Schema: numbers with bounds, selects, checkboxes, lists, unions.
import { useEffect, useState } from "react";

export type JsonSchema = {
  type?: string;
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  properties?: Record<string, JsonSchema>;
  $ref?: string;
};

type FieldKind = "number" | "integer" | "boolean" | "select" | "text";

function choices(schema: JsonSchema): unknown[] | null {
  if (schema.enum) return schema.enum;
  if (schema.anyOf?.every((s) => s.const !== undefined || s.enum || s.type === "null")) {
    return schema.anyOf.flatMap((s) => (s.enum ? s.enum : s.type === "null" ? [null] : [s.const]));
  }
  return null;
}

function kindOf(schema: JsonSchema): FieldKind {
  if (choices(schema)) return "select";
  if (schema.type === "boolean") return "boolean";
  if (schema.type === "integer") return "integer";
  if (schema.type === "number") return "number";
  return "text";
}

/** How a value is typed in a text box: 3, [3, 5], same, null. */
export function toText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map((v) => (v === null ? "null" : String(v))).join(", ");
  return String(value);
}

function allows(schema: JsonSchema, type: string): boolean {
  return schema.type === type || (schema.anyOf ?? []).some((s) => allows(s, type));
}

/** Parse a text box back to a value the schema may accept (the server validates it for real). */
export function fromText(text: string, schema: JsonSchema): unknown {
  const t = text.trim();
  if (t === "" && allows(schema, "null")) return null;
  const listy = allows(schema, "array");
  if (listy && (t.includes(",") || t.startsWith("["))) {
    return t
      .replace(/^\[|\]$/g, "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
      .map((s) => (s === "null" || s === "?" ? null : Number.isNaN(Number(s)) ? s : Number(s)));
  }
  if (t !== "" && !Number.isNaN(Number(t)) && (allows(schema, "integer") || allows(schema, "number"))) return Number(t);
  if (listy && t !== "" && !Number.isNaN(Number(t))) return [Number(t)];
  return t;
}

function bounds(schema: JsonSchema): string {
  const lo = schema.minimum ?? schema.exclusiveMinimum;
  const hi = schema.maximum ?? schema.exclusiveMaximum;
  if (lo === undefined && hi === undefined) return "";
  return `${lo ?? "−∞"} … ${hi ?? "∞"}`;
}

function localError(value: unknown, schema: JsonSchema): string | null {
  if (typeof value !== "number") return null;
  if (schema.type === "integer" && !Number.isInteger(value)) return "must be a whole number";
  if (schema.minimum !== undefined && value < schema.minimum) return `must be ≥ ${schema.minimum}`;
  if (schema.maximum !== undefined && value > schema.maximum) return `must be ≤ ${schema.maximum}`;
  if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return `must be > ${schema.exclusiveMinimum}`;
  if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return `must be < ${schema.exclusiveMaximum}`;
  return null;
}

function Field({
  name,
  schema,
  value,
  error,
  onChange,
  testPrefix,
}: {
  name: string;
  schema: JsonSchema;
  value: unknown;
  error?: string | null;
  onChange: (v: unknown) => void;
  testPrefix: string;
}) {
  const kind = kindOf(schema);
  const [text, setText] = useState(toText(value));
  useEffect(() => setText(toText(value)), [value]);
  const problem = error ?? localError(value, schema);
  const label = schema.title ?? name;
  const testId = `${testPrefix}-${name}`;
  let input;
  if (kind === "boolean") {
    input = <input type="checkbox" checked={Boolean(value)} onChange={(e) => onChange(e.target.checked)} data-testid={testId} />;
  } else if (kind === "select") {
    const opts = choices(schema) ?? [];
    input = (
      <select value={JSON.stringify(value ?? null)} onChange={(e) => onChange(JSON.parse(e.target.value))} data-testid={testId}>
        {opts.map((o) => (
          <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
            {o === null ? "none" : String(o)}
          </option>
        ))}
      </select>
    );
  } else if (kind === "integer" || kind === "number") {
    input = (
      <input
        type="number"
        value={text}
        step={kind === "integer" ? 1 : "any"}
        min={schema.minimum}
        max={schema.maximum}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value !== "" && !Number.isNaN(Number(e.target.value))) onChange(Number(e.target.value));
        }}
        data-testid={testId}
      />
    );
  } else {
    input = (
      <input
        type="text"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => onChange(fromText(text, schema))}
        onKeyDown={(e) => e.key === "Enter" && onChange(fromText(text, schema))}
        data-testid={testId}
      />
    );
  }
  return (
    <label className={`field${problem ? " has-error" : ""}`} title={schema.description}>
      <span className="field-name">
        {label}
        {bounds(schema) && <em>{bounds(schema)}</em>}
      </span>
      {input}
      {schema.description && <small>{schema.description}</small>}
      {problem && (
        <span className="field-error" data-testid={`${testId}-error`}>
          {problem}
        </span>
      )}
    </label>
  );
}

export function SchemaForm({
  schema,
  values,
  errors,
  onChange,
  testPrefix = "param",
  skip = [],
}: {
  schema: JsonSchema;
  values: Record<string, unknown>;
  errors?: Record<string, string>;
  onChange: (values: Record<string, unknown>) => void;
  testPrefix?: string;
  skip?: string[];
}) {
  const props = schema.properties ?? {};
  return (
    <div className="schema-form">
      {Object.entries(props)
        .filter(([k]) => !skip.includes(k))
        .map(([k, s]) => (
          <Field
            key={k}
            name={k}
            schema={s}
            value={k in values ? values[k] : s.default}
            error={errors?.[k]}
            onChange={(v) => onChange({ ...values, [k]: v })}
            testPrefix={testPrefix}
          />
        ))}
    </div>
  );
}
