// Typed calls to the NetCanvas API. Types come from schema.ts, generated from the backend's OpenAPI.
// A server started with NETCANVAS_TOKEN answers 401 without it: the app then asks for the token once
// (TokenDialog), keeps it in localStorage and sends it with every request and websocket.
import createClient, { type Middleware } from "openapi-fetch";
import { create } from "zustand";
import type { components, operations, paths } from "./schema";

export type Schemas = components["schemas"];
export type Catalog = Schemas["Catalog"];
export type LayerInfo = Schemas["LayerInfo"];
export type DatasetInfo = Schemas["DatasetInfo"];
export type ValidationReport = Schemas["ValidationReport"];
export type GraphJSON = Schemas["Graph"];
export type NodeJSON = Schemas["Node"];
export type EdgeJSON = Schemas["Edge"];
export type ExportFormat = NonNullable<
  NonNullable<operations["download_api_runs__run_id__export_get"]["parameters"]["query"]>["format"]
>;

export class ApiError extends Error {
  constructor(
    message: string,
    public status: number,
    /** The answer's `detail` as sent (a 422's list of {loc, msg, node}: see lib/serverErrors.ts). */
    public detail: unknown = null,
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

const TOKEN_KEY = "netcanvas.token";

/** The token dialog: open while requests wait for a token; `refused` when the stored one was wrong. */
export const useAuth = create<{ asking: boolean; refused: boolean }>(() => ({ asking: false, refused: false }));

let tokenEntered: Promise<void> | null = null;
let resolveTokenEntered: (() => void) | null = null;

export function storedToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

/** Every request that got a 401 waits on the same dialog, then tries again with the token the user typed. */
function askForToken(refused: boolean): Promise<void> {
  if (!tokenEntered) {
    tokenEntered = new Promise((resolve) => (resolveTokenEntered = resolve));
    useAuth.setState({ asking: true, refused });
  }
  return tokenEntered;
}

export function submitToken(token: string): void {
  localStorage.setItem(TOKEN_KEY, token.trim());
  useAuth.setState({ asking: false, refused: false });
  const resolve = resolveTokenEntered;
  tokenEntered = resolveTokenEntered = null;
  resolve?.();
}

async function failure(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  let detail: unknown = null;
  try {
    detail = (await response.json()).detail;
    message = detailText(detail);
  } catch {
    /* not JSON */
  }
  return new ApiError(message, response.status, detail);
}

/** The token on every request; on a 401, the token dialog, then the same request again (a copy kept before it was
 * sent: a sent body cannot be read twice); any other failure raises ApiError with the server's detail. */
const auth: Middleware = {
  onRequest({ request }) {
    const token = storedToken();
    if (token) request.headers.set("authorization", `Bearer ${token}`);
    spares.set(request, request.clone());
  },
  async onResponse({ request, response, options }) {
    const spare = spares.get(request);
    while (response.status === 401 && spare) {
      const sent = request.headers.get("authorization")?.replace(/^Bearer /, "") ?? null;
      // a token typed while this request was on its way is tried before asking again
      if (storedToken() === sent) await askForToken(sent !== null);
      request = spare.clone();
      const token = storedToken();
      if (token) request.headers.set("authorization", `Bearer ${token}`);
      response = await options.fetch(request);
    }
    if (!response.ok) throw await failure(response);
    return response;
  },
};
const spares = new WeakMap<Request, Request>();

/** The typed client: `client.GET("/api/runs/{run_id}", { params: { path: { run_id } } })`. Paths, parameters, bodies
 * and answers come from schema.ts. fetch is looked up on each call (tests replace it). */
export const client = createClient<paths>({ fetch: (request: Request) => globalThis.fetch(request) });
client.use(auth);

/** An answer's body. The middleware has thrown ApiError for every status but 2xx, so `data` is the success type
 * (undefined for a 204). */
export async function ok<R extends { data?: unknown }>(call: Promise<R>): Promise<Exclude<R["data"], undefined>> {
  return (await call).data as Exclude<R["data"], undefined>;
}

/** Save a run's export under the name the server gives it. A plain link cannot send the token. */
export async function downloadExport(runId: string, format: ExportFormat): Promise<void> {
  const { data, response } = await client.GET("/api/runs/{run_id}/export", {
    params: { path: { run_id: runId }, query: { format } },
    parseAs: "blob",
  });
  const disposition = response.headers.get("content-disposition") ?? "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  const plain = /filename="([^"]+)"/i.exec(disposition)?.[1];
  const link = document.createElement("a");
  link.href = URL.createObjectURL(data ?? new Blob());
  link.download = encoded ? decodeURIComponent(encoded) : (plain ?? "download");
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/** POST a form with upload progress (fetch reports none): XMLHttpRequest with the stored token; on a 401 the token
 * dialog opens and the upload starts again. `onProgress` gets the fraction sent, 0..1. */
export async function upload<T>(path: string, form: FormData, onProgress: (sent: number) => void): Promise<T> {
  for (;;) {
    const token = storedToken();
    const xhr = new XMLHttpRequest();
    const done = new Promise<void>((resolve, reject) => {
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onload = () => resolve();
      xhr.onerror = () => reject(new ApiError("the upload failed: the server could not be reached", 0));
      xhr.onabort = () => reject(new ApiError("the upload was cancelled", 0));
    });
    xhr.open("POST", path);
    if (token) xhr.setRequestHeader("authorization", `Bearer ${token}`);
    xhr.send(form);
    await done;
    if (xhr.status === 401) {
      if (storedToken() === token) await askForToken(token !== null);
      continue;
    }
    let body: unknown = null;
    try {
      body = JSON.parse(xhr.responseText);
    } catch {
      /* not JSON */
    }
    if (xhr.status < 200 || xhr.status >= 300) {
      const detail = body && typeof body === "object" && "detail" in body ? detailText(body.detail) : `${xhr.status} ${xhr.statusText}`;
      throw new ApiError(detail, xhr.status, body && typeof body === "object" && "detail" in body ? body.detail : null);
    }
    return body as T;
  }
}

export const getCatalog = () => ok(client.GET("/api/catalog"));
export const validateGraph = (graph: GraphJSON, signal?: AbortSignal) =>
  ok(client.POST("/api/graphs/validate", { body: graph, signal }));

export function eventsUrl(runId: string, after: number): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/api/runs/${runId}/events?after=${after}`;
}

/** base64url without padding: the token is any printable ASCII, a subprotocol only a restricted set. */
function base64url(text: string): string {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A run's event websocket. Browsers cannot set headers on it: the token travels as the subprotocol
 * `netcanvas.bearer.<base64url>`, offered with `netcanvas`, which the server selects. */
export function openEvents(runId: string, after: number): WebSocket {
  const token = storedToken();
  return new WebSocket(eventsUrl(runId, after), token ? ["netcanvas", `netcanvas.bearer.${base64url(token)}`] : []);
}
