// The minimap shrinks with the canvas: on a 1024 × 700 window it covered a third of the canvas's width and the
// selected node with it.
import { describe, expect, it } from "vitest";
import { minimapSize } from "../canvas/Canvas";

describe("minimapSize", () => {
  it("is 168 × 112 on a wide canvas", () => {
    expect(minimapSize(1180, 800)).toEqual({ width: 168, height: 112 });
    expect(minimapSize(0, 0)).toEqual({ width: 168, height: 112 }); // not measured yet
  });

  it("takes at most a quarter of a small canvas's width and a fifth of its height", () => {
    for (const [w, h] of [[450, 620], [450, 450], [300, 400], [800, 300]]) {
      const size = minimapSize(w, h);
      expect(size.width).toBeLessThanOrEqual(w / 4);
      expect(size.height).toBeLessThanOrEqual(h / 5);
      expect(size.width * size.height).toBeLessThanOrEqual((w * h) / 6);
      expect(size.width / size.height).toBeCloseTo(1.5, 0);
    }
    expect(minimapSize(450, 620)).toEqual({ width: 112, height: 72 });
  });
});
