import { beforeEach, describe, expect, it } from "vitest";
import type { LayerInfo, ValidationReport } from "../api/client";
import { estimatedHandles } from "../canvas/handles";
import { useCatalog } from "../stores/catalog";
import { issueTarget } from "../panels/IssuesPanel";
import { useGraph } from "../stores/graph";
import { boundsError, parseNumber } from "../ui/NumberInput";

describe("number fields", () => {
  it("read what is typed, partial text included", () => {
    expect(parseNumber("-1")).toEqual({ value: -1 });
    expect(parseNumber("1e9")).toEqual({ value: 1e9 });
    expect(parseNumber(" 0.5 ")).toEqual({ value: 0.5 });
    expect(parseNumber("-")).toEqual({ error: "not a number yet" });
    expect(parseNumber("1e")).toEqual({ error: "not a number yet" });
    expect(parseNumber("")).toEqual({ error: "enter a number" });
    expect(parseNumber("1e999")).toEqual({ error: "too large" });
  });

  it("say which bound a value breaks", () => {
    expect(boundsError(-1, { integer: true, minimum: 1 })).toBe("must be ≥ 1");
    expect(boundsError(2.5, { integer: true })).toBe("must be a whole number");
    expect(boundsError(1, { maximum: 0.9 })).toBe("must be ≤ 0.9");
    expect(boundsError(0, { exclusiveMinimum: 0 })).toBe("must be > 0");
    expect(boundsError(1, { exclusiveMaximum: 1 })).toBe("must be < 1");
    expect(boundsError(3, { integer: true, minimum: 1, maximum: 5 })).toBeNull();
  });
});

describe("adding and pasting layers", () => {
  beforeEach(() => {
    useGraph.setState({ nodes: [], edges: [], past: [], future: [], name: "t", direction: "LR", validation: null, clipboard: null });
  });

  it("adds a layer after a node, connected, beside it in the graph's direction, never on another node", () => {
    const input = useGraph.getState().addNode("Input", { shape: [4] }, { x: 0, y: 0 });
    const fc = useGraph.getState().addAfter(input, "Linear", { out_features: 3 }, { output: "out", input: "in" });
    const { nodes, edges } = useGraph.getState();
    expect(edges.map((e) => [e.source, e.target])).toEqual([[input, fc]]);
    const at = nodes.find((n) => n.id === fc)!;
    expect(at.position.y).toBe(0);
    expect(at.position.x).toBeGreaterThan(188);
    expect(at.selected).toBe(true);
    // A second layer after the Input goes below the first, not on top of it.
    const other = useGraph.getState().addAfter(input, "ReLU", {}, { output: "out", input: "in" });
    const second = useGraph.getState().nodes.find((n) => n.id === other)!;
    expect(second.position.x).toBe(at.position.x);
    expect(second.position.y).toBeGreaterThan(74);
    useGraph.getState().undo();
    expect(useGraph.getState().nodes.map((n) => n.id)).toEqual([input, fc]);
  });

  it("goes down in a top-to-bottom graph, and adds an Input unconnected", () => {
    useGraph.setState({ direction: "TB" });
    const a = useGraph.getState().addNode("Linear", { out_features: 3 }, { x: 10, y: 10 });
    const b = useGraph.getState().addAfter(a, "Input", { shape: [3] }, { output: "out", input: undefined });
    const node = useGraph.getState().nodes.find((n) => n.id === b)!;
    expect(node.position.x).toBe(10);
    expect(node.position.y).toBeGreaterThan(84);
    expect(useGraph.getState().edges).toHaveLength(0);
  });

  it("pastes at the pointer, or clear of the copied nodes", () => {
    const a = useGraph.getState().addNode("ReLU", {}, { x: 100, y: 100 });
    useGraph.getState().copy();
    useGraph.getState().paste();
    const beside = useGraph.getState().nodes.find((n) => n.id !== a)!;
    expect(beside.position.y).toBeGreaterThanOrEqual(100 + 74);
    useGraph.getState().paste({ x: 500, y: 40 });
    expect(useGraph.getState().nodes.at(-1)!.position).toEqual({ x: 500, y: 40 });
  });

  it("restores a replaced graph as one undo step", () => {
    useGraph.getState().addNode("Input", { shape: [4] }, { x: 0, y: 0 });
    const { nodes, edges, name, direction, search } = useGraph.getState();
    useGraph.getState().reset();
    useGraph.getState().restore({ nodes, edges, name, direction, search });
    expect(useGraph.getState().nodes).toHaveLength(1);
    useGraph.getState().undo();
    expect(useGraph.getState().nodes).toHaveLength(0);
  });
});

describe("issues", () => {
  it("point at an edge, a node, a cycle or the graph", () => {
    const edge = { source: "a", target: "b", source_port: "out", target_port: "in" };
    expect(issueTarget({ message: "x", node: "b", edge })).toEqual({ node: "b", edge: "a:out->b:in", label: "a → b" });
    expect(issueTarget({ message: "x", node: "a", nodes: ["a", "b"] }).label).toBe("a → b");
    expect(issueTarget({ message: "x", node: "a" })).toEqual({ node: "a", edge: null, label: "a" });
    expect(issueTarget({ message: "the graph has no Output node" })).toEqual({ node: null, edge: null, label: "graph" });
  });

  it("mark the edges an error names", () => {
    const report = {
      valid: false,
      nodes: {},
      edges: [],
      total_params: 0,
      errors: [{ message: "edge a -> b: no port", node: "b", edge: { source: "a", target: "b", source_port: "out", target_port: "x" } }],
      warnings: [],
    } as ValidationReport;
    useGraph.getState().setValidation(report);
    expect(useGraph.getState().edgeErrors).toEqual({ "a:out->b:x": "edge a -> b: no port" });
  });

  it("count the errors each node is named in (a node shows the first and how many more)", () => {
    const report = {
      valid: false,
      nodes: {},
      edges: [],
      total_params: 0,
      errors: [
        { message: "kernel_size: 1", node: "c" },
        { message: "kernel_size: 2", node: "c" },
        { message: "cycle: a -> c -> a", node: "a", nodes: ["a", "c"] },
        { message: "the graph has no Output node" },
      ],
      warnings: [],
    } as ValidationReport;
    useGraph.getState().setValidation(report);
    expect(useGraph.getState().nodeErrorCounts).toEqual({ c: 3, a: 1 });
  });
});

describe("estimated handles", () => {
  it("sit on the node's sides by direction, spread along them, one per port", () => {
    const port = (name: string) => ({ name, variadic: false, optional: false, doc: "" });
    useCatalog.setState({
      layers: { Attn: { type: "Attn", inputs: [port("query"), port("key")], outputs: [port("out")] } as unknown as LayerInfo },
    });
    const lr = estimatedHandles("Attn", "LR")!;
    expect(lr.map((h) => [h.id, h.type, h.position])).toEqual([
      ["query", "target", "left"],
      ["key", "target", "left"],
      ["out", "source", "right"],
    ]);
    expect(lr[0].y).toBeLessThan(lr[1].y);
    expect(lr[2].x).toBeGreaterThan(150);
    const tb = estimatedHandles("Attn", "TB")!;
    expect(tb.map((h) => h.position)).toEqual(["top", "top", "bottom"]);
    expect(tb[0].x).toBeLessThan(tb[1].x);
    expect(estimatedHandles("Unknown", "LR")).toBeUndefined();
  });
});
