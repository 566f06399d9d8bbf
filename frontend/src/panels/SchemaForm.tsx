// A form generated from a pydantic JSON Schema: numbers with bounds, selects, checkboxes, lists, unions.
import { useEffect, useState } from "react";
import { NumberInput, boundsError } from "../ui/NumberInput";

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
  minItems?: number;
  maxItems?: number;
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

/** The array member of a schema (itself, or the list member of an int | tuple | null union). */
function arrayPart(schema: JsonSchema): JsonSchema | undefined {
  return schema.type === "array" ? schema : schema.anyOf?.find((s) => s.type === "array");
}

/** The words a schema takes as a string (its enum or const members); null when it takes any string. */
function words(schema: JsonSchema): string[] | null {
  const strings = [schema, ...(schema.anyOf ?? [])].filter((s) => s.type === "string");
  if (strings.some((s) => !s.enum && s.const === undefined)) return null;
  return strings.flatMap((s) => (s.enum ?? [s.const]).map(String));
}

/**
 * What is wrong with the text of a free-text field before it is sent (a list of numbers with a word in it, a list
 * item out of bounds, too many items, a word the field does not take), or null. Such text is not passed on: the
 * field says why, as a number field does, instead of the server's error about a union member.
 */
export function textProblem(text: string, schema: JsonSchema): string | null {
  const t = text.trim();
  if (allows(schema, "array") && (t.includes(",") || t.startsWith("["))) {
    // "1,,0" or "1, 28," is not read as [1, 0] or [1, 28]: the empty item is named, not dropped.
    const items = t.replace(/^\[|\]$/g, "").split(",");
    const empty = items.findIndex((s) => s.trim() === "");
    if (items.length > 1 && empty >= 0) return `item ${empty + 1} is empty`;
  }
  const value = fromText(text, schema);
  if (value === "") return "enter a value";
  if (Array.isArray(value)) {
    const list = arrayPart(schema);
    if (!list) return null;
    const { minItems: lo, maxItems: hi } = list;
    if ((lo !== undefined && value.length < lo) || (hi !== undefined && value.length > hi)) {
      const takes = lo === hi ? `${lo}` : hi === undefined ? `at least ${lo}` : `${lo ?? 0} to ${hi}`;
      return `${value.length} ${value.length === 1 ? "value" : "values"}; it takes ${takes}`;
    }
    for (const [i, item] of value.entries()) {
      const itemSchema = list.prefixItems?.[i] ?? list.items ?? {};
      const numberPart = numeric(itemSchema);
      if (numberPart.type !== "integer" && numberPart.type !== "number") continue;
      if (item === null) {
        if (!allows(itemSchema, "null")) return `item ${i + 1} must be a number`;
      } else if (typeof item !== "number") {
        return `“${String(item)}” is not a number`;
      } else {
        const wrong = boundsError(item, { ...numberPart, integer: numberPart.type === "integer" });
        if (wrong) return `item ${i + 1} ${wrong}`;
      }
    }
    return null;
  }
  if (typeof value !== "string") return null;
  const takesNumber = allows(schema, "integer") || allows(schema, "number");
  if (!allows(schema, "string")) return takesNumber ? `“${value}” is not a number` : null;
  const taken = words(schema);
  if (taken === null || taken.includes(value)) return null;
  return `“${value}” is not ${takesNumber ? "a number or " : ""}one of ${taken.join(", ")}`;
}

/** A hint for free-text fields: what shapes of value the schema takes. */
function placeholder(schema: JsonSchema): string | undefined {
  const hints: string[] = [];
  if (allows(schema, "integer") || allows(schema, "number")) hints.push("3");
  if (allows(schema, "array")) hints.push(allows(schema, "integer") || allows(schema, "number") ? "3, 5" : "1, 28, 28");
  const words = (schema.anyOf ?? []).flatMap((s) => s.enum ?? []).map(String);
  hints.push(...words);
  if (allows(schema, "null")) hints.push("empty for none");
  return hints.length ? hints.join(" · ") : undefined;
}

/** The numeric part of a schema (itself, or the int/float member of an int | tuple | null union). */
function numeric(schema: JsonSchema): JsonSchema {
  if (schema.type === "integer" || schema.type === "number") return schema;
  return schema.anyOf?.find((s) => s.type === "integer" || s.type === "number") ?? schema;
}

