// Re-validate the graph at most 250 ms after each edit that changes its structure (not on moves).
import { useEffect } from "react";
import { validateGraph } from "../api/client";
import { useGraph } from "../stores/graph";
import { structureKey, toGraphJSON } from "./graph";

export const VALIDATE_DELAY_MS = 250;

export function useValidation(): void {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let inflight: AbortController | null = null;
    let lastKey = "";
    let lastNodes: unknown = null;
    let lastEdges: unknown = null;
    const schedule = () => {
      const state = useGraph.getState();
      // Cheap test first: a drag replaces the node objects, so compare the structure only when they changed.
      if (state.nodes === lastNodes && state.edges === lastEdges) return;
      lastNodes = state.nodes;
      lastEdges = state.edges;
      const key = structureKey(state) + state.name;
      if (key === lastKey) return;
      lastKey = key;
      if (timer) clearTimeout(timer);
      timer = setTimeout(async () => {
        inflight?.abort();
        const controller = new AbortController();
        inflight = controller;
        try {
          const report = await validateGraph(toGraphJSON(useGraph.getState()), controller.signal);
          if (inflight === controller) useGraph.getState().setValidation(report);
        } catch {
          /* aborted by a newer edit, or the server is restarting: the next edit validates again */
        }
      }, VALIDATE_DELAY_MS);
    };
    schedule();
    const unsubscribe = useGraph.subscribe(schedule);
    return () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      inflight?.abort();
    };
  }, []);
}
