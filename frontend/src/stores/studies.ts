// Hyperparameter studies (docs/search.md): the list, the one being looked at (polled while it runs), start and stop.
// The shapes are typed here from the API's StudySummary / StudyDetail / TrialInfo (backend/netcanvas/api/studies.py).
import { create } from "zustand";
import { ApiError, type GraphJSON, api } from "../api/client";
import type { SearchSpace } from "../lib/search";

export type TrialState = "running" | "complete" | "pruned" | "failed" | "stopped" | "interrupted";
export type StudyStatus = "running" | "completed" | "stopped" | "failed";
export type Sampler = "grid" | "random" | "tpe";
export type Direction = "minimize" | "maximize";

export type Trial = {
  number: number;
  state: TrialState;
  run_id: string | null;
  params: Record<string, string | number | boolean>;
  value: number | null;
  intermediate: [number, number][];
  message: string | null;
  created_at: string;
  finished_at: string | null;
};

export type StudySummary = {
  id: string;
  name: string;
  status: StudyStatus;
  sampler: Sampler;
  pruner: "median" | null;
  objective: string;
  direction: Direction;
  budget: number;
  parallel: number;
  counts: Partial<Record<TrialState, number>>;
  best: Trial | null;
  error: string | null;
  created_at: string;
  finished_at: string | null;
};

export type StudyDetail = StudySummary & {
  graph: GraphJSON;
  dataset: Record<string, unknown>;
  config: Record<string, unknown>;
  space: SearchSpace;
  trials: Trial[];
  importances: Record<string, number> | null;
};

export type StudyRequest = {
  graph: GraphJSON;
  dataset: { name: string };
  config: Record<string, unknown>;
  space: SearchSpace;
  sampler: Sampler;
  trials: number;
  objective: string | null;
  direction: Direction | null;
  pruner: "median" | null;
  parallel: number;
};

/** A refused request's problems by field: "trials", "objective", a space key, or "" for the rest. */
export type FieldProblems = Record<string, string>;

/** Where a 422 problem belongs: `["body", "space", key]` -> key; `["body", "trials"]` -> "trials"; else "". */
export function problemsByField(error: unknown): FieldProblems {
  const out: FieldProblems = {};
  const add = (field: string, msg: string) => (out[field] = out[field] ? `${out[field]}; ${msg}` : msg);
  if (!(error instanceof ApiError)) {
    add("", error instanceof Error ? error.message : String(error));
    return out;
  }
  if (!Array.isArray(error.detail)) {
    add("", error.message);
    return out;
  }
  for (const d of error.detail as { loc?: (string | number)[]; msg?: string }[]) {
    const loc = (d.loc ?? []).map(String);
    const msg = d.msg ?? "invalid";
    if ((loc[1] === "space" || (loc[1] === "graph" && loc[2] === "search")) && loc.length > 2) add(loc[loc[1] === "space" ? 2 : 3] ?? "", msg);
    else if (["trials", "objective", "direction", "parallel", "sampler"].includes(loc[1])) add(loc[1], msg);
    else add("", `${loc.slice(1).join(".")}: ${msg}`);
  }
  return out;
}

type StudiesState = {
  studies: StudySummary[];
  /** The study shown under the list. */
  openId: string | null;
  detail: StudyDetail | null;
  listError: string | null;
  refresh: () => Promise<void>;
  open: (id: string | null) => void;
  loadDetail: () => Promise<void>;
  /** Start a study; resolves to the problems by field when the server refuses it (nothing queued), else {}. */
  start: (request: StudyRequest) => Promise<FieldProblems>;
  stop: (id: string) => Promise<void>;
};

export const useStudies = create<StudiesState>((set, get) => ({
  studies: [],
  openId: null,
  detail: null,
  listError: null,
  refresh: async () => {
    try {
      set({ studies: await api<StudySummary[]>("/api/studies"), listError: null });
    } catch (e) {
      set({ listError: e instanceof Error ? e.message : String(e) });
    }
  },
  open: (id) => {
    set({ openId: id, detail: get().detail?.id === id ? get().detail : null });
    if (id) void get().loadDetail();
  },
  loadDetail: async () => {
    const id = get().openId;
    if (!id) return;
    try {
      const detail = await api<StudyDetail>(`/api/studies/${id}`);
      if (get().openId === id) set({ detail });
    } catch (e) {
      set({ listError: e instanceof Error ? e.message : String(e) });
    }
  },
  start: async (request) => {
    try {
      const { id } = await api<{ id: string }>("/api/studies", { method: "POST", json: request });
      await get().refresh();
      get().open(id);
      return {};
    } catch (e) {
      return problemsByField(e);
    }
  },
  stop: async (id) => {
    await api(`/api/studies/${id}/stop`, { method: "POST" });
    await Promise.all([get().refresh(), get().loadDetail()]);
  },
}));
