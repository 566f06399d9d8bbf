// Editing one node of a block (Expand, edit, Collapse) keeps the block's interface for its other nodes: a port whose
// edge was deleted while expanded stays while its layer does (unconnected on the collapsed node); a port whose layers
// were deleted goes, and the other nodes' edges on it are removed in the same undo step, named in the notice.
import { beforeEach, describe, expect, it } from "vitest";
import { blockPorts } from "../lib/blocks";
import { collapseNode, expandNode, expandedNow } from "../stores/blocks";
import { useNotice } from "../stores/notice";
import { edgeIds, loadFresh, res, resGraph, resNode, state } from "./blockFixtures";

// The block `res` (inputs x and skip, output y; the skip through `proj`) used twice in a row: r1 feeds r2's x.
const graph = resGraph(
  "two copies",
  [resNode("r1", 300, 2, false), resNode("r2", 600, 1, false)],
  ["a->r1:x", "b->r1:skip", "r1->r2:x", "b->r2:skip", "r2->out"],
  true,
);

const innerEdges = () => res().edges.map((e) => `${e.source}->${e.target}:${e.target_port ?? "in"}`).sort();
const snapshot = () => ({ nodes: state().nodes, edges: state().edges, extra: state().extra });
const removeEdge = (id: string) => {
  expect(state().edges.map((e) => e.id)).toContain(id);
  state().onEdgesChange([{ type: "remove", id }]);
};

describe("collapsing one node of a block keeps the block's ports for the others", () => {
  beforeEach(() => loadFresh(graph));

  it("keeps a port whose only edge was deleted while expanded, unconnected on the collapsed node", () => {
    const before = edgeIds();
    expandNode("r1");
    removeEdge("b:out->proj:in"); // the edge made for r1's `skip`
    const expanded = snapshot();
    collapseNode("r1");

    expect(blockPorts(res())).toEqual({ inputs: ["x", "skip"], outputs: ["y"] });
    expect(innerEdges()).toEqual(["add->y:in", "fc->add:in", "proj->add:in", "skip->proj:in", "x->fc:in"]);
    // r2 keeps every edge; r1 only lost its skip (the validation reports it unconnected, naming r1).
    expect(edgeIds()).toEqual(before.filter((id) => id !== "b:out->r1:skip"));
    expect(state().edges.filter((e) => e.target === "r1").map((e) => e.targetHandle)).toEqual(["x"]);
    expect(state().nodes.find((n) => n.id === "r1")?.data.params).toEqual({ block: "res", repeat: 2, shared: false });
    expect(useNotice.getState().text).toBeNull();

    state().undo(); // the collapse: expanded again, the edge still deleted
    expect(snapshot()).toEqual(expanded);
    expect(expandedNow().r1).toBeDefined();
    state().undo(); // the deletion
    expect(state().edges.map((e) => e.id)).toContain("b:out->proj:in");
  });

  it("keeps an output port whose edge was deleted, and a port whose layer was renamed after", () => {
    expandNode("r1");
    removeEdge("add:out->r2:x");
    removeEdge("b:out->proj:in");
    expect(state().rename("proj", "shortcut")).toBeNull();
    collapseNode("r1");
    expect(blockPorts(res())).toEqual({ inputs: ["x", "skip"], outputs: ["y"] });
    expect(innerEdges()).toEqual(["add->y:in", "fc->add:in", "shortcut->add:in", "skip->shortcut:in", "x->fc:in"]);
    expect(edgeIds()).toEqual(["a:out->r1:x", "b:out->r2:skip", "r2:out->out:in"]);
  });

  it("gives a kept port back to a new edge on the layer and handle it served, in its place in the port order", () => {
    expandNode("r1");
    removeEdge("b:out->proj:in"); // r1's `skip`
    removeEdge("add:out->r2:x"); // r1's `y`
    const c = state().addNode("Input", { shape: [8] }, { x: 0, y: 400 });
    const o = state().addNode("Output", {}, { x: 900, y: 200 });
    state().connect({ source: c, target: "proj", sourceHandle: "out", targetHandle: "in" });
    state().connect({ source: "add", target: o, sourceHandle: "out", targetHandle: "in" });
    const expanded = snapshot();
    collapseNode("r1");

    expect(blockPorts(res())).toEqual({ inputs: ["x", "skip"], outputs: ["y"] });
    expect(innerEdges()).toEqual(["add->y:in", "fc->add:in", "proj->add:in", "skip->proj:in", "x->fc:in"]);
    expect(edgeIds()).toEqual(["a:out->r1:x", "b:out->r2:skip", `${c}:out->r1:skip`, `r1:out->${o}:in`, "r2:out->out:in"].sort());
    expect(useNotice.getState().text).toBeNull();

    state().undo(); // one step back to editing, the new edges drawn
    expect(snapshot()).toEqual(expanded);
  });

  it("makes a new port, after the kept ones, for a new edge on a layer or handle no kept port served", () => {
    expandNode("r1");
    removeEdge("b:out->proj:in"); // `skip` served proj's input, not the Add's
    const c = state().addNode("Input", { shape: [8] }, { x: 0, y: 400 });
    state().connect({ source: c, target: "add", sourceHandle: "out", targetHandle: "in" });
    collapseNode("r1");

    expect(blockPorts(res())).toEqual({ inputs: ["x", "skip", "in1"], outputs: ["y"] });
    expect(innerEdges()).toEqual(["add->y:in", "fc->add:in", "in1->add:in", "proj->add:in", "skip->proj:in", "x->fc:in"]);
    expect(state().edges.filter((e) => e.target === "r1").map((e) => e.id)).toEqual(["a:out->r1:x", `${c}:out->r1:in1`]);
  });

  it("drops a port whose layer was deleted, with the other nodes' edges on it, in one undo step", () => {
    expandNode("r1");
    state().onNodesChange([{ type: "remove", id: "proj" }]); // the only layer `skip` fed
    const expanded = snapshot();
    collapseNode("r1");

    expect(blockPorts(res())).toEqual({ inputs: ["x"], outputs: ["y"] });
    expect(res().nodes.map((n) => n.id)).toEqual(["x", "fc", "add", "y"]);
    // r2's skip edge is gone and named in the notice; its x edge, now the only input, is on the default handle.
    expect(edgeIds()).toEqual(["a:out->r1:in", "r1:out->r2:in", "r2:out->out:in"]);
    expect(useNotice.getState().text).toContain("b:out → r2:skip");

    state().undo();
    expect(snapshot()).toEqual(expanded);
    expect(blockPorts(res())).toEqual({ inputs: ["x", "skip"], outputs: ["y"] });
    expect(state().edges.map((e) => e.id)).toContain("b:out->r2:skip");
  });
});
