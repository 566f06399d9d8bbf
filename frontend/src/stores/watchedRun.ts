// The run being watched: its events over the websocket (with resume), metric series and progress.
import { create } from "zustand";
import { type Schemas, client, ok, openEvents } from "../api/client";
import { useHealth } from "./health";
import { useSamples } from "./samples";

export type RunDetail = Schemas["RunDetail"];

/** A websocket event (docs/api.md, "Run events"): the generated types of the backend's discriminated union on `type`.
 * `seq` has a default in the schema, but a sent event always carries the one it was stored with. */
export type RunEvent = (
  | Schemas["StatusEvent"]
  | Schemas["BatchEvent"]
  | Schemas["EpochEvent"]
  | Schemas["LogEvent"]
  | Schemas["ErrorEvent"]
  | Schemas["DoneEvent"]
) & { seq: number };

export type Series = {
  epochs: number[];
  /** metric name -> value per epoch (train and val_ names) */
  metrics: Record<string, number[]>;
  /** fractional epoch of each batch event (epoch 1, step 3 of 10 -> 0.3) */
  batchX: number[];
  batchLoss: number[];
};

export type Progress = {
  /** the epoch in progress (1-based) and its step */
  epoch: number;
  step: number;
  steps: number;
  epochs: number;
  epochsDone: number;
  /** seconds each finished epoch took */
  epochSeconds: number[];
};

type RunState = {
  runId: string | null;
  /** The run's record (name, graph, config), fetched when watching starts. */
  info: RunDetail | null;
  status: string | null;
  lastSeq: number;
  connected: boolean;
  series: Series;
  logs: (Schemas["LogEvent"] | Schemas["ErrorEvent"])[];
  error: string | null;
  /** The node an error event names, if any. */
  errorNode: string | null;
  testMetrics: Record<string, number> | null;
  progress: Progress | null;
  /** Watch a run; `status` is what the caller already knows (a run just created is `queued`). */
  watch: (runId: string, status?: string) => void;
  apply: (event: RunEvent) => void;
  applyMany: (events: RunEvent[]) => void;
  stop: () => Promise<void>;
  /** Pause the running run at its next step (it becomes `paused` once its checkpoint is written), or resume a
   * paused one; resolves to the server's refusal (a 409 naming the status), or null. */
  pause: () => Promise<string | null>;
  resume: () => Promise<string | null>;
  clear: () => void;
};

const emptySeries = (): Series => ({ epochs: [], metrics: {}, batchX: [], batchLoss: [] });
let socket: WebSocket | null = null;
let retry: ReturnType<typeof setTimeout> | null = null;

export const FINAL = new Set(["completed", "failed", "stopped"]);

/** Fold events into the state. Pure: easy to test, and many events (a replay) make one update. */
export function reduceEvents(
  state: Pick<RunState, "lastSeq" | "status" | "series" | "logs" | "error" | "errorNode" | "testMetrics" | "progress">,
  events: RunEvent[],
) {
  let { lastSeq, status, series, logs, error, errorNode, testMetrics, progress } = state;
  let { epochs, metrics, batchX, batchLoss } = series;
  let copied = false;
  const own = () => {
    if (copied) return;
    copied = true;
    epochs = [...epochs];
    metrics = Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, [...v]]));
    batchX = [...batchX];
    batchLoss = [...batchLoss];
  };
  const newLogs: RunState["logs"] = [];
  for (const event of events) {
    if (event.seq <= lastSeq) continue; // a duplicate after a reconnect
    lastSeq = event.seq;
    switch (event.type) {
      case "status":
        status = event.status;
        break;
      case "batch":
        if (event.steps) {
          own();
          batchX.push(event.epoch - 1 + event.step / event.steps);
          batchLoss.push(event.loss);
          progress = {
            ...(progress ?? { epochs: 0, epochsDone: 0, epochSeconds: [] }),
            epoch: event.epoch,
            step: event.step,
            steps: event.steps,
          };
        }
        break;
      case "epoch":
        {
          own();
          const n = epochs.length;
          for (const [k, v] of Object.entries(event.metrics)) {
            if (!metrics[k]) metrics[k] = Array.from({ length: n }, () => Number.NaN);
            metrics[k].push(v);
          }
          for (const k of Object.keys(metrics)) if (metrics[k].length === n) metrics[k].push(Number.NaN);
          epochs.push(event.epoch);
          const steps = progress?.steps ?? 0;
          progress = {
            epoch: event.epoch,
            step: steps,
            steps,
            epochs: event.epochs,
            epochsDone: event.epoch,
            epochSeconds: [...(progress?.epochSeconds ?? []), event.seconds],
          };
        }
        break;
      case "log":
        newLogs.push(event);
        break;
      case "error":
        newLogs.push(event);
        error = event.message;
        errorNode = event.node ?? null;
        break;
      case "done":
        status = event.status;
        testMetrics = event.test_metrics && Object.keys(event.test_metrics).length ? event.test_metrics : testMetrics;
        break;
    }
  }
  if (newLogs.length) logs = [...logs, ...newLogs].slice(-300);
  if (copied) series = { epochs, metrics, batchX, batchLoss };
  return { lastSeq, status, series, logs, error, errorNode, testMetrics, progress };
}

