// Typed calls to the NetCanvas API. Types come from schema.ts, generated from the backend's OpenAPI.
import type { components } from "./schema";

export type Schemas = components["schemas"];
export type Catalog = Schemas["Catalog"];
export type LayerInfo = Schemas["LayerInfo"];
export type DatasetInfo = Schemas["DatasetInfo"];
export type ValidationReport = Schemas["ValidationReport"];
export type GraphJSON = Schemas["Graph"];
export type NodeJSON = Schemas["Node"];
export type EdgeJSON = Schemas["Edge"];

export class ApiError extends Error {
  constructor(
    message: string,
    public status: number,
  ) {
    super(message);
  }
}

function detailText(detail: unknown): string {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => (typeof d === "object" && d && "msg" in d ? String((d as { msg: unknown }).msg) : String(d)))
      .join("\n");
  }
  return JSON.stringify(detail);
}

export async function api<T>(path: string, init?: RequestInit & { json?: unknown }): Promise<T> {
  const { json, ...rest } = init ?? {};
  const response = await fetch(path, {
    ...rest,
    headers: json === undefined ? rest.headers : { "content-type": "application/json", ...rest.headers },
    body: json === undefined ? rest.body : JSON.stringify(json),
  });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = detailText((await response.json()).detail);
    } catch {
      /* not JSON */
    }
    throw new ApiError(message, response.status);
  }
  return (response.status === 204 ? undefined : await response.json()) as T;
}

export const getCatalog = () => api<Catalog>("/api/catalog");
export const validateGraph = (graph: GraphJSON, signal?: AbortSignal) =>
  api<ValidationReport>("/api/graphs/validate", { method: "POST", json: graph, signal });

export function eventsUrl(runId: string, after: number): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/api/runs/${runId}/events?after=${after}`;
}
