// Typed reads of a node's params. The graph JSON keeps them as `Record<string, unknown>` (each layer has its own), so
// instead of a cast each accessor checks the value's type at run time and answers the fallback when the param is
// missing or holds something else (an old or hand-edited graph): the server's validation names such a param.
import type { NodeJSON } from "../api/client";
import type { LayerNode } from "./graph";

/** A graph JSON node (`params`, optional) or a canvas node (`data.params`). */
export type WithParams = Pick<NodeJSON, "params"> | Pick<LayerNode, "data">;

export function paramsOf(node: WithParams): Record<string, unknown> {
  return "data" in node ? node.data.params : (node.params ?? {});
}

/** A finite number (a boolean is not one). */
export function numParam<F>(node: WithParams, name: string, fallback: F): number | F {
  const value = paramsOf(node)[name];
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

export function strParam<F>(node: WithParams, name: string, fallback: F): string | F {
  const value = paramsOf(node)[name];
  return typeof value === "string" ? value : fallback;
}

export function boolParam<F>(node: WithParams, name: string, fallback: F): boolean | F {
  const value = paramsOf(node)[name];
  return typeof value === "boolean" ? value : fallback;
}

/** A shape without the batch axis: whole sizes ≥ 0, `null` for a dynamic axis (docs/graph-format.md). */
export function shapeParam<F>(node: WithParams, name: string, fallback: F): (number | null)[] | F {
  const value = paramsOf(node)[name];
  if (!Array.isArray(value)) return fallback;
  const axes: unknown[] = value;
  return axes.every(isAxis) ? axes : fallback;
}

function isAxis(d: unknown): d is number | null {
  return d === null || (typeof d === "number" && Number.isInteger(d) && d >= 0);
}

/** `value` when it is one of `choices`, else `fallback`: a param, or a <select>'s string, as the union it may hold. */
export function oneOf<T>(value: unknown, choices: readonly T[], fallback: T): T {
  return choices.find((c) => c === value) ?? fallback;
}