/** The state with no run watched: at start and after clear(). */
function nothingWatched() {
  return {
    runId: null,
    info: null,
    status: null,
    lastSeq: 0,
    connected: false,
    series: emptySeries(),
    logs: [],
    error: null,
    errorNode: null,
    testMetrics: null,
    progress: null,
  } satisfies Partial<RunState>;
}

export const useWatchedRun = create<RunState>((set, get) => ({
  ...nothingWatched(),

  clear: () => {
    const ws = socket;
    socket = null;
    ws?.close();
    if (retry) clearTimeout(retry);
    useHealth.getState().clear();
    useSamples.getState().clear();
    set(nothingWatched());
  },

  watch: (runId, status) => {
    get().clear();
    set({ runId, status: status ?? null });
    ok(client.GET("/api/runs/{run_id}", { params: { path: { run_id: runId } } })).then(
      (info) => {
        if (get().runId !== runId) return;
        const progress = get().progress;
        set({ info, progress: progress && !progress.epochs ? { ...progress, epochs: info.epochs } : progress });
      },
      (e: { status?: number }) => {
        if (e.status === 404 && get().runId === runId) get().clear(); // deleted meanwhile
      },
    );
    const connect = (attempt: number) => {
      if (get().runId !== runId) return;
      const ws = openEvents(runId, get().lastSeq);
      socket = ws;
      // Events come in bursts (a replay, or many batches): apply them once per frame, not one render each.
      let queue: RunEvent[] = [];
      const flush = () => {
        const events = queue;
        queue = [];
        if (socket === ws && events.length) get().applyMany(events);
      };
      ws.onopen = () => {
        attempt = 0;
        set({ connected: true });
      };
      ws.onmessage = (msg) => {
        if (!queue.length) setTimeout(flush, 50);
        queue.push(JSON.parse(msg.data as string) as RunEvent);
      };
      ws.onclose = () => {
        flush();
        if (socket !== ws) return;
        set({ connected: false });
        if (get().runId !== runId || FINAL.has(get().status ?? "")) return;
        // Reconnect on our own and resume after the last event seen: no gaps, no duplicates.
        retry = setTimeout(() => connect(attempt + 1), Math.min(5000, 300 * 2 ** attempt));
      };
    };
    connect(0);
  },

  apply: (event) => get().applyMany([event]),
  applyMany: (events) => {
    useHealth.getState().take(events); // health events (per-layer, on the canvas nodes)
    useSamples.getState().take(events); // a GAN's sample grids
    const next = reduceEvents(get(), events);
    const progress = next.progress && !next.progress.epochs && get().info ? { ...next.progress, epochs: get().info!.epochs } : next.progress;
    set({ ...next, progress });
  },

  stop: async () => {
    const id = get().runId;
    if (id) await client.POST("/api/runs/{run_id}/stop", { params: { path: { run_id: id } } });
  },

  pause: async () => {
    const id = get().runId;
    if (!id) return null;
    const { error } = await client.POST("/api/runs/{run_id}/pause", { params: { path: { run_id: id } } });
    return refusal(error);
  },

  resume: async () => {
    const id = get().runId;
    if (!id) return null;
    const { error } = await client.POST("/api/runs/{run_id}/resume", { params: { path: { run_id: id } } });
    return refusal(error);
  },
}));

/** The sentence of a refused request (`{"detail": "run 'x' is completed; ..."}`), or null when it went through. */
function refusal(error: unknown): string | null {
  if (!error) return null;
  const detail = (error as { detail?: unknown }).detail;
  return typeof detail === "string" ? detail : "the server refused the request";
}

/** Seconds left, from the mean epoch time so far; null until an epoch has finished. */
export function secondsLeft(p: Progress): number | null {
  if (!p.epochSeconds.length || !p.epochs) return null;
  const mean = p.epochSeconds.reduce((a, b) => a + b, 0) / p.epochSeconds.length;
  const inEpoch = p.epoch > p.epochsDone && p.steps ? p.step / p.steps : 0;
  return Math.max(0, (p.epochs - p.epochsDone - inEpoch) * mean);
}

/** Fraction of the run done, 0..1. */
export function fractionDone(p: Progress): number {
  if (!p.epochs) return 0;
  const inEpoch = p.epoch > p.epochsDone && p.steps ? p.step / p.steps : 0;
  return Math.min(1, (p.epochsDone + inEpoch) / p.epochs);
}

const RUN_KEY = "netcanvas.run";

/** The watched run survives a page reload: watch it again (its events replay, then go on live). */
export function persistRun(): () => void {
  try {
    const saved = localStorage.getItem(RUN_KEY);
    if (saved && !useWatchedRun.getState().runId) useWatchedRun.getState().watch(saved);
  } catch {
    /* storage disabled */
  }
  return useWatchedRun.subscribe((s, prev) => {
    if (s.runId === prev.runId) return;
    try {
      if (s.runId) localStorage.setItem(RUN_KEY, s.runId);
      else localStorage.removeItem(RUN_KEY);
    } catch {
      /* storage disabled */
    }
  });
}
