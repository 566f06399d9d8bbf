import { beforeEach, describe, expect, it } from "vitest";
import { describe as say, selectByClick, selectEdgeByClick } from "../canvas/LodLayer";
import { COLORS, type Painter, type Scene, curveDistance, edgeAt, edgeCurve, edgeIndex, nodeAt, nodesWithin, overview, paint, plan, portPoint, splitScene, toFlow, visibleArea } from "../canvas/lod";
import type { LayerNode, PortEdge } from "../lib/graph";
import { useGraph } from "../stores/graph";

function node(id: string, x: number, y: number, extra: Partial<LayerNode> = {}): LayerNode {
  return { id, type: "layer", position: { x, y }, data: { type: "Linear", params: {} }, ...extra };
}

function edge(source: string, target: string, extra: Partial<PortEdge> = {}): PortEdge {
  return { id: `${source}->${target}`, type: "shape", source, target, sourceHandle: "out", targetHandle: "in", ...extra };
}

function scene(nodes: LayerNode[], edges: PortEdge[] = [], over: Partial<Scene> = {}): Scene {
  return {
    nodes,
    edges,
    direction: "LR",
    portsOf: () => ({ inputs: ["in"], outputs: ["out"] }),
    colorOf: () => "#6d8cff",
    hasError: () => false,
    hasWarning: () => false,
    healthOf: () => null,
    edgeErrors: {},
    ...over,
  };
}

const EVERYWHERE = { x: -1e6, y: -1e6, width: 2e6, height: 2e6 };

describe("the zoomed-out canvas: where a point falls", () => {
  it("finds the topmost node under a point, at its measured size", () => {
    const nodes = [node("a", 0, 0), node("b", 100, 20), node("tall", 1000, 0, { measured: { width: 188, height: 300 } })];
    expect(nodeAt(nodes, { x: 10, y: 10 })?.id).toBe("a");
    expect(nodeAt(nodes, { x: 150, y: 50 })?.id).toBe("b"); // inside both: b is drawn last, on top
    expect(nodeAt(nodes, { x: 1050, y: 250 })?.id).toBe("tall"); // below the default height of 74
    expect(nodeAt(nodes, { x: 500, y: 500 })).toBeNull();
  });

  it("takes into a selection box the nodes wholly inside it", () => {
    const nodes = [node("a", 0, 0), node("b", 100, 20), node("c", 1000, 0)];
    expect(nodesWithin(nodes, { x: -10, y: -10, width: 300, height: 110 }).map((n) => n.id)).toEqual(["a", "b"]);
    expect(nodesWithin(nodes, { x: -10, y: -10, width: 250, height: 110 }).map((n) => n.id)).toEqual(["a"]); // b sticks out
  });

  it("turns screen points into flow points through the viewport", () => {
    const view = { x: 100, y: 50, zoom: 0.1 };
    expect(toFlow(view, { x: 100, y: 50 })).toEqual({ x: 0, y: 0 });
    expect(toFlow(view, { x: 110, y: 60 })).toEqual({ x: 100, y: 100 });
    expect(visibleArea(view, 800, 600)).toEqual({ x: -1000, y: -500, width: 8000, height: 6000 });
  });

  it("puts edge ends where the handles are: by port order, on the sides of the direction", () => {
    const box = { x: 0, y: 0, width: 200, height: 90 };
    expect(portPoint(box, ["a", "b"], "b", "in", "LR")).toEqual({ x: 0, y: 60 });
    expect(portPoint(box, ["out"], "out", "out", "LR")).toEqual({ x: 200, y: 45 });
    expect(portPoint(box, ["x"], null, "in", "TB")).toEqual({ x: 100, y: 0 }); // an unknown port: the middle
    expect(portPoint(box, ["out"], undefined, "out", "TB")).toEqual({ x: 100, y: 90 });
    expect(edgeCurve({ x: 0, y: 0 }, { x: 100, y: 50 }, "LR")).toEqual([0, 0, 50, 0, 50, 50, 100, 50]);
  });
});

