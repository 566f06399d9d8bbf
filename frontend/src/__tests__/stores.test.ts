import { beforeEach, describe, expect, it } from "vitest";
import { useGraph } from "../stores/graph";
import { useRun } from "../stores/run";

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
    expect(ids).toEqual(["linear", "re_lu", "linear_2", "re_lu_2"]);
    expect(useGraph.getState().edges.map((e) => `${e.source}>${e.target}`)).toEqual(["linear>re_lu", "linear_2>re_lu_2"]);
  });

  it("renames refuse duplicates", () => {
    useGraph.getState().addNode("Linear", {}, { x: 0, y: 0 });
    useGraph.getState().addNode("ReLU", {}, { x: 0, y: 0 });
    expect(useGraph.getState().rename("linear", "re_lu")).toMatch(/already used/);
    expect(useGraph.getState().rename("linear", "fc")).toBeNull();
    expect(useGraph.getState().nodes[0].id).toBe("fc");
  });
});

describe("run store", () => {
  it("builds series from events and drops duplicates after a reconnect", () => {
    useRun.setState({ runId: "r", lastSeq: 0 });
    const apply = useRun.getState().apply;
    apply({ seq: 1, type: "status", status: "running" });
    apply({ seq: 2, type: "batch", epoch: 1, step: 1, steps: 4, loss: 1.5 });
    apply({ seq: 3, type: "epoch", epoch: 1, epochs: 2, metrics: { loss: 1.2, val_loss: 1.3 }, seconds: 0.5 });
    apply({ seq: 3, type: "epoch", epoch: 1, epochs: 2, metrics: { loss: 1.2, val_loss: 1.3 }, seconds: 0.5 });
    apply({ seq: 4, type: "epoch", epoch: 2, epochs: 2, metrics: { loss: 0.9, val_loss: 1.0 }, seconds: 0.5 });
    apply({ seq: 5, type: "done", status: "completed", test_metrics: { test_loss: 1.1 } });
    const s = useRun.getState();
    expect(s.series.epochs).toEqual([1, 2]);
    expect(s.series.metrics.loss).toEqual([1.2, 0.9]);
    expect(s.series.batchX).toEqual([0.25]);
    expect(s.status).toBe("completed");
    expect(s.testMetrics).toEqual({ test_loss: 1.1 });
    expect(s.lastSeq).toBe(5);
  });
});
