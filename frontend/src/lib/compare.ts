// What differs between runs, for the Runs tab's comparison: config fields and graph nodes/params/edges.
import type { GraphJSON } from "../api/client";

/** One difference: a path (config field, node param, edge) and its value in each run ("—" where absent). */
export type Difference = { path: string; values: string[] };

export const ABSENT = "—";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function text(value: unknown): string {
  if (value === undefined) return ABSENT;
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Nested objects as dotted paths (`optimizer.lr`); arrays and scalars are leaf values. */
export function flatten(value: unknown, prefix = "", out: Record<string, string> = {}): Record<string, string> {
  if (isObject(value) && Object.keys(value).length) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = text(value);
  }
  return out;
}

/** The paths whose values are not all the same, in first-seen order. */
export function differences(flat: Record<string, string>[]): Difference[] {
  const paths = [...new Set(flat.flatMap((f) => Object.keys(f)))];
  return paths
    .map((path) => ({ path, values: flat.map((f) => f[path] ?? ABSENT) }))
    .filter((d) => d.values.some((v) => v !== d.values[0]));
}

/** Past this many characters a difference's value is shortened in the table (its whole text is its tooltip). */
const SHOWN_CHARS = 40;

/**
 * A value as a differences table shows it: whole when short, else its start and, for a list, how many items it
 * holds: a bagging member's bootstrap rows, `[3,4,6,7,8,8,11,14,14,15,…]` of hundreds, read `[3,4,6,7,8,8,11,14,… 96 items]`.
 */
export function shortValue(value: string): string {
  if (value.length <= SHOWN_CHARS) return value;
  let items: number | null = null;
  if (value.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed)) items = parsed.length;
    } catch {
      items = null;
    }
  }
  const head = value.slice(0, SHOWN_CHARS - 8).replace(/,[^,]*$/, ",");
  return items === null ? `${head}…` : `${head}… ${items} items]`;
}

/** A run's dataset as the differences table shows it: an upload's id (a hash) as its file name, the id's start
 * kept so that two uploads of the same name still differ: `shop.csv (3f2a9c1e)`. */
export function readableDataset(dataset: Record<string, unknown>, uploads: { id: string; name: string }[]): Record<string, unknown> {
  const id = dataset.id;
  const upload = typeof id === "string" ? uploads.find((u) => u.id === id) : undefined;
  return upload ? { ...dataset, id: `${upload.name} (${upload.id.slice(0, 8)})` } : dataset;
}

/** Config fields that differ (the server's own thread count is left out: it is not a training choice). */
export function configDifferences(configs: unknown[]): Difference[] {
  return differences(configs.map((c) => flatten(c))).filter((d) => d.path !== "num_threads");
}

type Defaults = (type: string) => Record<string, unknown>;

/** A graph as comparable paths: `node fc1` (its type), `fc1.out_features` (its params, defaults filled in from
 * the catalog so that an omitted default equals a written one), and `edge a → b` for each connection. */
export function flattenGraph(graph: GraphJSON, defaults: Defaults = () => ({})): Record<string, string> {
  const out: Record<string, string> = {};
  for (const node of graph.nodes ?? []) {
    out[`node ${node.id}`] = node.type;
    const params = { ...defaults(node.type), ...((node.params ?? {}) as Record<string, unknown>) };
    for (const [k, v] of Object.entries(params)) out[`${node.id}.${k}`] = text(v);
  }
  for (const edge of graph.edges ?? []) {
    const from = edge.source_port && edge.source_port !== "out" ? `${edge.source}.${edge.source_port}` : edge.source;
    const to = edge.target_port && edge.target_port !== "in" ? `${edge.target}.${edge.target_port}` : edge.target;
    out[`edge ${from} → ${to}`] = "✓";
  }
  return out;
}

/** Node types, params and edges that differ between the graphs. */
export function graphDifferences(graphs: GraphJSON[], defaults?: Defaults): Difference[] {
  return differences(graphs.map((g) => flattenGraph(g, defaults)));
}

/** Whether lower values of a metric are better (losses and errors). */
export function lowerIsBetter(metric: string): boolean {
  return /(^|_)(loss|mse|mae|rmse)$/.test(metric);
}

/** The run's epoch as the Train panel says it: the epoch in progress while running, else the last one done. */
export function epochText(run: { status: string; epochs: number; epochs_done: number }): string {
  if (run.status === "queued") return `${run.epochs} epochs`;
  const epoch = run.status === "running" ? Math.min(run.epochs_done + 1, run.epochs) : run.epochs_done;
  return `epoch ${epoch}/${run.epochs}`;
}
