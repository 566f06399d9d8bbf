// Store actions for repeat blocks (lib/blocks.ts does the work): group the selection, ungroup a Block node, add a
// Block node from the palette, expand and collapse. Each is one undo step. Block definitions live in the graph's
// `blocks` (FlowGraph.extra), which undo and redo restore with the nodes, as they do the blocks expanded for editing.
import type { XYPosition } from "@xyflow/react";
import { type Blocks, type Expanded, type PortEnd, BLOCK, groupSelection, readBlocks, readExpanded, ungroup, withExpanded } from "../lib/blocks";
import { type LayerNode, type PortEdge, edgeId } from "../lib/graph";
import { renameListeners, useGraph } from "./graph";
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

/** The Block nodes expanded for editing (kept in the graph, see readExpanded): a hook, and now. */
export const useExpanded = (): Expanded => useGraph((s) => readExpanded(s.extra));
export const expandedNow = (): Expanded => readExpanded(useGraph.getState().extra);

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
  const record = { block: String(node.data.params.block), params: node.data.params, ids: result.added, ports: result.ports };
  useGraph.setState({ nodes: result.nodes, edges: result.edges, extra: withExpanded(g.extra, id, record) });
}

/** Collapse an expanded block again: its layers (as edited) become the block's definition, used by every node of it,
 * with the ports named as before (the edges stay on the same handles of the Block node). A port stays while a layer at
 * its end does, connected or not; the other nodes' edges on a port whose layers were deleted are removed, and the
 * notice names them. One undo step. */
export function collapseNode(id: string): void {
  const record = expandedNow()[id];
  if (!record) return;
  const g = useGraph.getState();
  const blocks = currentBlocks();
  const present = new Set(g.nodes.map((n) => n.id));
  const ids = record.ids.filter((n) => present.has(n));
  if (!ids.length) {
    // Its layers were all deleted: nothing left to collapse (the block's definition is unchanged).
    g.checkpoint();
    useGraph.setState({ extra: withExpanded(g.extra, id, null) });
    notify(`'${id}' had no layers left on the canvas: nothing to collapse`);
    return;
  }
  const result = groupSelection(g, blocks, ids, { name: record.block, id, params: record.params, ports: record.ports });
  if ("error" in result) {
    notify(`Cannot collapse '${id}': ${result.error}`);
    return;
  }
  g.checkpoint();
  const extra = withExpanded({ ...g.extra, blocks: { ...blocks, [result.name]: result.block } }, id, null);
  useGraph.setState({ nodes: result.nodes, edges: result.edges, extra });
  if (result.dropped.length) {
    const names = result.dropped.map((e) => `${e.source}:${e.sourceHandle ?? "out"} → ${e.target}:${e.targetHandle ?? "in"}`);
    notify(`Collapsed '${id}': block '${result.name}' lost the ports whose layers were deleted; removed the edges on them: ${names.join(", ")} (Undo puts them back)`);
  }
}

// A layer of an expanded block renamed on the canvas (one undo step, recorded before this runs) stays in the block,
// under its new name, and its edges across the block's border stay on their ports (their ids changed with it).
renameListeners.add((from, to) => {
  const g = useGraph.getState();
  const owner = Object.entries(readExpanded(g.extra)).find(([, r]) => r.ids.includes(from));
  if (!owner) return;
  const [id, record] = owner;
  const before = (e: PortEdge) => edgeId(e.source === to ? from : e.source, e.sourceHandle ?? "out", e.target === to ? from : e.target, e.targetHandle ?? "in");
  const moved = (ports: Record<string, string>) => {
    const out = { ...ports };
    for (const e of g.edges) {
      const was = (e.source === to || e.target === to) && before(e);
      if (!was || !(was in ports)) continue;
      delete out[was];
      out[e.id] = ports[was];
    }
    return out;
  };
  const names = { ...record.ports.names };
  delete names[from];
  const follow = (end: PortEnd): PortEnd => (end.node === from ? { ...end, node: to } : end);
  const { ends } = record.ports;
  const inputs = Object.fromEntries(Object.entries(ends.inputs).map(([port, list]) => [port, list.map(follow)]));
  const outputs = Object.fromEntries(Object.entries(ends.outputs).map(([port, end]) => [port, follow(end)]));
  const ports = { inputs: moved(record.ports.inputs), outputs: moved(record.ports.outputs), names, ends: { inputs, outputs } };
  useGraph.setState({ extra: withExpanded(g.extra, id, { ...record, ids: record.ids.map((n) => (n === from ? to : n)), ports }) });
});

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
