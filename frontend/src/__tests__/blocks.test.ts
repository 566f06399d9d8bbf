import { describe, expect, it } from "vitest";
import type { GraphJSON, ValidationReport } from "../api/client";
import { blockEdgeShapes, blockOwner, groupSelection, readBlocks, summarize, ungroup } from "../lib/blocks";
import { type PortEdge, fromGraphJSON, toGraphJSON } from "../lib/graph";
import { links, resGraph, resNode } from "./blockFixtures";

const chain = {
  format: "netcanvas.graph/1",
  name: "chain",
  nodes: [
    { id: "x", type: "Input", params: { shape: [16, 8, 8] }, position: { x: 0, y: 0 } },
    { id: "conv", type: "Conv2d", params: { out_channels: 16, kernel_size: 3, padding: 1 }, position: { x: 200, y: 0 } },
    { id: "bn", type: "BatchNorm2d", params: {}, position: { x: 400, y: 0 } },
    { id: "relu", type: "ReLU", params: {}, position: { x: 600, y: 0 } },
    { id: "gap", type: "GlobalAvgPool2d", params: {}, position: { x: 800, y: 0 } },
    { id: "y", type: "Output", params: {}, position: { x: 1000, y: 0 } },
  ],
  edges: links("x->conv", "conv->bn", "bn->relu", "relu->gap", "gap->y"),
} as unknown as GraphJSON;

function grouped() {
  const flow = fromGraphJSON(chain);
  const result = groupSelection(flow, {}, ["conv", "bn", "relu"]);
  if ("error" in result) throw new Error(result.error);
  return { flow, result };
}

describe("groupSelection", () => {
  it("makes a block whose ports are the selection's incoming and outgoing edges", () => {
    const { result } = grouped();
    expect(result.name).toBe("block1");
    expect(result.block.nodes.map((n) => [n.id, n.type])).toEqual([
      ["in", "Input"],
      ["conv", "Conv2d"],
      ["bn", "BatchNorm2d"],
      ["relu", "ReLU"],
      ["out", "Output"],
    ]);
    expect(result.block.edges).toEqual([
      { source: "in", target: "conv", source_port: "out", target_port: "in" },
      { source: "conv", target: "bn", source_port: "out", target_port: "in" },
      { source: "bn", target: "relu", source_port: "out", target_port: "in" },
      { source: "relu", target: "out", source_port: "out", target_port: "in" },
    ]);
    expect(result.nodes.map((n) => n.id)).toEqual(["x", "gap", "y", "block1"]);
    expect(result.instance.data).toEqual({ type: "Block", params: { block: "block1", repeat: 1, shared: false } });
    expect(result.edges.map((e) => e.id)).toEqual(["x:out->block1:in", "block1:out->gap:in", "gap:out->y:in"]);
  });

  it("names several ports in1, in2 and keeps one input feeding two inner nodes as one port", () => {
    const flow = fromGraphJSON({
      ...chain,
      nodes: [...(chain.nodes ?? []), { id: "z", type: "Input", params: { shape: [16, 8, 8] } }, { id: "add", type: "Add" }],
      edges: links("x->conv", "x->add", "z->add", "conv->add", "add->gap", "conv->y"),
    } as unknown as GraphJSON);
    const result = groupSelection(flow, {}, ["conv", "add"]);
    if ("error" in result) throw new Error(result.error);
    expect(result.block.nodes.filter((n) => n.type === "Input").map((n) => n.id)).toEqual(["in1", "in2"]);
    expect(result.block.nodes.filter((n) => n.type === "Output").map((n) => n.id)).toEqual(["out1", "out2"]);
    expect(result.edges.map((e) => e.id)).toContain("x:out->block1:in1");
    expect(result.edges.map((e) => e.id)).toContain("z:out->block1:in2");
    expect(result.edges.filter((e) => e.target === "block1")).toHaveLength(2);
  });

  it("refuses an empty selection, Input/Output nodes, and a grouping that makes a cycle", () => {
    const flow = fromGraphJSON(chain);
    expect(groupSelection(flow, {}, [])).toEqual({ error: "select the nodes to group first" });
    expect(groupSelection(flow, {}, ["x", "conv"])).toMatchObject({ error: expect.stringContaining("'x' is an Input") });
    expect(groupSelection(flow, {}, ["conv", "relu"])).toMatchObject({ error: expect.stringContaining("cycle") });
  });

  it("takes the next free block name", () => {
    const flow = fromGraphJSON(chain);
    const result = groupSelection(flow, { block1: { nodes: [], edges: [] } }, ["bn"]);
    expect("error" in result ? result.error : result.name).toBe("block2");
  });
});