describe("the zoomed-out canvas: what is drawn", () => {
  it("draws only the nodes and edges in view", () => {
    const nodes = [node("a", 0, 0), node("b", 300, 0), node("far", 50_000, 0), node("farther", 50_300, 0)];
    const edges = [edge("a", "b"), edge("b", "far"), edge("far", "farther")];
    const drawn = plan(scene(nodes, edges), { x: -100, y: -100, width: 1000, height: 500 }, 0.1);
    expect(drawn.fills.find(([color]) => color === COLORS.body)?.[1].map((b) => b.x)).toEqual([0, 300]);
    // b -> far crosses the view (drawn); far -> farther does not.
    expect(drawn.edges.get(COLORS.edge)?.curves.map((c) => c[0])).toEqual([188, 488]);
  });

  it("marks errors red, warnings and flagged health amber, the selection in the accent colour", () => {
    const nodes = [node("bad", 0, 0), node("warned", 300, 0), node("picked", 600, 0, { selected: true }), node("sick", 900, 0), node("fine", 1200, 0)];
    const drawn = plan(
      scene(nodes, [edge("bad", "warned"), edge("warned", "picked", { selected: true }), edge("picked", "sick")], {
        hasError: (id) => id === "bad",
        hasWarning: (id) => id === "warned",
        healthOf: (id) => (id === "sick" ? "flagged" : id === "fine" ? "ok" : null),
        edgeErrors: { "bad->warned": "shapes differ" },
      }),
      EVERYWHERE,
      0.5,
    );
    const filled = (color: string) => drawn.fills.filter(([c]) => c === color).flatMap(([, boxes]) => boxes.map((b) => b.x));
    expect(filled(COLORS.errorBody)).toEqual([0]);
    expect(filled(COLORS.bad)).toEqual([0]); // the error's stripe
    expect(filled(COLORS.warn)).toEqual([900]); // the flagged health strip
    expect(filled(COLORS.ok)).toEqual([1200]);
    const outlined = (color: string) => drawn.outlines.get(color)?.boxes.map((b) => b.x);
    expect(outlined(COLORS.bad)).toEqual([0]);
    expect(outlined(COLORS.warn)).toEqual([300, 900]);
    expect(outlined(COLORS.selected)).toEqual([600]);
    expect(drawn.outlines.get(COLORS.selected)?.width).toBe(4); // 2 screen px at zoom 0.5
    expect(drawn.edges.get(COLORS.bad)?.curves).toHaveLength(1);
    expect(drawn.edges.get(COLORS.selected)?.curves).toHaveLength(1);
    expect(drawn.edges.get(COLORS.edge)?.curves).toHaveLength(1);
  });

  it("paints edges under nodes, one path per colour, through the viewport at the device's pixel ratio", () => {
    const calls: string[] = [];
    const record = (name: string) => (...args: unknown[]) => calls.push(`${name}(${args.join(",")})`);
    const ctx = {
      setTransform: record("setTransform"),
      clearRect: record("clearRect"),
      beginPath: record("beginPath"),
      rect: record("rect"),
      moveTo: record("moveTo"),
      bezierCurveTo: record("bezierCurveTo"),
      fill: record("fill"),
      stroke: record("stroke"),
      fillStyle: "",
      strokeStyle: "",
      lineWidth: 1,
    } as unknown as Painter;
    const drawn = plan(scene([node("a", 0, 0), node("b", 300, 0)], [edge("a", "b")]), EVERYWHERE, 0.25);
    paint(ctx, drawn, { x: 10, y: 20, zoom: 0.25 }, 400, 300, 2);
    expect(calls[0]).toBe("setTransform(1,0,0,1,0,0)");
    expect(calls[1]).toBe("clearRect(0,0,800,600)");
    expect(calls[2]).toBe("setTransform(0.5,0,0,0.5,20,40)");
    expect(calls.indexOf("stroke()")).toBeLessThan(calls.indexOf("fill()"));
    expect(calls.filter((c) => c === "fill()")).toHaveLength(2); // the bodies, the stripes
    expect(calls.filter((c) => c.startsWith("rect("))).toHaveLength(4);
  });
});

