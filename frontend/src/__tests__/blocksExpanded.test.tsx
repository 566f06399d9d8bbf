// A Block node expanded for editing stays collapsible: across a reload (the graph mirrored to localStorage), undo and
// redo, with its Collapse button shown above the canvas, and collapsing keeps the block's ports.
import { ReactFlowProvider } from "@xyflow/react";
import { act } from "react";
import { beforeEach, describe, expect, it } from "vitest";
import { ExpandedBlocks } from "../canvas/ExpandedBlocks";
import { blockPorts } from "../lib/blocks";
import { collapseNode, expandNode, expandedNow } from "../stores/blocks";
import { persistGraph, restoredGraph } from "../stores/graph";
import { edgeIds, loadFresh, nodeIds, res, resGraph, resNode, state } from "./blockFixtures";
import { mountPerTest } from "./mount";

const graph = resGraph("expanded", [resNode("r1", 300, 3, true)], ["b->r1:skip", "a->r1:x", "r1->out"]);

/** The page is left (the graph is mirrored to localStorage) and opened again. */
function reload() {
  const stop = persistGraph();
  window.dispatchEvent(new Event("beforeunload"));
  stop();
  state().reset();
  expect(expandedNow()).toEqual({});
  loadFresh(restoredGraph()!);
}

describe("a block expanded for editing", () => {
  const view = mountPerTest();
  beforeEach(() => {
    localStorage.clear();
    loadFresh(graph);
  });
  const collapseButton = () => view.host.querySelector('[data-testid="btn-collapse-r1"]');

  it("is still collapsible after a reload, and collapses with the ports and edges it had", async () => {
    const before = edgeIds();
    expandNode("r1");
    expect(nodeIds()).toEqual(["a", "add", "b", "fc", "out"]);
    reload();
    expect(nodeIds()).toEqual(["a", "add", "b", "fc", "out"]);
    await act(async () => view.root.render(<ReactFlowProvider><ExpandedBlocks /></ReactFlowProvider>));
    expect(collapseButton()?.textContent).toBe("Collapse r1 (res ×3)");

    // An edit while expanded, then Collapse: one node again, repeat and sharing back, ports and edges as they were.
    const fc = state().nodes.find((n) => n.id === "fc")!;
    state().setParams("fc", { out_features: 32 });
    expect(fc.data.params).toEqual({ out_features: 8 });
    await act(async () => (collapseButton() as HTMLButtonElement).click());
    expect(nodeIds()).toEqual(["a", "b", "out", "r1"]);
    expect(state().nodes.find((n) => n.id === "r1")?.data.params).toEqual({ block: "res", repeat: 3, shared: true });
    expect(edgeIds()).toEqual(before);
    expect(blockPorts(res())).toEqual({ inputs: ["x", "skip"], outputs: ["y"] });
    expect(res().nodes.find((n) => n.id === "fc")?.params).toEqual({ out_features: 32 });
    expect(collapseButton()).toBeNull();
    expect(state().toJSON().ui).toEqual({ direction: "LR" }); // nothing left expanded in the file
  });

  it("gives a kept port back to a new edge on its layer after a reload", () => {
    expandNode("r1");
    state().onEdgesChange([{ type: "remove", id: "b:out->add:in" }]); // the edge made for `skip`
    reload();
    const c = state().addNode("Input", { shape: [8] }, { x: 0, y: 400 });
    state().connect({ source: c, target: "add", sourceHandle: "out", targetHandle: "in" });
    collapseNode("r1");
    expect(nodeIds()).toEqual(["a", "b", c, "out", "r1"].sort());
    expect(blockPorts(res())).toEqual({ inputs: ["x", "skip"], outputs: ["y"] });
    expect(edgeIds()).toEqual(["a:out->r1:x", `${c}:out->r1:skip`, "r1:out->out:in"].sort());
  });

  it("follows undo and redo: the Collapse button is there exactly when the layers are", async () => {
    await act(async () => view.root.render(<ReactFlowProvider><ExpandedBlocks /></ReactFlowProvider>));
    await act(async () => expandNode("r1"));
    expect(collapseButton()).not.toBeNull();
    await act(async () => state().undo());
    expect(nodeIds()).toEqual(["a", "b", "out", "r1"]);
    expect(collapseButton()).toBeNull();
    await act(async () => state().redo());
    expect(nodeIds()).toEqual(["a", "add", "b", "fc", "out"]);
    expect(collapseButton()).not.toBeNull();

    await act(async () => collapseNode("r1"));
    expect(collapseButton()).toBeNull();
    await act(async () => state().undo()); // back to editing: the layers and their Collapse button
    expect(nodeIds()).toEqual(["a", "add", "b", "fc", "out"]);
    expect(collapseButton()).not.toBeNull();
    await act(async () => collapseNode("r1"));
    expect(nodeIds()).toEqual(["a", "b", "out", "r1"]);
  });

  it("keeps a layer renamed while expanded in the block, under its new name, and its edges on their ports", () => {
    const before = edgeIds();
    expandNode("r1");
    expect(state().rename("fc", "dense")).toBeNull();
    expect(state().rename("add", "sum")).toBeNull();
    collapseNode("r1");
    expect(nodeIds()).toEqual(["a", "b", "out", "r1"]);
    expect(edgeIds()).toEqual(before);
    expect(blockPorts(res())).toEqual({ inputs: ["x", "skip"], outputs: ["y"] });
    expect(res().nodes.map((n) => n.id)).toEqual(["x", "skip", "dense", "sum", "y"]);
    state().undo(); // the collapse
    state().undo(); // the second rename: the block's record follows
    expect(expandedNow().r1.ids.sort()).toEqual(["add", "dense"]);
  });
});