describe("ungroup", () => {
  it("puts the layers back in place of the Block node", () => {
    const { result } = grouped();
    const back = ungroup(result, { block1: result.block }, "block1");
    if ("error" in back) throw new Error(back.error);
    expect(back.nodes.map((n) => n.id).sort()).toEqual(["bn", "conv", "gap", "relu", "x", "y"]);
    expect(back.edges.map((e) => e.id).sort()).toEqual(
      ["x:out->conv:in", "conv:out->bn:in", "bn:out->relu:in", "relu:out->gap:in", "gap:out->y:in"].sort(),
    );
  });

  it("refuses a repeated block", () => {
    const { result } = grouped();
    const nodes = result.nodes.map((n) => (n.id === "block1" ? { ...n, data: { ...n.data, params: { block: "block1", repeat: 3 } } } : n));
    expect(ungroup({ nodes, edges: result.edges }, { block1: result.block }, "block1")).toEqual({
      error: "Block 'block1' repeats ×3: set repeat to 1 to ungroup it",
    });
  });
});

describe("expand and collapse", () => {
  it("shows one copy's layers whatever the repeat, and collapses them back into the same block and node", () => {
    const { result } = grouped();
    const nodes = result.nodes.map((n) => (n.id === "block1" ? { ...n, data: { ...n.data, params: { block: "block1", repeat: 3, shared: true } } } : n));
    const open = ungroup({ nodes, edges: result.edges }, { block1: result.block }, "block1", true);
    if ("error" in open) throw new Error(open.error);
    expect(open.added).toEqual(["conv", "bn", "relu"]);
    // An edit while expanded: the ReLU's params change; collapsing writes the definition and keeps ×3 shared.
    const edited = open.nodes.map((n) => (n.id === "relu" ? { ...n, data: { ...n.data, params: { inplace: true } } } : n));
    const back = groupSelection({ nodes: edited, edges: open.edges }, { block1: result.block }, open.added, {
      name: "block1",
      id: "block1",
      params: { block: "block1", repeat: 3, shared: true },
    });
    if ("error" in back) throw new Error(back.error);
    expect(back.instance.data.params).toEqual({ block: "block1", repeat: 3, shared: true });
    expect(back.block.edges).toEqual(result.block.edges);
    expect(back.block.nodes.find((n) => n.id === "relu")?.params).toEqual({ inplace: true });
    expect(back.edges.map((e) => e.id)).toEqual(result.edges.map((e) => e.id));
  });
});

describe("graph JSON", () => {
  it("saves blocks as netcanvas.graph/2 and reads them back", () => {
    const { flow, result } = grouped();
    const json = toGraphJSON({ ...flow, nodes: result.nodes, edges: result.edges, extra: { blocks: { block1: result.block } } });
    expect(json.format).toBe("netcanvas.graph/2");
    const again = fromGraphJSON(json);
    expect(again.nodes.find((n) => n.id === "block1")?.type).toBe("block");
    expect(readBlocks(again.extra)).toEqual({ block1: result.block });
    expect(toGraphJSON(again)).toEqual(json);
  });

  it("keeps a graph without blocks at /1", () => {
    expect(toGraphJSON(fromGraphJSON(chain)).format).toBe("netcanvas.graph/1");
  });
});

describe("validation of a Block node", () => {
  it("shows the last copy's output shape, every copy's params and the errors inside", () => {
    const { result } = grouped();
    const node = (shape: number[], params = 0) => ({ output_shape: shape, params, dtype: "float32" });
    const report = {
      nodes: {
        x: node([3, 8, 8]),
        "block1.0.conv": node([16, 8, 8], 448),
        "block1.0.bn": node([16, 8, 8], 32),
        "block1.0.relu": node([16, 8, 8]),
        "block1.1.conv": { output_shape: null, params: 0, error: "bad" },
        "block1.1.bn": node([4, 4, 4], 8),
        "block1.1.relu": node([4, 4, 4]),
        gap: node([4]),
      },
      edges: [],
      errors: [{ node: "block1.1.conv", message: "Conv2d 'block1.1.conv': bad" }, { node: "gap", message: "other" }],
    } as unknown as ValidationReport;
    const instance = { ...result.instance, data: { type: "Block", params: { block: "block1", repeat: 2 } } };
    const blocks = { block1: result.block };
    const summary = summarize(report, blocks, instance);
    expect(summary.shapes).toEqual({ out: [4, 4, 4] });
    expect(summary.params).toBe(488);
    expect(summary.errors.map((e) => e.message)).toEqual(["Conv2d 'block1.1.conv': bad"]);
    // Shared: every copy runs the first copy's layers, counted once.
    expect(summarize(report, blocks, { ...instance, data: { type: "Block", params: { block: "block1", repeat: 2, shared: true } } }).params).toBe(480);
    const nodes = result.nodes.map((n) => (n.id === "block1" ? instance : n));
    expect(blockEdgeShapes(report, blocks, nodes, result.edges)).toEqual({
      "x:out->block1:in": [3, 8, 8],
      "block1:out->gap:in": [4, 4, 4],
    });
  });
});

