import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ValidationReport } from "../api/client";
import { useGraph } from "../stores/graph";
import { useLibrary } from "../stores/library";
import { useNotice } from "../stores/notice";
import { useWatchedRun } from "../stores/watchedRun";
import { settleUndo, takeUndo } from "../ui/UndoToast";
import { defaultConfig, useTrain } from "../stores/train";

describe("graph store", () => {
  beforeEach(() => {
    useGraph.setState({ nodes: [], edges: [], past: [], future: [], name: "t", validation: null });
  });

  it("makes each user action one undo step", () => {
    const g = useGraph.getState();
    const a = g.addNode("Input", { shape: [4] }, { x: 0, y: 0 });
    const b = useGraph.getState().addNode("Linear", { out_features: 3 }, { x: 200, y: 0 });
    useGraph.getState().connect({ source: a, target: b, sourceHandle: "out", targetHandle: "in" });
    expect(useGraph.getState().edges).toHaveLength(1);
    useGraph.getState().undo();
    expect(useGraph.getState().edges).toHaveLength(0);
    expect(useGraph.getState().nodes).toHaveLength(2);
    useGraph.getState().undo();
    expect(useGraph.getState().nodes).toHaveLength(1);
    useGraph.getState().redo();
    useGraph.getState().redo();
    expect(useGraph.getState().edges).toHaveLength(1);
  });

  it("refuses cycles and a second edge into a single port", () => {
    const s = useGraph.getState();
    const a = s.addNode("ReLU", {}, { x: 0, y: 0 });
    const b = useGraph.getState().addNode("ReLU", {}, { x: 0, y: 0 });
    useGraph.getState().connect({ source: a, target: b, sourceHandle: "out", targetHandle: "in" });
    expect(useGraph.getState().canConnect({ source: b, target: a, sourceHandle: "out", targetHandle: "in" }, false)).toMatch(
      /cycle/,
    );
    const c = useGraph.getState().addNode("ReLU", {}, { x: 0, y: 0 });
    expect(useGraph.getState().canConnect({ source: c, target: b, sourceHandle: "out", targetHandle: "in" }, false)).toMatch(
      /already connected/,
    );
    expect(useGraph.getState().canConnect({ source: c, target: b, sourceHandle: "out", targetHandle: "in" }, true)).toBeNull();
  });

  it("copies and pastes with fresh ids and internal edges", () => {
    const a = useGraph.getState().addNode("Linear", {}, { x: 0, y: 0 });
    const b = useGraph.getState().addNode("ReLU", {}, { x: 0, y: 0 });
    useGraph.getState().connect({ source: a, target: b, sourceHandle: "out", targetHandle: "in" });
    useGraph.setState({ nodes: useGraph.getState().nodes.map((n) => ({ ...n, selected: true })) });
    useGraph.getState().copy();
    useGraph.getState().paste();
    const ids = useGraph.getState().nodes.map((n) => n.id);
    expect(ids).toEqual(["linear", "relu", "linear_2", "relu_2"]);
    expect(useGraph.getState().edges.map((e) => `${e.source}>${e.target}`)).toEqual(["linear>relu", "linear_2>relu_2"]);
  });

  it("renames refuse duplicates", () => {
    useGraph.getState().addNode("Linear", {}, { x: 0, y: 0 });
    useGraph.getState().addNode("ReLU", {}, { x: 0, y: 0 });
    expect(useGraph.getState().rename("linear", "relu")).toMatch(/already used/);
    expect(useGraph.getState().rename("linear", "fc")).toBeNull();
    expect(useGraph.getState().nodes[0].id).toBe("fc");
  });
});

describe("graph store history", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    useGraph.setState({ nodes: [], edges: [], past: [], future: [], name: "t", validation: null, direction: "LR" });
  });
  afterEach(() => vi.useRealTimers());

  it("makes typing in one field one undo step, and another field another", () => {
    const id = useGraph.getState().addNode("Linear", { out_features: 1 }, { x: 0, y: 0 });
    const steps = useGraph.getState().past.length;
    for (const v of [1, 12, 128]) useGraph.getState().setParams(id, { out_features: v }, "out_features");
    expect(useGraph.getState().past.length).toBe(steps + 1);
    useGraph.getState().setParams(id, { out_features: 128, bias: false }, "bias");
    expect(useGraph.getState().past.length).toBe(steps + 2);
    vi.advanceTimersByTime(5000);
    useGraph.getState().setParams(id, { out_features: 64, bias: false }, "out_features");
    expect(useGraph.getState().past.length).toBe(steps + 3);
    useGraph.getState().undo();
    useGraph.getState().undo();
    expect(useGraph.getState().nodes[0].data.params).toEqual({ out_features: 128 });
    useGraph.getState().undo();
    expect(useGraph.getState().nodes[0].data.params).toEqual({ out_features: 1 });
  });

  it("undoes an auto layout, direction included, in one step", () => {
    useGraph.getState().addNode("ReLU", {}, { x: 0, y: 0 });
    useGraph.getState().setLayout("TB", { relu: { x: 50, y: 60 } });
    expect(useGraph.getState().direction).toBe("TB");
    useGraph.getState().undo();
    expect(useGraph.getState().direction).toBe("LR");
    expect(useGraph.getState().nodes[0].position).toEqual({ x: 0, y: 0 });
  });

  it("keeps unchanged validation results as the same objects (their nodes do not re-render)", () => {
    const report = (shape: number) =>
      ({
        valid: true,
        total_params: 0,
        errors: [],
        warnings: [],
        edges: [],
        nodes: {
          a: { output_shape: [4], output_shapes: { out: [4] }, dtype: "float32", params: 0, error: null },
          b: { output_shape: [shape], output_shapes: { out: [shape] }, dtype: "float32", params: 0, error: null },
        },
      }) as unknown as ValidationReport;
    useGraph.getState().setValidation(report(3));
    const before = useGraph.getState().validation!.nodes;
    useGraph.getState().setValidation(report(5));
    const after = useGraph.getState().validation!.nodes;
    expect(after.a).toBe(before.a);
    expect(after.b).not.toBe(before.b);
  });
});