function bounds(full: JsonSchema): string {
  const schema = numeric(full);
  const lo = schema.minimum ?? schema.exclusiveMinimum;
  const hi = schema.maximum ?? schema.exclusiveMaximum;
  if (lo === undefined && hi === undefined) return "";
  return `${lo ?? "−∞"} … ${hi ?? "∞"}`;
}

function localError(value: unknown, full: JsonSchema): string | null {
  if (typeof value !== "number") return null;
  const schema = numeric(full);
  return boundsError(value, { ...schema, integer: schema.type === "integer" });
}

/** ArrowUp/ArrowDown on a float field: a tenth of the value's order of magnitude (0.001 -> 0.0001), at least 1e-6. */
function numberStep(value: unknown): number {
  if (typeof value !== "number" || value === 0) return 0.1;
  return Math.max(1e-6, 10 ** (Math.floor(Math.log10(Math.abs(value))) - 1));
}

function Field({
  name,
  schema,
  value,
  error,
  onChange,
  testPrefix,
  compact,
}: {
  compact?: boolean;
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
  // Free text that cannot be a value of the field: said under it and not sent (Enter keeps it, leaving reverts it).
  const typed = kind === "text" ? textProblem(text, schema) : null;
  const problem = typed ?? error ?? localError(value, schema);
  const testId = `${testPrefix}-${name}`;
  const range = bounds(schema);
  if (kind === "boolean") {
    return (
      <label className={`field check-field${problem ? " has-error" : ""}`} title={schema.description}>
        <span className="check-line">
          <input type="checkbox" checked={Boolean(value)} onChange={(e) => onChange(e.target.checked)} data-testid={testId} />
          <span className="field-name">{name}</span>
        </span>
        {schema.description && !compact && <small>{schema.description}</small>}
        {problem && (
          <span className="field-error" data-testid={`${testId}-error`}>
            {problem}
          </span>
        )}
      </label>
    );
  }
  let input;
  if (kind === "select") {
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
    return (
      <label className={`field${problem ? " has-error" : ""}`} title={schema.description}>
        <span className="field-name">
          {name}
          {range && <em>{range}</em>}
        </span>
        <NumberInput
          value={typeof value === "number" ? value : Number(value ?? 0)}
          bounds={{ ...schema, integer: kind === "integer" }}
          step={kind === "integer" ? 1 : numberStep(value)}
          onChange={onChange}
          testId={testId}
          label={name}
          error={error}
        />
        {schema.description && !compact && <small>{schema.description}</small>}
      </label>
    );
  } else {
    input = (
      <input
        type="text"
        value={text}
        placeholder={placeholder(schema)}
        onChange={(e) => setText(e.target.value)}
        aria-invalid={typed ? true : undefined}
        onBlur={() => (typed ? setText(toText(value)) : onChange(fromText(text, schema)))}
        onKeyDown={(e) => e.key === "Enter" && !typed && onChange(fromText(text, schema))}
        data-testid={testId}
      />
    );
  }
  return (
    <label className={`field${problem ? " has-error" : ""}`} title={schema.description}>
      <span className="field-name">
        {name}
        {range && <em>{range}</em>}
      </span>
      {input}
      {schema.description && !compact && <small>{schema.description}</small>}
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
  compact = false,
}: {
  /** Descriptions as tooltips only, two fields per row. */
  compact?: boolean;
  schema: JsonSchema;
  values: Record<string, unknown>;
  errors?: Record<string, string>;
  /** The new values, and the field that changed. */
  onChange: (values: Record<string, unknown>, field: string) => void;
  testPrefix?: string;
  skip?: string[];
}) {
  const props = schema.properties ?? {};
  return (
    <div className={compact ? "schema-form compact" : "schema-form"}>
      {Object.entries(props)
        .filter(([k]) => !skip.includes(k))
        .map(([k, s]) => (
          <Field
            key={k}
            name={k}
            schema={s}
            value={k in values ? values[k] : s.default}
            error={errors?.[k]}
            onChange={(v) => onChange({ ...values, [k]: v }, k)}
            testPrefix={testPrefix}
            compact={compact}
          />
        ))}
    </div>
  );
}