describe("blockOwner", () => {
  it("finds the Block node an expanded id lies inside, ids with dots too", () => {
    const nodes = [
      { id: "block1", data: { type: "Block", params: {} } },
      { id: "a.b", data: { type: "Block", params: {} } },
      { id: "x.y", data: { type: "Linear", params: {} } },
    ];
    expect(blockOwner("block1.0.conv1", nodes)).toBe("block1");
    expect(blockOwner("a.b.2.inner.0.fc", nodes)).toBe("a.b");
    expect(blockOwner("x.y.0.fc", nodes)).toBeNull();
    expect(blockOwner("gap", nodes)).toBeNull();
  });
});

// A block with named ports (resBlock): inputs `x` and `skip` (in that order), output `y`; inside, `fc` feeds an Add
// with the skip. An outside Linear takes the inner fc's name, and the skip's edge is listed first: ports must not be
// named by the order of the edges.
const twoInputs = resGraph(
  "two inputs",
  [{ id: "fc", type: "Linear", params: { out_features: 8 }, position: { x: 0, y: 400 } }, resNode("r1", 300, 2, false)],
  ["b->r1:skip", "a->r1:x", "r1->out", "b->fc"],
);

describe("collapse after expand keeps the ports", () => {
  it("gives the block back its port names, order and layer names, and the edges their handles", () => {
    const flow = fromGraphJSON(twoInputs);
    const blocks = readBlocks(flow.extra);
    const open = ungroup(flow, blocks, "r1", true);
    if ("error" in open) throw new Error(open.error);
    expect(open.added.sort()).toEqual(["add", "fc2"]); // fc is taken on the canvas
    // Edit a layer while expanded, then collapse.
    const edited = open.nodes.map((n) => (n.id === "fc2" ? { ...n, data: { ...n.data, params: { out_features: 16 } } } : n));
    const back = groupSelection({ nodes: edited, edges: open.edges }, blocks, open.added, {
      name: "res",
      id: "r1",
      params: { block: "res", repeat: 2, shared: false },
      ports: open.ports,
    });
    if ("error" in back) throw new Error(back.error);
    const ports = (type: string) => back.block.nodes.filter((n) => n.type === type).map((n) => n.id);
    expect(ports("Input")).toEqual(["x", "skip"]);
    expect(ports("Output")).toEqual(["y"]);
    expect(back.block.nodes.filter((n) => n.type !== "Input" && n.type !== "Output").map((n) => n.id).sort()).toEqual(["add", "fc"]);
    expect(back.block.nodes.find((n) => n.id === "fc")?.params).toEqual({ out_features: 16 });
    expect(new Set(back.block.edges.map((e) => `${e.source}->${e.target}`))).toEqual(new Set(["x->fc", "fc->add", "skip->add", "add->y"]));
    // The Block node's edges are on the handles they were on: x and skip by name, the one output as `out`.
    expect(back.edges.map((e) => e.id).sort()).toEqual(flow.edges.map((e) => e.id).sort());
    expect(back.edges.find((e) => e.source === "b" && e.target === "r1")?.targetHandle).toBe("skip");
    expect(back.edges.find((e) => e.source === "r1")?.sourceHandle).toBe("out");
  });

  it("names the ports of new connections after the kept ones", () => {
    const flow = fromGraphJSON(twoInputs);
    const blocks = readBlocks(flow.extra);
    const open = ungroup(flow, blocks, "r1", true);
    if ("error" in open) throw new Error(open.error);
    // While expanded, the outside fc is connected into the Add: a third input.
    const edges: PortEdge[] = [...open.edges, { id: "fc:out->add:in", type: "shape", source: "fc", target: "add", sourceHandle: "out", targetHandle: "in" }];
    const back = groupSelection({ nodes: open.nodes, edges }, blocks, open.added, { name: "res", id: "r1", params: {}, ports: open.ports });
    if ("error" in back) throw new Error(back.error);
    expect(back.block.nodes.filter((n) => n.type === "Input").map((n) => n.id)).toEqual(["x", "skip", "in1"]);
    expect(back.edges.find((e) => e.source === "fc")?.targetHandle).toBe("in1");
  });
});
