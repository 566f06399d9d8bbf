// Re-validate the graph at most 250 ms after each edit that changes its structure (not on moves), or the dataset and
// training settings it would train with: the answer's pre-flight (memory estimates, an Output that does not fit the
// dataset, a model past the limits) follows them.
import { useEffect } from "react";
import { type Schemas, client, ok } from "../api/client";
import { useCatalog } from "../stores/catalog";
import { uploadRef, useDatasets } from "../stores/datasets";
import { useGraph } from "../stores/graph";
import { useTrain } from "../stores/train";
import { type LayerNode, structureKey, toGraphJSON } from "./graph";

export const VALIDATE_DELAY_MS = 250;

/** Same ids and same params objects, in the same order? (A drag or a selection replaces nodes but keeps their data.) */
export function sameLayers(a: LayerNode[] | null, b: LayerNode[]): boolean {
  if (a === b) return true;
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].id !== b[i].id || a[i].data !== b[i].data) return false;
  return true;
}

/** The dataset and config a run of this graph would be sent with (as the Train button sends them). */
export function trainingContext(): { dataset: Schemas["DatasetRef-Input"]; config: Schemas["TrainConfig"] } {
  const { dataset, config } = useTrain.getState();
  const builtIn = useCatalog.getState().catalog?.datasets;
  const name = builtIn ? (builtIn.find((d) => d.name === dataset) ?? builtIn[0])?.name : dataset;
  return {
    dataset: (uploadRef() ?? { name: name ?? dataset }) as Schemas["DatasetRef-Input"],
    config: config as unknown as Schemas["TrainConfig"],
  };
}

export function useValidation(): void {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let inflight: AbortController | null = null;
    let lastKey = "";
    let lastNodes: LayerNode[] | null = null;
    let lastEdges: unknown = null;
    let lastName = "";
    let lastContext = "";
    const schedule = () => {
      const state = useGraph.getState();
      const context = JSON.stringify(trainingContext());
      // Cheap test first (this runs on every frame of a drag): pointer comparisons, no serialization.
      const same =
        state.edges === lastEdges && state.name === lastName && context === lastContext && sameLayers(lastNodes, state.nodes);
      // A graph opened (or several nodes pasted) is checked at once; typing waits for a pause.
      const delay = Math.abs(state.nodes.length - (lastNodes?.length ?? 0)) > 1 ? 0 : VALIDATE_DELAY_MS;
      lastNodes = state.nodes;
      lastEdges = state.edges;
      lastName = state.name;
      lastContext = context;
      if (same) return;
      const key = `${structureKey(state)}\u0000${state.name}\u0000${context}`;
      // The same graph opened again (a run opened twice) has no report yet (load() drops it): validate it anyway.
      if (key === lastKey && (state.validation !== null || state.nodes.length === 0)) return;
      lastKey = key;
      if (timer) clearTimeout(timer);
      timer = setTimeout(async () => {
        inflight?.abort();
        const controller = new AbortController();
        inflight = controller;
        try {
          const body = { graph: toGraphJSON(useGraph.getState()), ...trainingContext() };
          const report = await ok(client.POST("/api/graphs/validate", { body, signal: controller.signal }));
          if (inflight === controller) useGraph.getState().setValidation(report);
        } catch {
          /* aborted by a newer edit, or the server is restarting: the next edit validates again */
        }
      }, delay);
    };
    schedule();
    const unsubscribe = [useGraph.subscribe(schedule), useTrain.subscribe(schedule), useDatasets.subscribe(schedule), useCatalog.subscribe(schedule)];
    return () => {
      for (const stop of unsubscribe) stop();
      if (timer) clearTimeout(timer);
      inflight?.abort();
    };
  }, []);
}
