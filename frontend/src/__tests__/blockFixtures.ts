// Shared by the Blocks tests (not a test file itself): the block `res`, graphs that use it, and the graph store loaded
// with one of them.
import type { GraphJSON } from "../api/client";
import { type BlockDef, type BlockEdgeJSON, type BlockNodeJSON, readBlocks } from "../lib/blocks";
import { useGraph } from "../stores/graph";
import { useNotice } from "../stores/notice";

/** Edges written `source->target`, or `source->target:port` to reach a port of the target other than `in`. */
export function links(...written: string[]): BlockEdgeJSON[] {
  return written.map((link) => {
    const [source, to] = link.split("->");
    const [target, port] = to.split(":");
    return port ? { source, target, target_port: port } : { source, target };
  });
}

/**
 * The block `res`, as a user gets one from a file or the Blocks palette: inputs `x` and `skip` (in that order), output
 * `y`; inside, `fc` (fed by x) and the skip meet in an Add; with `proj`, the skip goes through the Linear `proj` first.
 */
export function resBlock(proj = false): BlockDef {
  const linear = (id: string, y: number): BlockNodeJSON => ({ id, type: "Linear", params: { out_features: 8 }, position: { x: 240, y } });
  return {
    nodes: [
      { id: "x", type: "Input" },
      { id: "skip", type: "Input" },
      linear("fc", 0),
      ...(proj ? [linear("proj", 120)] : []),
      { id: "add", type: "Add", params: {}, position: { x: 480, y: 0 } },
      { id: "y", type: "Output" },
    ],
    edges: links("x->fc", ...(proj ? ["skip->proj"] : []), "fc->add", proj ? "proj->add" : "skip->add", "add->y"),
  };
}

/** A `Block` node using `res`, at (x, 0). */
export function resNode(id: string, x: number, repeat: number, shared: boolean): BlockNodeJSON {
  return { id, type: "Block", params: { block: "res", repeat, shared }, position: { x, y: 0 } };
}

/** A graph using `res` (with `proj` as resBlock says): the Inputs `a` and `b` (shape [8]), `nodes`, the Output `out`,
 * and the edges written as `links` takes them. */
export function resGraph(name: string, nodes: BlockNodeJSON[], edges: string[], proj = false): GraphJSON {
  return {
    format: "netcanvas.graph/2",
    name,
    blocks: { res: resBlock(proj) },
    nodes: [
      { id: "a", type: "Input", params: { shape: [8] }, position: { x: 0, y: 0 } },
      { id: "b", type: "Input", params: { shape: [8] }, position: { x: 0, y: 200 } },
      ...nodes,
      { id: "out", type: "Output", position: { x: 900, y: 0 } },
    ],
    edges: links(...edges),
  } as unknown as GraphJSON;
}

export const state = () => useGraph.getState();

/** The graph store holding `graph` as just opened: nothing to undo or redo, no notice shown. */
export function loadFresh(graph: GraphJSON): void {
  state().load(graph);
  useGraph.setState({ past: [], future: [] });
  useNotice.getState().clear();
}

/** The block `res` as the store holds it now. */
export const res = (): BlockDef => readBlocks(state().extra).res;
export const nodeIds = () => state().nodes.map((n) => n.id).sort();
export const edgeIds = () => state().edges.map((e) => e.id).sort();
