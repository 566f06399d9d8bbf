import { describe, expect, it } from "vitest";
import type { GraphJSON } from "../api/client";
import { configDifferences, epochText, flatten, graphDifferences, lowerIsBetter } from "../lib/compare";

const graph = (units: number, act = "ReLU", extra = false): GraphJSON => ({
  format: "netcanvas.graph/1",
  name: "mlp",
  nodes: [
    { id: "x", type: "Input", params: { shape: [4] } },
    { id: "fc", type: "Linear", params: { out_features: units } },
    { id: "act", type: act, params: {} },
    ...(extra ? [{ id: "drop", type: "Dropout", params: {} }] : []),
    { id: "y", type: "Output", params: {} },
  ],
  edges: [
    { source: "x", target: "fc" },
    { source: "fc", target: "act" },
    ...(extra ? [{ source: "act", target: "drop" }, { source: "drop", target: "y" }] : [{ source: "act", target: "y" }]),
  ],
});

describe("run comparison", () => {
  it("lists the config fields that differ, by dotted path", () => {
    const a = { optimizer: { type: "adam", lr: 0.001 }, epochs: 10, num_threads: 1, metrics: ["accuracy"] };
    const b = { optimizer: { type: "adam", lr: 0.01 }, epochs: 10, num_threads: 2, metrics: ["accuracy"], seed: 3 };
    expect(flatten(a)).toEqual({ "optimizer.type": "adam", "optimizer.lr": "0.001", epochs: "10", num_threads: "1", metrics: '["accuracy"]' });
    expect(configDifferences([a, b])).toEqual([
      { path: "optimizer.lr", values: ["0.001", "0.01"] },
      { path: "seed", values: ["—", "3"] },
    ]);
    expect(configDifferences([a, a])).toEqual([]);
  });

  it("lists changed params, node types, added nodes and edges; a written default equals an omitted one", () => {
    const defaults = (type: string) => (type === "Linear" ? { out_features: 10, bias: true } : type === "Dropout" ? { p: 0.5 } : {});
    const base = graph(32);
    const withBias = { ...graph(32), nodes: graph(32).nodes!.map((n) => (n.id === "fc" ? { ...n, params: { out_features: 32, bias: true } } : n)) };
    expect(graphDifferences([base, withBias], defaults)).toEqual([]);
    const rows = graphDifferences([base, graph(64, "GELU", true)], defaults);
    expect(rows).toEqual([
      { path: "fc.out_features", values: ["32", "64"] },
      { path: "node act", values: ["ReLU", "GELU"] },
      { path: "edge act → y", values: ["✓", "—"] },
      { path: "node drop", values: ["—", "Dropout"] },
      { path: "drop.p", values: ["—", "0.5"] },
      { path: "edge act → drop", values: ["—", "✓"] },
      { path: "edge drop → y", values: ["—", "✓"] },
    ]);
  });

  it("knows which metrics are better low, and says the epoch as the Train panel does", () => {
    expect(["loss", "val_loss", "val_mae", "y_mse"].every(lowerIsBetter)).toBe(true);
    expect(["accuracy", "val_accuracy", "val_f1", "auc_roc"].some(lowerIsBetter)).toBe(false);
    expect(epochText({ status: "running", epochs: 300, epochs_done: 58 })).toBe("epoch 59/300");
    expect(epochText({ status: "completed", epochs: 300, epochs_done: 300 })).toBe("epoch 300/300");
    expect(epochText({ status: "stopped", epochs: 300, epochs_done: 58 })).toBe("epoch 58/300");
    expect(epochText({ status: "running", epochs: 5, epochs_done: 5 })).toBe("epoch 5/5");
    expect(epochText({ status: "queued", epochs: 5, epochs_done: 0 })).toBe("5 epochs");
  });
});
