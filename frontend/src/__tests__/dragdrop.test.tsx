// Palette -> canvas drag and drop in happy-dom, which ignores DragEvent.dataTransfer: we define it on each event.
import { ReactFlowProvider } from "@xyflow/react";
import { act } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Catalog } from "../api/client";
import { Canvas, DRAG_MIME } from "../canvas/Canvas";
import { Palette } from "../panels/Palette";
import { useCatalog } from "../stores/catalog";
import { useGraph } from "../stores/graph";
import { mountPerTest, typeInto } from "./mount";

const port = (name: string) => ({ name, variadic: false, optional: false, doc: "" });
const catalog = {
  layers: [
    {
      type: "Linear",
      category: "core",
      doc: "A dense layer.",
      params_schema: { properties: { out_features: { type: "integer", default: 64 }, bias: { type: "boolean", default: true } } },
      inputs: [port("in")],
      outputs: [port("out")],
    },
    { type: "ReLU", category: "activation", doc: "max(x, 0)", params_schema: { properties: {} }, inputs: [port("in")], outputs: [port("out")] },
  ],
  optimizers: [],
  losses: [],
  metrics: [],
  schedules: [],
  datasets: [],
} as unknown as Catalog;

function dragEvent(type: string, data: Record<string, string>, at = { x: 0, y: 0 }): Event {
  const event = new Event(type, { bubbles: true, cancelable: true });
  const dataTransfer = {
    effectAllowed: "all",
    dropEffect: "none",
    setData: (k: string, v: string) => void (data[k] = v),
    getData: (k: string) => data[k] ?? "",
  };
  Object.defineProperty(event, "dataTransfer", { value: dataTransfer });
  Object.defineProperty(event, "clientX", { value: at.x });
  Object.defineProperty(event, "clientY", { value: at.y });
  return event;
}

describe("palette to canvas", () => {
  const view = mountPerTest({ width: "1000px", height: "700px" });
  beforeEach(() => {
    // happy-dom lays nothing out, so React Flow warns that its container has no size.
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    useCatalog.setState({ catalog, layers: Object.fromEntries(catalog.layers.map((l) => [l.type, l])) });
    useGraph.setState({ nodes: [], edges: [], past: [], future: [] });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("drags a layer from the palette and drops it as a node with its default params", async () => {
    await act(async () => {
      view.root.render(
        <ReactFlowProvider>
          <Palette />
          <Canvas />
        </ReactFlowProvider>,
      );
    });
    const data: Record<string, string> = {};
    const item = view.host.querySelector('[data-testid="palette-Linear"]')!;
    expect(item.getAttribute("draggable")).toBe("true");
    act(() => void item.dispatchEvent(dragEvent("dragstart", data)));
    expect(data[DRAG_MIME]).toBe("Linear");

    const canvas = view.host.querySelector('[data-testid="canvas"]')!;
    const over = dragEvent("dragover", data);
    act(() => void canvas.dispatchEvent(over));
    expect(over.defaultPrevented).toBe(true); // the canvas accepts drops
    await act(async () => void canvas.dispatchEvent(dragEvent("drop", data, { x: 300, y: 200 })));
    const nodes = useGraph.getState().nodes;
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ id: "linear", type: "layer", data: { type: "Linear", params: { out_features: 64, bias: true } } });
    expect(useGraph.getState().past).toHaveLength(1); // one undo step

    // Something that is not a layer (a file, text) is ignored.
    await act(async () => void canvas.dispatchEvent(dragEvent("drop", { "text/plain": "hello" })));
    expect(useGraph.getState().nodes).toHaveLength(1);
  });

  it("filters the palette by name, doc or category", async () => {
    await act(async () => {
      view.root.render(
        <ReactFlowProvider>
          <Palette />
        </ReactFlowProvider>,
      );
    });
    const search = view.host.querySelector<HTMLInputElement>('[data-testid="palette-search"]')!;
    typeInto(search, "max(");
    expect(view.host.querySelector('[data-testid="palette-ReLU"]')).not.toBeNull();
    expect(view.host.querySelector('[data-testid="palette-Linear"]')).toBeNull();
  });
});
