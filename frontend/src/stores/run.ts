// The run being watched: its events over the websocket (with resume), metric series and progress.
import { create } from "zustand";
import { api, eventsUrl } from "../api/client";

export type RunEvent = {
  seq: number;
  type: "status" | "batch" | "epoch" | "log" | "error" | "done";
  status?: string;
  message?: string;
  level?: string;
  node?: string | null;
  epoch?: number;
  epochs?: number;
  step?: number;
  steps?: number;
  loss?: number;
  metrics?: Record<string, number>;
  test_metrics?: Record<string, number>;
  lr?: number;
  seconds?: number;
};

export type Series = {
  epochs: number[];
  /** metric name -> value per epoch (train and val_ names) */
  metrics: Record<string, number[]>;
  batchX: number[];
  batchLoss: number[];
};

type RunState = {
  runId: string | null;
  status: string | null;
  lastSeq: number;
  series: Series;
  logs: RunEvent[];
  error: string | null;
  testMetrics: Record<string, number> | null;
  progress: { epoch: number; epochs: number; step: number; steps: number; secondsPerEpoch: number } | null;
  watch: (runId: string) => void;
  apply: (event: RunEvent) => void;
  stop: () => Promise<void>;
  clear: () => void;
};

const emptySeries = (): Series => ({ epochs: [], metrics: {}, batchX: [], batchLoss: [] });
let socket: WebSocket | null = null;
let retry: ReturnType<typeof setTimeout> | null = null;

const FINAL = new Set(["completed", "failed", "stopped"]);

export const useRun = create<RunState>((set, get) => ({
  runId: null,
  status: null,
  lastSeq: 0,
  series: emptySeries(),
  logs: [],
  error: null,
  testMetrics: null,
  progress: null,

  clear: () => {
    socket?.close();
    socket = null;
    if (retry) clearTimeout(retry);
    set({ runId: null, status: null, lastSeq: 0, series: emptySeries(), logs: [], error: null, testMetrics: null, progress: null });
  },

  watch: (runId) => {
    get().clear();
    set({ runId });
    const connect = (attempt: number) => {
      if (get().runId !== runId) return;
      const ws = new WebSocket(eventsUrl(runId, get().lastSeq));
      socket = ws;
      ws.onmessage = (msg) => {
        attempt = 0;
        get().apply(JSON.parse(msg.data as string) as RunEvent);
      };
      ws.onclose = () => {
        if (socket !== ws || get().runId !== runId || FINAL.has(get().status ?? "")) return;
        // Reconnect on our own and resume after the last event seen: no gaps, no duplicates.
        retry = setTimeout(() => connect(attempt + 1), Math.min(5000, 300 * 2 ** attempt));
      };
    };
    connect(0);
  },

  apply: (event) => {
    const state = get();
    if (event.seq <= state.lastSeq) return; // a duplicate after a reconnect
    const update: Partial<RunState> = { lastSeq: event.seq };
    if (event.type === "status" && event.status) update.status = event.status;
    if (event.type === "batch" && event.epoch && event.steps && event.step) {
      const s = state.series;
      update.series = {
        ...s,
        batchX: [...s.batchX, event.epoch - 1 + event.step / event.steps],
        batchLoss: [...s.batchLoss, event.loss ?? NaN],
      };
      update.progress = {
        epoch: event.epoch,
        epochs: state.progress?.epochs ?? 0,
        step: event.step,
        steps: event.steps,
        secondsPerEpoch: state.progress?.secondsPerEpoch ?? 0,
      };
    }
    if (event.type === "epoch" && event.epoch && event.metrics) {
      const s = update.series ?? state.series;
      const metrics: Record<string, number[]> = { ...s.metrics };
      const n = s.epochs.length;
      for (const [k, v] of Object.entries(event.metrics)) {
        const prev = metrics[k] ?? new Array(n).fill(NaN);
        metrics[k] = [...prev, v];
      }
      update.series = { ...s, epochs: [...s.epochs, event.epoch], metrics };
      update.progress = {
        epoch: event.epoch,
        epochs: event.epochs ?? 0,
        step: state.progress?.steps ?? 0,
        steps: state.progress?.steps ?? 0,
        secondsPerEpoch: event.seconds ?? 0,
      };
    }
    if (event.type === "log" || event.type === "error") update.logs = [...state.logs.slice(-200), event];
    if (event.type === "error") update.error = event.message ?? "training failed";
    if (event.type === "done") {
      update.status = event.status ?? state.status;
      update.testMetrics = event.test_metrics ?? null;
    }
    set(update);
  },

  stop: async () => {
    const id = get().runId;
    if (id) await api(`/api/runs/${id}/stop`, { method: "POST" });
  },
}));
