// A Block node expanded for editing stays collapsible: across a reload (the graph mirrored to localStorage), undo and
// redo, with its Collapse button shown above the canvas, and collapsing keeps the block's ports.
import { ReactFlowProvider } from "@xyflow/react";
import { act } from "react";
import { type Root, createRoot } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GraphJSON } from "../api/client";
import { ExpandedBlocks } from "../canvas/ExpandedBlocks";
import { blockPorts, readBlocks } from "../lib/blocks";
import { collapseNode, expandNode, expandedNow } from "../stores/blocks";
import { persistGraph, restoredGraph, useGraph } from "../stores/graph";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const graph = {
  format: "netcanvas.graph/2",
  name: "expanded",
  blocks: {
    res: {
      nodes: [
        { id: "x", type: "Input" },
        { id: "skip", type: "Input" },
        { id: "fc", type: "Linear", params: { out_features: 8 } },
        { id: "add", type: "Add", params: {} },
        { id: "y", type: "Output" },
      ],
      edges: [
        { source: "x", target: "fc" },
        { source: "fc", target: "add" },
        { source: "skip", target: "add" },
        { source: "add", target: "y" },
      ],
    },
  },
  nodes: [
    { id: "a", type: "Input", params: { shape: [8] }, position: { x: 0, y: 0 } },
    { id: "b", type: "Input", params: { shape: [8] }, position: { x: 0, y: 200 } },
    { id: "r1", type: "Block", params: { block: "res", repeat: 3, shared: true }, position: { x: 300, y: 0 } },
    { id: "out", type: "Output", position: { x: 900, y: 0 } },
  ],
  edges: [
    { source: "b", target: "r1", target_port: "skip" },
    { source: "a", target: "r1", target_port: "x" },
    { source: "r1", target: "out" },
  ],
} as unknown as GraphJSON;

const ids = () => useGraph.getState().nodes.map((n) => n.id).sort();
const edgeIds = () => useGraph.getState().edges.map((e) => e.id).sort();

describe("a block expanded for editing", () => {
  let host: HTMLDivElement;
  let root: Root;
  beforeEach(() => {
    localStorage.clear();
    useGraph.getState().load(graph);
    useGraph.setState({ past: [], future: [] });
    host = document.createElement("div");
    document.body.appendChild(host);
    root = createRoot(host);
  });
  afterEach(() => {
    act(() => root.unmount());
    host.remove();
  });
  const collapseButton = () => host.querySelector('[data-testid="btn-collapse-r1"]');

  it("is still collapsible after a reload, and collapses with the ports and edges it had", async () => {
    const before = edgeIds();
    expandNode("r1");
    expect(ids()).toEqual(["a", "add", "b", "fc", "out"]);
    // The page is left (the graph is mirrored to localStorage) and opened again.
    const stop = persistGraph();
    window.dispatchEvent(new Event("beforeunload"));
    stop();
    useGraph.getState().reset();
    expect(expandedNow()).toEqual({});
    useGraph.getState().load(restoredGraph()!);
    useGraph.setState({ past: [], future: [] });
    expect(ids()).toEqual(["a", "add", "b", "fc", "out"]);
    await act(async () => root.render(<ReactFlowProvider><ExpandedBlocks /></ReactFlowProvider>));
    expect(collapseButton()?.textContent).toBe("Collapse r1 (res ×3)");

    // An edit while expanded, then Collapse: one node again, repeat and sharing back, ports and edges as they were.
    const fc = useGraph.getState().nodes.find((n) => n.id === "fc")!;
    useGraph.getState().setParams("fc", { out_features: 32 });
    expect(fc.data.params).toEqual({ out_features: 8 });
    await act(async () => (collapseButton() as HTMLButtonElement).click());
    expect(ids()).toEqual(["a", "b", "out", "r1"]);
    expect(useGraph.getState().nodes.find((n) => n.id === "r1")?.data.params).toEqual({ block: "res", repeat: 3, shared: true });
    expect(edgeIds()).toEqual(before);
    const res = readBlocks(useGraph.getState().extra).res;
    expect(blockPorts(res)).toEqual({ inputs: ["x", "skip"], outputs: ["y"] });
    expect(res.nodes.find((n) => n.id === "fc")?.params).toEqual({ out_features: 32 });
    expect(collapseButton()).toBeNull();
    expect(useGraph.getState().toJSON().ui).toEqual({ direction: "LR" }); // nothing left expanded in the file
  });

  it("gives a kept port back to a new edge on its layer after a reload", () => {
    expandNode("r1");
    useGraph.getState().onEdgesChange([{ type: "remove", id: "b:out->add:in" }]); // the edge made for `skip`
    const stop = persistGraph();
    window.dispatchEvent(new Event("beforeunload"));
    stop();
    useGraph.getState().reset();
    useGraph.getState().load(restoredGraph()!);
    const c = useGraph.getState().addNode("Input", { shape: [8] }, { x: 0, y: 400 });
    useGraph.getState().connect({ source: c, target: "add", sourceHandle: "out", targetHandle: "in" });
    collapseNode("r1");
    expect(ids()).toEqual(["a", "b", c, "out", "r1"].sort());
    expect(blockPorts(readBlocks(useGraph.getState().extra).res)).toEqual({ inputs: ["x", "skip"], outputs: ["y"] });
    expect(edgeIds()).toEqual(["a:out->r1:x", `${c}:out->r1:skip`, "r1:out->out:in"].sort());
  });

  it("follows undo and redo: the Collapse button is there exactly when the layers are", async () => {
    await act(async () => root.render(<ReactFlowProvider><ExpandedBlocks /></ReactFlowProvider>));
    await act(async () => expandNode("r1"));
    expect(collapseButton()).not.toBeNull();
    await act(async () => useGraph.getState().undo());
    expect(ids()).toEqual(["a", "b", "out", "r1"]);
    expect(collapseButton()).toBeNull();
    await act(async () => useGraph.getState().redo());
    expect(ids()).toEqual(["a", "add", "b", "fc", "out"]);
    expect(collapseButton()).not.toBeNull();

    await act(async () => collapseNode("r1"));
    expect(collapseButton()).toBeNull();
    await act(async () => useGraph.getState().undo()); // back to editing: the layers and their Collapse button
    expect(ids()).toEqual(["a", "add", "b", "fc", "out"]);
    expect(collapseButton()).not.toBeNull();
    await act(async () => collapseNode("r1"));
    expect(ids()).toEqual(["a", "b", "out", "r1"]);
  });

  it("keeps a layer renamed while expanded in the block, under its new name, and its edges on their ports", () => {
    const before = edgeIds();
    expandNode("r1");
    expect(useGraph.getState().rename("fc", "dense")).toBeNull();
    expect(useGraph.getState().rename("add", "sum")).toBeNull();
    collapseNode("r1");
    expect(ids()).toEqual(["a", "b", "out", "r1"]);
    expect(edgeIds()).toEqual(before);
    const res = readBlocks(useGraph.getState().extra).res;
    expect(blockPorts(res)).toEqual({ inputs: ["x", "skip"], outputs: ["y"] });
    expect(res.nodes.map((n) => n.id)).toEqual(["x", "skip", "dense", "sum", "y"]);
    useGraph.getState().undo(); // the collapse
    useGraph.getState().undo(); // the second rename: the block's record follows
    expect(expandedNow().r1.ids.sort()).toEqual(["add", "dense"]);
  });
});
