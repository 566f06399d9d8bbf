import { describe, expect, it } from "vitest";
import { chartLines } from "../panels/RunCharts";
import { type SamplesEvent, foldSamples } from "../stores/samples";

const grid = (seq: number, epoch: number) => ({ seq, type: "samples" as const, epoch, rows: 4, cols: 8, width: 8, height: 8, png: `png${epoch}` });

describe("GAN sample grids", () => {
  it("keeps every grid in order, ignoring other events and replayed duplicates", () => {
    let state: { lastSeq: number; grids: SamplesEvent[] } = { lastSeq: 0, grids: [] };
    state = foldSamples(state, [{ seq: 1, type: "status" }, grid(2, 1), { seq: 3, type: "epoch" }]);
    state = foldSamples(state, [grid(2, 1), grid(4, 2)]);
    expect(state.grids.map((g) => g.epoch)).toEqual([1, 2]);
    expect(state.lastSeq).toBe(4);
  });

  it("draws both GAN losses on one chart and the discriminator's scores on another", () => {
    const charts = chartLines({
      epochs: [1, 2],
      metrics: { d_loss: [1.3, 1.2], g_loss: [0.9, 1.0], d_real: [0.6, 0.55], d_fake: [0.4, 0.45], val_d_real: [0.5, 0.5] },
      batchX: [0.5],
      batchLoss: [0.95],
    });
    expect(charts.map(([name]) => name)).toEqual(["losses", "discriminator scores"]);
    expect(charts[0][1].map((l) => l.label)).toEqual(["generator batch", "generator", "discriminator"]);
    expect(charts[1][1].map((l) => l.label)).toEqual(["real", "real (validation)", "generated"]);
  });
});

describe("GAN parts on the canvas", () => {
  it("a part is every node leading to its Output", async () => {
    const { upstream } = await import("../panels/train/GanSettings");
    const edges = [
      { source: "z", target: "g" },
      { source: "g", target: "fake" },
      { source: "x", target: "d" },
      { source: "d", target: "score" },
    ];
    expect([...upstream("fake", edges)].sort()).toEqual(["fake", "g", "z"]);
    expect([...upstream("score", edges)].sort()).toEqual(["d", "score", "x"]);
  });
});
