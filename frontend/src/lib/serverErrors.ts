// A 422 from the server names where each problem is (`loc`, FastAPI's path into the request body, and `node`
// where one is at fault): this sorts its messages to the fields and nodes of a form, so each shows where it belongs.
import { create } from "zustand";
import { ApiError } from "../api/client";

export type Located = {
  /** Field path under the prefix ("epochs", "optimizer.lr") -> message. */
  fields: Record<string, string>;
  /** Node id -> message, for problems that name a node of the graph. */
  nodes: Record<string, string>;
  /** Messages that fit no field or node: shown as a whole. */
  other: string[];
};

type DetailItem = { loc?: unknown[]; msg?: unknown; node?: unknown };

/**
 * Sort a failed request's messages: those located under `prefix` (["body", "config"] for a run's training config)
 * go to their field (the path after the prefix, dotted), those naming a node to the node, the rest to `other`.
 * A union's tag in the path (["optimizer", "adam", "lr"]) is kept, so a form may look a field up with or without it.
 */
export function locateErrors(error: unknown, prefix: (string | number)[]): Located {
  const out: Located = { fields: {}, nodes: {}, other: [] };
  const detail = error instanceof ApiError ? error.detail : null;
  if (!Array.isArray(detail)) {
    out.other.push(error instanceof Error ? error.message : String(error));
    return out;
  }
  for (const item of detail as DetailItem[]) {
    const msg = typeof item?.msg === "string" ? item.msg : JSON.stringify(item);
    const loc = Array.isArray(item?.loc) ? item.loc.map(String) : [];
    const under = loc.length > prefix.length && prefix.every((p, i) => String(p) === loc[i]);
    if (typeof item?.node === "string" && item.node) out.nodes[item.node] ??= msg;
    else if (under) out.fields[loc.slice(prefix.length).join(".")] ??= msg;
    else out.other.push(loc.length ? `${loc.filter((p) => p !== "body").join(".")}: ${msg}` : msg);
  }
  return out;
}

/** The message for a form field, looked up by its path with or without a union's tag ("optimizer.lr"). */
export function fieldError(located: Located, path: string): string | undefined {
  if (located.fields[path]) return located.fields[path];
  const [head, ...rest] = path.split(".");
  const tagged = Object.keys(located.fields).find((k) => {
    const parts = k.split(".");
    return parts[0] === head && parts.length === rest.length + 2 && parts.slice(2).join(".") === rest.join(".");
  });
  return tagged ? located.fields[tagged] : undefined;
}

/** The latest refused training request: its config and where the server said it was wrong. */
export const useRefusedConfig = create<{ sent: unknown; located: Located | null }>(() => ({ sent: null, located: null }));

/** After POST /api/runs fails, keep its config's field messages (none when `error` is null: a new try). */
export function refusedConfig(error: unknown, sent: unknown): void {
  useRefusedConfig.setState(error ? { sent, located: locateErrors(error, ["body", "config"]) } : { sent: null, located: null });
}

function at(value: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), value);
}

/** The server's message for a config field, while the field still holds the value it refused. */
export function useConfigError(path: string, current: unknown): string | undefined {
  return useRefusedConfig((s) => {
    const message = s.located ? fieldError(s.located, path) : undefined;
    return message && JSON.stringify(at(s.sent, path)) === JSON.stringify(current) ? message : undefined;
  });
}