describe("small stores", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("notice: shows a message and clears it after a while", () => {
    vi.useFakeTimers();
    useNotice.getState().show("port 'in' is already connected");
    expect(useNotice.getState()).toMatchObject({ text: "port 'in' is already connected", kind: "error" });
    vi.advanceTimersByTime(7000);
    expect(useNotice.getState().text).toBeNull();
    vi.useRealTimers();
  });

  it("train: a template's config is completed with the defaults", () => {
    useTrain.getState().setConfig({ optimizer: { type: "sgd", lr: 0.1 }, epochs: 3 } as never);
    const c = useTrain.getState().config;
    expect(c.optimizer).toEqual({ type: "sgd", lr: 0.1 });
    expect(c.epochs).toBe(3);
    expect(c.batch_size).toBe(defaultConfig().batch_size);
    expect(c.regularization).toEqual({ l1: 0, l2: 0 });
  });

  it("library: saving makes the graph the current one, and updates go to it", async () => {
    const calls: [string, string, unknown][] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        const url = new URL(request.url).pathname;
        const body = await request.text();
        calls.push([request.method, url, body ? JSON.parse(body) : undefined]);
        if (request.method === "POST") return new Response(JSON.stringify({ id: "g1", name: "mine" }), { status: 201 });
        if (url === "/api/graphs") return new Response(JSON.stringify([{ id: "g1", name: "mine" }]));
        return new Response(JSON.stringify({ id: "g1", name: "mine" }));
      }),
    );
    const graph = { format: "netcanvas.graph/1", name: "x", nodes: [], edges: [] } as never;
    await useLibrary.getState().saveNew(graph, "mine");
    expect(useLibrary.getState().currentId).toBe("g1");
    expect(useLibrary.getState().graphs).toHaveLength(1);
    await useLibrary.getState().update(graph);
    expect(calls.find((c) => c[0] === "PUT")?.[1]).toBe("/api/graphs/g1");
    useLibrary.getState().remove("g1");
    expect(useLibrary.getState().currentId).toBeNull();
    expect(useLibrary.getState().graphs).toEqual([]); // hidden at once, deleted only when the Undo offer ends
    expect(calls.some((c) => c[0] === "DELETE")).toBe(false);

    takeUndo(); // Undo: back in the list and on the canvas's record
    await vi.waitFor(() => expect(useLibrary.getState().graphs).toHaveLength(1));
    expect(useLibrary.getState().currentId).toBe("g1");
    expect(calls.some((c) => c[0] === "DELETE")).toBe(false);

    useLibrary.getState().remove("g1");
    settleUndo(); // the offer ends without Undo: now the server deletes it
    await vi.waitFor(() => expect(calls.filter((c) => c[0] === "DELETE").map((c) => c[1])).toEqual(["/api/graphs/g1"]));
    expect(useLibrary.getState().deleting).toEqual([]);
  });
});

describe("run store", () => {
  it("builds series from events and drops duplicates after a reconnect", () => {
    useWatchedRun.setState({ runId: "r", lastSeq: 0 });
    const apply = useWatchedRun.getState().apply;
    apply({ seq: 1, type: "status", status: "running" });
    apply({ seq: 2, type: "batch", epoch: 1, step: 1, steps: 4, loss: 1.5 });
    apply({ seq: 3, type: "epoch", epoch: 1, epochs: 2, metrics: { loss: 1.2, val_loss: 1.3 }, seconds: 0.5, lr: 0.1 });
    apply({ seq: 3, type: "epoch", epoch: 1, epochs: 2, metrics: { loss: 1.2, val_loss: 1.3 }, seconds: 0.5, lr: 0.1 });
    apply({ seq: 4, type: "epoch", epoch: 2, epochs: 2, metrics: { loss: 0.9, val_loss: 1.0 }, seconds: 0.5, lr: 0.1 });
    apply({ seq: 5, type: "done", status: "completed", test_metrics: { test_loss: 1.1 } });
    const s = useWatchedRun.getState();
    expect(s.series.epochs).toEqual([1, 2]);
    expect(s.series.metrics.loss).toEqual([1.2, 0.9]);
    expect(s.series.batchX).toEqual([0.25]);
    expect(s.status).toBe("completed");
    expect(s.testMetrics).toEqual({ test_loss: 1.1 });
    expect(s.lastSeq).toBe(5);
  });
});

describe("renaming an Output", () => {
  it("renames its per-output loss and metrics", () => {
    useGraph.setState({ nodes: [], edges: [], past: [], future: [] });
    useGraph.getState().addNode("Output", {}, { x: 0, y: 0 });
    useTrain.getState().setConfig({ ...defaultConfig(), loss: { output: "mse", other: "mae" }, metrics: { output: ["mae"] } });
    expect(useGraph.getState().rename("output", "price")).toBeNull();
    expect(useTrain.getState().config.loss).toEqual({ price: "mse", other: "mae" });
    expect(useTrain.getState().config.metrics).toEqual({ price: ["mae"] });
  });
});
