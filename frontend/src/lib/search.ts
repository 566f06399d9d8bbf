// Search marks (docs/search.md): what a study varies, kept in the graph JSON's `search` field. Keys are
// `nodes.<node id>.<param>` (a layer param) or `config.<path>` (a training setting).

export type Choice = string | number | boolean;

export type SearchDimension =
  | { type: "float"; low: number; high: number; log?: boolean; step?: number }
  | { type: "int"; low: number; high: number; log?: boolean; step?: number }
  | { type: "categorical"; choices: Choice[] };

export type SearchSpace = Record<string, SearchDimension>;

export const NO_MARKS: SearchSpace = {};

export function nodeKey(id: string, param: string): string {
  return `nodes.${id}.${param}`;
}

/** The param a key marks on node `id`, or null (params hold no dots, so a key belongs to one node id only). */
export function markedParam(key: string, id: string): string | null {
  const prefix = `nodes.${id}.`;
  if (!key.startsWith(prefix)) return null;
  const param = key.slice(prefix.length);
  return param && !param.includes(".") ? param : null;
}

/** The params of node `id` that are marked, in key order. */
export function markedParams(space: SearchSpace, id: string): string[] {
  return Object.keys(space)
    .map((k) => markedParam(k, id))
    .filter((p): p is string => p !== null);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The graph JSON's `search` as a space: entries that are not dimensions are left out (the server checks the rest). */
export function readSpace(raw: unknown): SearchSpace {
  if (!isObject(raw)) return {};
  const space: SearchSpace = {};
  for (const [key, dim] of Object.entries(raw)) {
    if (isObject(dim) && (dim.type === "float" || dim.type === "int" || dim.type === "categorical")) {
      space[key] = dim as SearchDimension;
    }
  }
  return space;
}

/** Marks of nodes that no longer exist are dropped (a study would refuse them). */
export function pruneSpace(space: SearchSpace, ids: string[]): SearchSpace {
  const entries = Object.entries(space).filter(
    ([key]) => !key.startsWith("nodes.") || ids.some((id) => markedParam(key, id) !== null),
  );
  return entries.length === Object.keys(space).length ? space : Object.fromEntries(entries);
}

/** A renamed node keeps its marks. */
export function renameInSpace(space: SearchSpace, from: string, to: string): SearchSpace {
  if (!Object.keys(space).some((k) => markedParam(k, from) !== null)) return space;
  return Object.fromEntries(
    Object.entries(space).map(([key, dim]) => {
      const param = markedParam(key, from);
      return [param === null ? key : nodeKey(to, param), dim];
    }),
  );
}

/** A first range or list for a param that gets marked: around its value, or its choices. */
export function defaultDimension(value: unknown, kind: "int" | "float" | "categorical", choices: Choice[] = []): SearchDimension {
  if (kind === "categorical") return { type: "categorical", choices: choices.length ? choices : [String(value)] };
  const v = typeof value === "number" && Number.isFinite(value) ? value : kind === "int" ? 8 : 0.1;
  if (kind === "int") return v > 0 ? { type: "int", low: Math.max(1, Math.floor(v / 2)), high: Math.max(2, v * 2) } : { type: "int", low: 0, high: 10 };
  // A fraction such as a dropout p: a linear range from 0; anything else positive: a log range around it.
  if (v >= 0.05 && v <= 0.5) return { type: "float", low: 0, high: Math.min(1, v * 2) };
  return v > 0 ? { type: "float", low: v / 10, high: v * 10, log: true } : { type: "float", low: 0, high: 1 };
}

/** One line for a dimension: "16 – 256 (log)", "adam | sgd". */
export function describe(dim: SearchDimension): string {
  if (dim.type === "categorical") return dim.choices.map(String).join(" | ");
  return `${dim.low} – ${dim.high}${dim.log ? " (log)" : ""}${dim.step ? ` step ${dim.step}` : ""}`;
}
