// Graphs saved on the server (the graphs table): the list, and which one the canvas holds (to update it in place).
import { create } from "zustand";
import { type GraphJSON, type Schemas, client, ok } from "../api/client";

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
  remove: (id: string) => Promise<void>;
  detach: () => void;
};

export const useLibrary = create<LibraryState>()((set, get) => ({
  graphs: [],
  currentId: null,
  error: null,
  refresh: async () => {
    try {
      set({ graphs: await ok(client.GET("/api/graphs")), error: null });
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
  remove: async (id) => {
    await client.DELETE("/api/graphs/{graph_id}", { params: { path: { graph_id: id } } });
    if (get().currentId === id) set({ currentId: null });
    await get().refresh();
  },
  detach: () => set({ currentId: null }),
}));
