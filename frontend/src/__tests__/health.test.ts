import { describe, expect, it } from "vitest";
import { sparkPoints } from "../canvas/NodeHealth";
import { TRAIL, flagged, foldHealth, short, useHealth } from "../stores/health";

const event = (seq: number, grad: number, flag: "dead" | null = null) => ({
  seq,
  type: "health" as const,
  epoch: 1,
  step: seq,
  steps: 10,
  nodes: {
    fc: { mean: 0.1, std: 1, dead: null, grad_norm: grad, update_ratio: 0.001, flag: null, message: null },
    act: { mean: 0.3, std: 0.5, dead: flag ? 0.9 : 0.1, grad_norm: null, update_ratio: null, flag, message: flag ? "90% dead" : null },
  },
});

describe("layer health", () => {
  it("keeps the latest values and a log-scale trail per node; ignores other events and duplicates", () => {
    const empty = { lastSeq: 0, at: null, latest: {}, trails: {} };
    const s = foldHealth(empty, [event(1, 0.01), { seq: 2, type: "batch" }, event(3, 1, "dead"), event(3, 5)]);
    expect(s.lastSeq).toBe(3);
    expect(s.at).toEqual({ epoch: 1, step: 3, steps: 10 });
    expect(s.trails.fc).toEqual([-2, 0]);
    expect(s.trails.act).toEqual([null, null]);
    expect(flagged(s.latest).map(([id]) => id)).toEqual(["act"]);
    const long = foldHealth(empty, Array.from({ length: TRAIL + 5 }, (_, i) => event(i + 1, 10 ** (i % 3))));
    expect(long.trails.fc).toHaveLength(TRAIL);
  });

  it("the store takes events from the watched run and clears", () => {
    useHealth.getState().take([event(1, 0.1)]);
    expect(useHealth.getState().latest.fc.grad_norm).toBe(0.1);
    useHealth.getState().clear();
    expect(useHealth.getState().at).toBeNull();
  });

  it("draws a sparkline inside its box and writes short numbers", () => {
    expect(sparkPoints([null, 1])).toBe("");
    const points = sparkPoints([0, 1, null, 2], 30, 12).split(" ").map((p) => p.split(",").map(Number));
    expect(points).toHaveLength(3);
    for (const [x, y] of points) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(30);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThanOrEqual(12);
    }
    expect(points[0][1]).toBeGreaterThan(points[2][1]); // higher values are drawn higher
    expect(short(0.000012)).toBe("1.2e-5");
    expect(short(0.5)).toBe("0.5");
    expect(short(null)).toBe("—");
  });
});