describe("the zoomed-out canvas: dragging", () => {
  it("draws what stays still once, and the dragged nodes with their edges (to nodes that stay) each frame", () => {
    const nodes = [node("a", 0, 0), node("b", 300, 0), node("c", 600, 0)];
    const { still, moving } = splitScene(scene(nodes, [edge("a", "b"), edge("b", "c"), edge("a", "c")]), new Set(["b"]));
    expect(still.nodes.map((n) => n.id)).toEqual(["a", "c"]);
    expect(still.edges.map((e) => e.id)).toEqual(["a->c"]);
    expect(moving.nodes.map((n) => n.id)).toEqual(["b"]);
    const curves = plan(moving, EVERYWHERE, 1).edges.get(COLORS.edge)?.curves ?? [];
    expect(curves.map((c) => [c[0], c[6]])).toEqual([[188, 300], [488, 600]]); // a's output to b, b's to c
    expect(plan(moving, EVERYWHERE, 1).fills[0][1].map((b) => b.x)).toEqual([300]);
  });

  it("paints over the still layer without clearing it", () => {
    const calls: string[] = [];
    const ctx = new Proxy({}, { get: (_, name) => (...args: unknown[]) => calls.push(`${String(name)}(${args.join(",")})`), set: () => true });
    paint(ctx as Painter, plan(scene([node("a", 0, 0)]), EVERYWHERE, 1), { x: 0, y: 0, zoom: 1 }, 10, 10, 1, true);
    expect(calls.some((c) => c.startsWith("clearRect"))).toBe(false);
    expect(calls.filter((c) => c.startsWith("rect("))).toHaveLength(2);
  });

  it("fits the whole graph and the view in the minimap", () => {
    const view = overview({ x: 0, y: 0, width: 1000, height: 200 }, 168, 112);
    expect(view.zoom).toBeCloseTo(0.16);
    expect(view.x).toBeCloseTo(4); // a margin of 4 px each side
    expect(view.y).toBeCloseTo(56 - 16); // centred vertically
  });
});

describe("the zoomed-out canvas: selecting with a click", () => {
  beforeEach(() => {
    useGraph.setState({ nodes: [node("a", 0, 0, { selected: true }), node("b", 300, 0), node("c", 600, 0, { selected: true })], edges: [edge("a", "b", { selected: true })] });
  });
  const selected = () => useGraph.getState().nodes.filter((n) => n.selected).map((n) => n.id);

  it("selects the node alone, edges included, unless it is already selected", () => {
    selectByClick(useGraph.getState().nodes[0], false);
    expect(selected()).toEqual(["a", "c"]); // a press on a selected node keeps the group: the drag moves them all
    selectByClick(useGraph.getState().nodes[1], false);
    expect(selected()).toEqual(["b"]);
    expect(useGraph.getState().edges[0].selected).toBe(false);
  });

  it("adds to the selection or takes out of it with a modifier", () => {
    selectByClick(useGraph.getState().nodes[1], true);
    expect(selected()).toEqual(["a", "b", "c"]);
    selectByClick(useGraph.getState().nodes[0], true);
    expect(selected()).toEqual(["b", "c"]);
  });
});

