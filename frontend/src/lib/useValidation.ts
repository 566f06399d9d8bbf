// Re-validate the graph at most 250 ms after each edit that changes its structure (not on moves).
import { useEffect } from "react";
import { validateGraph } from "../api/client";
import { useGraph } from "../stores/graph";
import { type LayerNode, structureKey, toGraphJSON } from "./graph";

export const VALIDATE_DELAY_MS = 250;

/** Same ids and same params objects, in the same order? (A drag or a selection replaces nodes but keeps their data.) */
export function sameLayers(a: LayerNode[] | null, b: LayerNode[]): boolean {
  if (a === b) return true;
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].id !== b[i].id || a[i].data !== b[i].data) return false;
  return true;
}

export function useValidation(): void {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let inflight: AbortController | null = null;
    let lastKey = "";
    let lastNodes: LayerNode[] | null = null;
    let lastEdges: unknown = null;
    let lastName = "";
    const schedule = () => {
      const state = useGraph.getState();
      // Cheap test first (this runs on every frame of a drag): pointer comparisons, no serialization.
      const same = state.edges === lastEdges && state.name === lastName && sameLayers(lastNodes, state.nodes);
      // A graph opened (or several nodes pasted) is checked at once; typing waits for a pause.
      const delay = Math.abs(state.nodes.length - (lastNodes?.length ?? 0)) > 1 ? 0 : VALIDATE_DELAY_MS;
      lastNodes = state.nodes;
      lastEdges = state.edges;
      lastName = state.name;
      if (same) return;
      const key = `${structureKey(state)}\u0000${state.name}`;
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
      }, delay);
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
