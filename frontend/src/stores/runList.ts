// The list of runs (history) and the runs picked for comparison.
import { create } from "zustand";
import { type Schemas, client, ok } from "../api/client";

export type RunSummary = Schemas["RunSummary"];

type RunsState = {
  runs: RunSummary[];
  compare: string[];
  refresh: () => Promise<void>;
  toggleCompare: (id: string) => void;
  remove: (id: string) => Promise<void>;
};

export const useRunList = create<RunsState>((set, get) => ({
  runs: [],
  compare: [],
  refresh: async () => {
    try {
      set({ runs: await ok(client.GET("/api/runs")) });
    } catch {
      /* the list refreshes again soon */
    }
  },
  toggleCompare: (id) => {
    const c = get().compare;
    set({ compare: c.includes(id) ? c.filter((x) => x !== id) : [...c, id] });
  },
  remove: async (id) => {
    await client.DELETE("/api/runs/{run_id}", { params: { path: { run_id: id } } });
    set({ compare: get().compare.filter((x) => x !== id) });
    await get().refresh();
  },
}));