describe("the zoomed-out canvas: edges", () => {
  // a (0..188 x 0..74) -> b at (400, 200): the curve leaves a at (188, 37) and enters b at (400, 237).
  const nodes = () => [node("a", 0, 0), node("b", 400, 200), node("c", 400, -200)];
  const edges = () => [edge("a", "b"), edge("a", "c")];

  it("measures how far a point is from a curve", () => {
    const curve = edgeCurve({ x: 0, y: 0 }, { x: 100, y: 0 }, "LR"); // a straight line
    expect(curveDistance(curve, { x: 50, y: 3 })).toBeCloseTo(3);
    expect(curveDistance(curve, { x: 130, y: 40 })).toBeCloseTo(50); // past its end: from the end point
    const bent = edgeCurve({ x: 188, y: 37 }, { x: 400, y: 237 }, "LR");
    expect(curveDistance(bent, { x: 294, y: 137 })).toBeLessThan(0.5); // its middle (by symmetry)
  });

  it("finds the edge within a few screen pixels of a point, and none farther", () => {
    const s = edgeIndex(scene(nodes(), edges()));
    expect(edgeAt(s, { x: 294, y: 140 }, 5)?.id).toBe("a->b");
    expect(edgeAt(s, { x: 294, y: -63 }, 5)?.id).toBe("a->c");
    expect(edgeAt(s, { x: 294, y: 150 }, 5)).toBeNull(); // 13 units off: too far at zoom 1
    expect(edgeAt(s, { x: 294, y: 150 }, 5 / 0.25)?.id).toBe("a->b"); // 3.25 screen px at zoom 0.25
    expect(edgeAt(s, { x: 294, y: 37 }, 5)).toBeNull(); // between the two
  });

  it("selects an edge with a click, draws it highlighted, deletes it with the selection as one undo step", () => {
    useGraph.setState({ nodes: nodes().map((n) => (n.id === "c" ? { ...n, selected: true } : n)), edges: edges(), past: [], future: [] });
    const hit = edgeAt(edgeIndex(scene(useGraph.getState().nodes, useGraph.getState().edges)), { x: 294, y: 140 }, 5)!;
    selectEdgeByClick(hit, false);
    const g = useGraph.getState();
    expect(g.nodes.filter((n) => n.selected)).toEqual([]); // a click on an edge selects it alone
    expect(g.edges.filter((e) => e.selected).map((e) => e.id)).toEqual(["a->b"]);
    const drawn = plan(scene(g.nodes, g.edges), EVERYWHERE, 0.25);
    expect(drawn.edges.get(COLORS.selected)?.curves.map((c) => c[7])).toEqual([237]);
    expect(say(g.nodes, g.edges, null).split("\u0000")).toEqual(["edge", "a->b", "a", "b", "", "0", "1"]);

    selectEdgeByClick(useGraph.getState().edges[1], true); // Shift: added
    expect(useGraph.getState().edges.filter((e) => e.selected)).toHaveLength(2);
    selectEdgeByClick(useGraph.getState().edges[1], true); // and taken out again
    expect(useGraph.getState().edges.filter((e) => e.selected).map((e) => e.id)).toEqual(["a->b"]);
    expect(useGraph.getState().past).toHaveLength(0); // selecting is no edit

    useGraph.getState().deleteSelected(); // what Delete and Backspace do on the canvas
    expect(useGraph.getState().edges.map((e) => e.id)).toEqual(["a->c"]);
    expect(useGraph.getState().nodes).toHaveLength(3);
    useGraph.getState().undo();
    expect(useGraph.getState().edges.map((e) => e.id)).toEqual(["a->b", "a->c"]);
  });

  it("names the edge the pointer is over, with its ports when they are not the default ones", () => {
    const ns = nodes();
    const es = [edge("a", "b", { sourceHandle: "out2", targetHandle: "in" })];
    expect(say(ns, es, { kind: "edge", id: "a->b" }).split("\u0000").slice(0, 4)).toEqual(["edge", "a->b", "a.out2", "b"]);
    expect(say(ns, es, { kind: "node", id: "b" }).split("\u0000").slice(0, 5)).toEqual(["node", "b", "Linear", "400", "200"]);
    expect(say(ns, es, null)).toBe("");
  });
});
