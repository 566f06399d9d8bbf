import { describe, expect, it } from "vitest";
import type { LayerNode, PortEdge } from "../lib/graph";
import { bestLayout, boundsOf, fitZoom, layoutFor } from "../lib/layout";

const node = (id: string): LayerNode => ({ id, type: "layer", position: { x: 0, y: 0 }, data: { type: "ReLU", params: {} } });
const edge = (source: string, target: string) => ({ source, target }) as PortEdge;

describe("auto layout", () => {
  it("lays a long chain out top to bottom in a squarish canvas", () => {
    const ids = Array.from({ length: 12 }, (_, i) => `n${i}`);
    const layout = bestLayout(ids.map(node), ids.slice(1).map((id, i) => edge(ids[i], id)), { width: 900, height: 800 });
    expect(layout.direction).toBe("TB");
    const ys = ids.map((id) => layout.positions[id].y);
    expect([...ys].sort((a, b) => a - b)).toEqual(ys); // in order, downwards
  });

  it("lays a wide fan out left to right", () => {
    const branches = Array.from({ length: 12 }, (_, i) => `b${i}`);
    const nodes = ["in", ...branches, "out"].map(node);
    const edges = branches.flatMap((b) => [edge("in", b), edge(b, "out")]);
    expect(bestLayout(nodes, edges, { width: 900, height: 800 }).direction).toBe("LR");
  });

  it("places no two nodes on top of each other", () => {
    const ids = ["a", "b", "c", "d"];
    const positions = layoutFor(ids.map(node), [edge("a", "b"), edge("a", "c"), edge("b", "d"), edge("c", "d")], "TB");
    const keys = new Set(Object.values(positions).map((p) => `${p.x},${p.y}`));
    expect(keys.size).toBe(4);
  });

  it("measures bounds and the zoom that fits them", () => {
    const nodes = [node("a"), { ...node("b"), position: { x: 400, y: 300 }, measured: { width: 100, height: 50 } }];
    expect(boundsOf(nodes)).toEqual({ x: 0, y: 0, width: 500, height: 350 });
    expect(fitZoom({ x: 0, y: 0, width: 1000, height: 100 }, { width: 548, height: 1000 })).toBeCloseTo(0.5);
  });
});
