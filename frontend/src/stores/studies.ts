// Hyperparameter studies (docs/search.md): the list, the one being looked at (polled while it runs), start and stop.
// The shapes are the API's StudySummary / StudyDetail / TrialInfo / StudyCreate (backend/netcanvas/api/studies.py).
import { create } from "zustand";
import { ApiError, type Schemas, client, ok } from "../api/client";
import { type SearchSpace, readSpace } from "../lib/search";

const fetchStudies = () => ok(client.GET("/api/studies"));
const fetchStudy = (id: string) => ok(client.GET("/api/studies/{study_id}", { params: { path: { study_id: id } } }));

// The answers as the client reads them (openapi-fetch reads a tuple, a trial's [epoch, value], as an array).
export type StudySummary = Awaited<ReturnType<typeof fetchStudies>>[number];
export type Trial = NonNullable<StudySummary["best"]>;
export type TrialState = Trial["state"];
export type StudyStatus = StudySummary["status"];
export type Direction = StudySummary["direction"];
export type StudyRequest = Schemas["StudyCreate"];
export type Sampler = NonNullable<StudyRequest["sampler"]>;

/** A study's detail, its space read as search dimensions (the answer types it as any JSON object). */
export type StudyDetail = Omit<Awaited<ReturnType<typeof fetchStudy>>, "space"> & { space: SearchSpace };

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
      set({ studies: await fetchStudies(), listError: null });
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
      const detail = await fetchStudy(id);
      if (get().openId === id) set({ detail: { ...detail, space: readSpace(detail.space) } });
    } catch (e) {
      set({ listError: e instanceof Error ? e.message : String(e) });
    }
  },
  start: async (request) => {
    try {
      const { id } = await ok(client.POST("/api/studies", { body: request }));
      await get().refresh();
      get().open(id);
      return {};
    } catch (e) {
      return problemsByField(e);
    }
  },
  stop: async (id) => {
    await ok(client.POST("/api/studies/{study_id}/stop", { params: { path: { study_id: id } } }));
    await Promise.all([get().refresh(), get().loadDetail()]);
  },
}));
