import { describe, expect, it } from "vitest";
import type { GraphJSON } from "../api/client";
import { createsCycle, formatShape, freshId, fromGraphJSON, inferDirection, operandIndex, outputName, renameNode, structureKey, toGraphJSON } from "../lib/graph";

const lenet = {
  format: "netcanvas.graph/1",
  name: "LeNet",
  ui: { theme: "dark" },
  nodes: [
    { id: "img", type: "Input", params: { shape: [1, 28, 28] }, position: { x: 0, y: 0 } },
    { id: "c1", type: "Conv2d", params: { out_channels: 6 } },
    { id: "att", type: "MultiheadAttention", params: {} },
    { id: "y", type: "Output" },
  ],
  edges: [
    { source: "img", target: "c1" },
    { source: "c1", target: "att", target_port: "query" },
    { source: "att", target: "y", source_port: "weights" },
  ],
} as unknown as GraphJSON;

describe("graph converter", () => {
  it("round-trips the graph JSON, ports and unknown top-level keys included", () => {
    const back = toGraphJSON(fromGraphJSON(lenet)) as unknown as Record<string, unknown>;
    expect(back.ui).toEqual({ theme: "dark", direction: "LR" });
    expect(back.format).toBe("netcanvas.graph/1");
    const edges = back.edges as { source: string; target: string; source_port: string; target_port: string }[];
    expect(edges[1]).toEqual({ source: "c1", target: "att", source_port: "out", target_port: "query" });
    expect(edges[2].source_port).toBe("weights");
    const nodes = back.nodes as { id: string; params: unknown; position: unknown }[];
    expect(nodes.map((n) => n.id)).toEqual(["img", "c1", "att", "y"]);
    expect(nodes[0].params).toEqual({ shape: [1, 28, 28] });
    expect(nodes[3].params).toEqual({});
  });

  it("maps ports to React Flow handles", () => {
    const flow = fromGraphJSON(lenet);
    expect(flow.edges[1].targetHandle).toBe("query");
    expect(flow.edges[2].sourceHandle).toBe("weights");
    expect(flow.nodes[0].type).toBe("layer");
  });

  it("detects cycles before they are made", () => {
    const edges = [
      { source: "a", target: "b" },
      { source: "b", target: "c" },
    ];
    expect(createsCycle(edges, "c", "a")).toBe(true);
    expect(createsCycle(edges, "a", "c")).toBe(false);
    expect(createsCycle(edges, "a", "a")).toBe(true);
  });

  it("renames a node everywhere", () => {
    const flow = renameNode(fromGraphJSON(lenet), "c1", "conv");
    expect(flow.nodes[1].id).toBe("conv");
    expect(flow.edges[0].target).toBe("conv");
    expect(flow.edges[1].source).toBe("conv");
  });

  it("ignores positions in the structure key, not params", () => {
    const a = fromGraphJSON(lenet);
    const moved = { ...a, nodes: a.nodes.map((n) => ({ ...n, position: { x: 99, y: 99 } })) };
    expect(structureKey(moved)).toBe(structureKey(a));
    const edited = { ...a, nodes: a.nodes.map((n) => (n.id === "c1" ? { ...n, data: { ...n.data, params: { out_channels: 7 } } } : n)) };
    expect(structureKey(edited)).not.toBe(structureKey(a));
  });

  it("formats shapes and fresh ids", () => {
    expect(formatShape([32, 8, null])).toBe("32×8×?");
    expect(freshId("BatchNorm2d", ["batchnorm2d"])).toBe("batchnorm2d_2");
    expect(freshId("ReLU", [])).toBe("relu");
    expect(freshId("LeakyReLU", ["leakyrelu"])).toBe("leakyrelu_2");
  });
});

describe("direction", () => {
  const chain = (dx: number, dy: number) =>
    ({
      format: "netcanvas.graph/1",
      name: "c",
      nodes: ["a", "b", "c"].map((id, i) => ({ id, type: "ReLU", params: {}, position: { x: i * dx, y: i * dy } })),
      edges: [
        { source: "a", target: "b" },
        { source: "b", target: "c" },
      ],
    }) as unknown as GraphJSON;

  it("is inferred from positions when the file does not say", () => {
    expect(fromGraphJSON(chain(300, 10)).direction).toBe("LR");
    expect(fromGraphJSON(chain(10, 120)).direction).toBe("TB");
    expect(inferDirection([], [])).toBe("LR");
  });

  it("is read from and written to ui.direction, keeping other ui keys", () => {
    const flow = fromGraphJSON({ ...chain(300, 0), ui: { direction: "TB", zoom: 2 } } as unknown as GraphJSON);
    expect(flow.direction).toBe("TB");
    const back = toGraphJSON({ ...flow, direction: "LR" }) as unknown as { ui: unknown };
    expect(back.ui).toEqual({ direction: "LR", zoom: 2 });
  });

  it("never writes a React Flow field into the graph JSON", () => {
    const flow = fromGraphJSON(lenet);
    flow.nodes[0] = { ...flow.nodes[0], selected: true, measured: { width: 1, height: 2 }, dragging: true };
    const node = (toGraphJSON(flow).nodes ?? [])[0] as unknown as Record<string, unknown>;
    expect(Object.keys(node).sort()).toEqual(["id", "params", "position", "type"]);
    const edge = (toGraphJSON(flow).edges ?? [])[0] as unknown as Record<string, unknown>;
    expect(Object.keys(edge).sort()).toEqual(["source", "source_port", "target", "target_port"]);
  });
});

describe("operands", () => {
  it("numbers the edges into a port with several, in edge order, once per edges array", () => {
    const flow = fromGraphJSON({
      format: "netcanvas.graph/1",
      name: "cat",
      nodes: [],
      edges: [
        { source: "b", target: "cat" },
        { source: "a", target: "cat" },
        { source: "cat", target: "y" },
      ],
    } as unknown as GraphJSON);
    const index = operandIndex(flow.edges);
    expect(flow.edges.map((e) => index.get(e.id))).toEqual([1, 2, undefined]);
    expect(operandIndex(flow.edges)).toBe(index);
  });
});

describe("outputName", () => {
  it("is the Output's name param, else its id", () => {
    expect(outputName({ id: "out", data: { type: "Output", params: { name: "label" } } })).toBe("label");
    expect(outputName({ id: "out", data: { type: "Output", params: { name: "" } } })).toBe("out");
    expect(outputName({ id: "out", data: { type: "Output", params: {} } })).toBe("out");
  });
});
