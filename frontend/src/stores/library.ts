// Graphs saved on the server (the graphs table): the list, and which one the canvas holds (to update it in place).
import { create } from "zustand";
import { type GraphJSON, type Schemas, client, ok } from "../api/client";
import { offerUndo } from "../ui/UndoToast";
import { notify } from "./notice";

export type GraphSummary = Schemas["GraphSummary"];
type GraphRecord = Schemas["GraphRecord"];

type LibraryState = {
  graphs: GraphSummary[];
  /** The server graph the canvas was opened from or last saved to; null for unsaved work. */
  currentId: string | null;
  error: string | null;
  refresh: () => Promise<void>;
  /** Save as a new server graph and make it the current one. */
  saveNew: (graph: GraphJSON, name: string) => Promise<GraphRecord>;
  /** Overwrite the current server graph. */
  update: (graph: GraphJSON) => Promise<void>;
  fetch: (id: string) => Promise<GraphJSON>;
  rename: (id: string, name: string) => Promise<void>;
  /** Graphs deleted in the list whose Undo toast is still up: left out of the list, deleted on the server when
   * the offer ends without Undo. */
  deleting: string[];
  /** Hide the graph and offer Undo (as deleting a run does); the server deletes it once the offer ends. */
  remove: (id: string) => void;
  detach: () => void;
};

export const useLibrary = create<LibraryState>()((set, get) => ({
  graphs: [],
  currentId: null,
  error: null,
  deleting: [],
  refresh: async () => {
    try {
      const graphs = await ok(client.GET("/api/graphs"));
      set({ graphs: graphs.filter((g) => !get().deleting.includes(g.id)), error: null });
    } catch (e) {
      set({ error: (e as Error).message });
    }
  },
  saveNew: async (graph, name) => {
    const saved = await ok(client.POST("/api/graphs", { body: { graph: { ...graph, name }, name } }));
    set({ currentId: saved.id });
    await get().refresh();
    return saved;
  },
  update: async (graph) => {
    const id = get().currentId;
    if (!id) throw new Error("this graph is not saved on the server yet");
    await client.PUT("/api/graphs/{graph_id}", { params: { path: { graph_id: id } }, body: { graph, name: graph.name } });
    await get().refresh();
  },
  fetch: async (id) => {
    const record = await ok(client.GET("/api/graphs/{graph_id}", { params: { path: { graph_id: id } } }));
    set({ currentId: id });
    return record.graph;
  },
  rename: async (id, name) => {
    await client.PUT("/api/graphs/{graph_id}", { params: { path: { graph_id: id } }, body: { name } });
    await get().refresh();
  },
  remove: (id) => {
    const name = get().graphs.find((g) => g.id === id)?.name ?? id;
    const wasCurrent = get().currentId === id;
    const forget = () => set({ deleting: get().deleting.filter((x) => x !== id) });
    set({
      deleting: [...get().deleting, id],
      graphs: get().graphs.filter((g) => g.id !== id),
      ...(wasCurrent ? { currentId: null } : {}),
    });
    offerUndo(
      `Deleted graph '${name}' from the server.`,
      () => {
        forget();
        if (wasCurrent && get().currentId === null) set({ currentId: id });
        void get().refresh();
      },
      () => {
        // keepalive: the request still goes when the offer ends because the page is closing.
        client
          .DELETE("/api/graphs/{graph_id}", { params: { path: { graph_id: id } }, keepalive: true })
          .catch((e: Error) => notify(`Could not delete graph '${name}': ${e.message}`))
          .finally(() => {
            forget();
            void get().refresh();
          });
      },
    );
  },
  detach: () => set({ currentId: null }),
}));
