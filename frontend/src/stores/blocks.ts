// Store actions for repeat blocks (lib/blocks.ts does the work): group the selection, ungroup a Block node, add a
// Block node from the palette. Each is one undo step. Block definitions live in the graph's `blocks` (FlowGraph.extra)
// and are never removed by an edit, so undo and redo of a grouping always find the block their nodes use.
import type { XYPosition } from "@xyflow/react";
import { create } from "zustand";
import { type Blocks, BLOCK, groupSelection, readBlocks, ungroup } from "../lib/blocks";
import type { LayerNode } from "../lib/graph";
import { useGraph } from "./graph";
import { notify } from "./notice";

export function currentBlocks(): Blocks {
  return readBlocks(useGraph.getState().extra);
}

/** Group the selected nodes into a new block (toolbar "Group", Ctrl+G). Returns the Block node's id, or null. */
export function groupSelected(): string | null {
  const g = useGraph.getState();
  const blocks = currentBlocks();
  const result = groupSelection(g, blocks, g.nodes.filter((n) => n.selected).map((n) => n.id));
  if ("error" in result) {
    notify(`Cannot group: ${result.error}`);
    return null;
  }
  g.checkpoint();
  useGraph.setState({
    nodes: result.nodes,
    edges: result.edges,
    extra: { ...g.extra, blocks: { ...blocks, [result.name]: result.block } },
  });
  return result.instance.id;
}

/** Block nodes expanded for editing (not saved): the node's id -> its block, its params and the ids of its layers. */
export type Expanded = Record<string, { block: string; params: Record<string, unknown>; ids: string[] }>;
export const useExpanded = create<Expanded>(() => ({}));

/** Show a Block node's layers on the canvas to edit them (one copy, whatever its repeat); collapseNode puts it back. */
export function expandNode(id: string): void {
  const g = useGraph.getState();
  const node = g.nodes.find((n) => n.id === id);
  const result = ungroup(g, currentBlocks(), id, true);
  if (!node || "error" in result) {
    notify(`Cannot expand: ${"error" in result ? result.error : `no node '${id}'`}`);
    return;
  }
  g.checkpoint();
  useGraph.setState({ nodes: result.nodes, edges: result.edges });
  useExpanded.setState({ [id]: { block: String(node.data.params.block), params: node.data.params, ids: result.added } });
}

/** Collapse an expanded block again: its layers (as edited) become the block's definition, used by every node of it. */
export function collapseNode(id: string): void {
  const record = useExpanded.getState()[id];
  if (!record) return;
  const g = useGraph.getState();
  const drop = () => {
    const rest = { ...useExpanded.getState() };
    delete rest[id];
    useExpanded.setState(rest, true);
  };
  // Undone meanwhile: the Block node is back, nothing to collapse.
  if (g.nodes.some((n) => n.id === id)) return drop();
  const blocks = currentBlocks();
  const present = new Set(g.nodes.map((n) => n.id));
  const result = groupSelection(g, blocks, record.ids.filter((n) => present.has(n)), { name: record.block, id, params: record.params });
  if ("error" in result) {
    notify(`Cannot collapse '${id}': ${result.error}`);
    return;
  }
  g.checkpoint();
  useGraph.setState({ nodes: result.nodes, edges: result.edges, extra: { ...g.extra, blocks: { ...blocks, [result.name]: result.block } } });
  drop();
}

/** Put a Block node's inner nodes back on the canvas (Inspector "Ungroup"). */
export function ungroupNode(id: string): void {
  const g = useGraph.getState();
  const result = ungroup(g, currentBlocks(), id);
  if ("error" in result) {
    notify(`Cannot ungroup: ${result.error}`);
    return;
  }
  g.checkpoint();
  useGraph.setState({ nodes: result.nodes, edges: result.edges });
}

/** A new Block node using the block `name` (a palette entry under "Blocks"). */
export function addBlockNode(name: string, position: XYPosition): string {
  const g = useGraph.getState();
  g.checkpoint();
  const taken = new Set(g.nodes.map((n) => n.id));
  let id = name;
  for (let i = 2; taken.has(id); i++) id = `${name}_${i}`;
  const node: LayerNode = { id, type: "block", position, data: { type: BLOCK, params: { block: name, repeat: 1, shared: false } }, selected: true };
  useGraph.setState({ nodes: [...g.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node] });
  return id;
}
