// The list of runs (history) and the runs picked for comparison.
import { create } from "zustand";
import { type Schemas, client, ok } from "../api/client";
import { offerUndo } from "../ui/UndoToast";
import { notify } from "./notice";

export type RunSummary = Schemas["RunSummary"];

type RunsState = {
  runs: RunSummary[];
  compare: string[];
  /** Runs deleted in the list whose Undo toast is still up: hidden, and deleted on the server when it goes. */
  deleting: string[];
  refresh: () => Promise<void>;
  toggleCompare: (id: string) => void;
  /** Hide the run and offer Undo; its files are deleted on the server only once the offer ends without Undo. */
  remove: (id: string) => void;
};

export const useRunList = create<RunsState>((set, get) => ({
  runs: [],
  compare: [],
  deleting: [],
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
  remove: (id) => {
    const name = get().runs.find((r) => r.id === id)?.name ?? id;
    const compared = get().compare.includes(id);
    set({ deleting: [...get().deleting, id], compare: get().compare.filter((x) => x !== id) });
    const forget = () => set({ deleting: get().deleting.filter((x) => x !== id) });
    offerUndo(
      `Deleted run '${name}'.`,
      () => {
        forget();
        if (compared) set({ compare: [...get().compare, id] });
      },
      () => {
        // keepalive: the request still goes when the offer ends because the page is closing.
        client
          .DELETE("/api/runs/{run_id}", { params: { path: { run_id: id } }, keepalive: true })
          .then(
            () => get().refresh(),
            (e: Error) => notify(`Could not delete run '${name}': ${e.message}`),
          )
          .finally(forget);
      },
    );
  },
}));
