// What node and edge components draw besides positions, in a store of its own. Dragging a node changes the graph
// store on every frame; with 5,000 nodes and 6,000 edges on screen, each of their selectors ran on each of those
// changes. This store changes only when one of these does (a validation, the direction, the search marks, the edges).
import { create } from "zustand";
import { type GraphState, useGraph } from "../stores/graph";

export type Drawn = Pick<
  GraphState,
  "validation" | "edgeShapes" | "edgeErrors" | "nodeErrorCounts" | "nodeWarnings" | "nodeHints" | "direction" | "search" | "edges"
>;

function pick(s: GraphState): Drawn {
  const { validation, edgeShapes, edgeErrors, nodeErrorCounts, nodeWarnings, nodeHints, direction, search, edges } = s;
  return { validation, edgeShapes, edgeErrors, nodeErrorCounts, nodeWarnings, nodeHints, direction, search, edges };
}

export const useDrawn = create<Drawn>(() => pick(useGraph.getState()));

useGraph.subscribe((state) => {
  const now = useDrawn.getState();
  const next = pick(state);
  if ((Object.keys(next) as (keyof Drawn)[]).some((k) => next[k] !== now[k])) useDrawn.setState(next, true);
});
