// A number field checked as it is typed: the text stays as typed ("-", "1e" on the way to "1e9"), every value
// that parses is passed on, and what is wrong with it (not a number, out of bounds, not whole) shows under it.
import { type ReactNode, useEffect, useState } from "react";

export type NumberBounds = {
  integer?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
};

/** Read a typed number: a finite value, or why the text is not one. */
export function parseNumber(text: string): { value: number } | { error: string } {
  const t = text.trim();
  if (t === "") return { error: "enter a number" };
  const value = Number(t);
  if (Number.isNaN(value)) return { error: "not a number yet" };
  if (!Number.isFinite(value)) return { error: "too large" };
  return { value };
}

/** What is wrong with a number against its bounds, or null. */
export function boundsError(value: number, b: NumberBounds): string | null {
  if (b.integer && !Number.isInteger(value)) return "must be a whole number";
  if (b.minimum !== undefined && value < b.minimum) return `must be ≥ ${b.minimum}`;
  if (b.maximum !== undefined && value > b.maximum) return `must be ≤ ${b.maximum}`;
  if (b.exclusiveMinimum !== undefined && value <= b.exclusiveMinimum) return `must be > ${b.exclusiveMinimum}`;
  if (b.exclusiveMaximum !== undefined && value >= b.exclusiveMaximum) return `must be < ${b.exclusiveMaximum}`;
  return null;
}

/** The text box of a number, with `step` on ArrowUp/ArrowDown. Under it: what is wrong with the typed text, else
 * `error` (the server's word on the value, e.g. from a 422). */
export function NumberInput({
  value,
  bounds,
  step = 1,
  onChange,
  testId,
  label,
  error,
}: {
  value: number;
  bounds: NumberBounds;
  step?: number;
  onChange: (value: number) => void;
  testId: string;
  label?: string;
  error?: string | null;
}) {
  const [text, setText] = useState(String(value));
  // A new value from outside (undo, another node selected) replaces the text, unless the text already means it.
  useEffect(() => setText((t) => (Number(t.trim()) === value && t.trim() !== "" ? t : String(value))), [value]);
  const parsed = parseNumber(text);
  const problem = ("error" in parsed ? parsed.error : boundsError(parsed.value, bounds)) ?? error ?? null;
  const type = (next: string) => {
    setText(next);
    const read = parseNumber(next);
    if ("value" in read) onChange(read.value);
  };
  return (
    <>
      <input
        type="text"
        inputMode={bounds.integer ? "numeric" : "decimal"}
        value={text}
        aria-label={label}
        aria-invalid={problem ? true : undefined}
        onChange={(e) => type(e.target.value)}
        // Text that does not parse goes back to the value in use when the field is left.
        onBlur={() => "error" in parseNumber(text) && setText(String(value))}
        onKeyDown={(e) => {
          if (e.key !== "ArrowUp" && e.key !== "ArrowDown") return;
          e.preventDefault();
          const base = "value" in parsed ? parsed.value : value;
          const next = Number((base + (e.key === "ArrowUp" ? step : -step)).toPrecision(12));
          type(String(next));
        }}
        data-testid={testId}
      />
      {problem && <FieldError testId={`${testId}-error`}>{problem}</FieldError>}
    </>
  );
}

export function FieldError({ testId, children }: { testId: string; children: ReactNode }) {
  return (
    <span className="field-error" role="alert" data-testid={testId}>
      {children}
    </span>
  );
}
