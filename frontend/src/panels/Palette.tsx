// Every layer of the catalog, grouped by category and searchable; drag one onto the canvas (or double-click it).
import { useReactFlow } from "@xyflow/react";
import { type CSSProperties, Fragment, useMemo, useState } from "react";
import type { LayerInfo } from "../api/client";
import { BLOCK_MIME, DRAG_MIME } from "../canvas/Canvas";
import { readBlocks } from "../lib/blocks";
import { addBlockNode } from "../stores/blocks";
import { canvasSize } from "../canvas/view";
import { NODE_SIZE, freeSpot } from "../lib/layout";
import { categoryColor, defaultParams, useCatalog } from "../stores/catalog";
import { useGraph } from "../stores/graph";
import { Doc } from "../ui/Doc";

function HoverCard({ layer, top }: { layer: LayerInfo; top: number }) {
  const props = Object.keys(layer.params_schema.properties ?? {});
  const ports = (list: LayerInfo["inputs"]) => list.map((p) => `${p.name}${p.variadic ? " (many)" : ""}${p.optional ? " (optional)" : ""}`).join(", ");
  return (
    <div className="hover-card" style={{ top }} data-testid="palette-card">
      <div className="inspector-head">
        <b>{layer.type}</b>
        <span className="category" style={{ color: categoryColor(layer.category) }}>
          {layer.category}
        </span>
      </div>
      <Doc text={layer.doc} />
      {layer.inputs.length > 0 && (
        <div className="small">
          <span className="muted">inputs</span> {ports(layer.inputs)}
        </div>
      )}
      {layer.outputs.length > 0 && (
        <div className="small">
          <span className="muted">outputs</span> {ports(layer.outputs)}
        </div>
      )}
      {props.length > 0 && (
        <div className="small mono params-list">
          <span className="muted">params</span> {props.join(", ")}
        </div>
      )}
    </div>
  );
}

export function Palette() {
  const catalog = useCatalog((s) => s.catalog);
  const [query, setQuery] = useState("");
  const [hover, setHover] = useState<{ layer: LayerInfo; top: number } | null>(null);
  const flow = useReactFlow();
  const extra = useGraph((s) => s.extra);
  const blockNames = useMemo(() => {
    const q = query.trim().toLowerCase();
    return Object.keys(readBlocks(extra)).filter((name) => !q || name.toLowerCase().includes(q) || "blocks".includes(q));
  }, [extra, query]);
  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const out = new Map<string, LayerInfo[]>();
    for (const l of catalog?.layers ?? []) {
      if (q && !l.type.toLowerCase().includes(q) && !l.doc.toLowerCase().includes(q) && !l.category.includes(q)) continue;
      out.set(l.category, [...(out.get(l.category) ?? []), l]);
    }
    return [...out.entries()];
  }, [catalog, query]);

  /**
   * Double-click (or Enter in the search box): add the layer after the selected node, connected to it, as Sony's
   * Neural Network Console does, so that double-clicks build a chain; with no single node selected, in the middle
   * of the visible canvas, clear of the nodes already there.
   */
  const add = (layer: LayerInfo) => {
    const graph = useGraph.getState();
    const selected = graph.nodes.filter((n) => n.selected);
    let id: string;
    if (selected.length === 1) {
      const anchor = selected[0];
      const output = useCatalog.getState().layers[anchor.data.type]?.outputs[0]?.name;
      id = graph.addAfter(anchor.id, layer.type, defaultParams(layer), { output, input: layer.inputs[0]?.name });
    } else {
      const { width, height } = canvasSize();
      const box = document.querySelector('[data-testid="canvas"]')?.getBoundingClientRect();
      const at = flow.screenToFlowPosition({ x: (box?.x ?? 0) + width / 2, y: (box?.y ?? 0) + height / 2 });
      const start = { x: at.x - NODE_SIZE.width / 2, y: at.y - NODE_SIZE.height / 2 };
      const step = graph.direction === "TB" ? { x: NODE_SIZE.width + 32, y: 0 } : { x: 0, y: NODE_SIZE.height + 32 };
      id = graph.addNode(layer.type, defaultParams(layer), freeSpot(graph.nodes, start, step));
    }
    keepInView(id);
  };

  /** Pan (at the same zoom) to a node added outside the visible part of the canvas. */
  const keepInView = (id: string) => {
    const node = useGraph.getState().nodes.find((n) => n.id === id);
    if (!node) return;
    const { width, height } = canvasSize();
    const { x, y, zoom } = flow.getViewport();
    const left = node.position.x * zoom + x;
    const top = node.position.y * zoom + y;
    const inside = left >= 0 && top >= 0 && left + NODE_SIZE.width * zoom <= width && top + NODE_SIZE.height * zoom <= height;
    if (!inside) void flow.setCenter(node.position.x + NODE_SIZE.width / 2, node.position.y + NODE_SIZE.height / 2, { zoom, duration: 200 });
  };

  return (
    <aside className="palette" data-testid="palette" onMouseLeave={() => setHover(null)}>
      <input
        className="search"
        placeholder="Search layers…"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && groups[0]) add(groups[0][1][0]);
          if (e.key === "Escape") setQuery("");
        }}
        data-testid="palette-search"
        aria-label="search layers"
      />
      <div className="palette-groups" onScroll={() => setHover(null)}>
        {groups.map(([category, layers]) => (
          <section key={category}>
            <h3>
              {category} <span className="count">{layers.length}</span>
            </h3>
            {layers.map((l) => (
              <div
                key={l.type}
                className="palette-item"
                style={{ "--cat": categoryColor(category) } as CSSProperties}
                draggable
                onDragStart={(e) => {
                  setHover(null);
                  e.dataTransfer.setData(DRAG_MIME, l.type);
                  e.dataTransfer.effectAllowed = "move";
                }}
                onDoubleClick={() => add(l)}
                onMouseEnter={(e) => setHover({ layer: l, top: e.currentTarget.getBoundingClientRect().top })}
                onMouseLeave={() => setHover(null)}
                title={`${l.type}: drag onto the canvas, or double-click to add it after the selected node`}
                data-testid={`palette-${l.type}`}
              >
                <Wrappable text={l.type} />
              </div>
            ))}
          </section>
        ))}
        {blockNames.length > 0 && (
          <section data-testid="palette-blocks">
            <h3>
              Blocks <span className="count">{blockNames.length}</span>
            </h3>
            {blockNames.map((name) => (
              <div
                key={name}
                className="palette-item"
                draggable
                onDragStart={(e) => {
                  e.dataTransfer.setData(BLOCK_MIME, name);
                  e.dataTransfer.effectAllowed = "move";
                }}
                onDoubleClick={() => {
                  const graph = useGraph.getState();
                  const { width, height } = canvasSize();
                  const box = document.querySelector('[data-testid="canvas"]')?.getBoundingClientRect();
                  const at = flow.screenToFlowPosition({ x: (box?.x ?? 0) + width / 2, y: (box?.y ?? 0) + height / 2 });
                  const step = graph.direction === "TB" ? { x: NODE_SIZE.width + 32, y: 0 } : { x: 0, y: NODE_SIZE.height + 32 };
                  keepInView(addBlockNode(name, freeSpot(graph.nodes, { x: at.x - NODE_SIZE.width / 2, y: at.y - NODE_SIZE.height / 2 }, step)));
                }}
                title={`Block '${name}': drag onto the canvas, or double-click, to use it again`}
                data-testid={`palette-block-${name}`}
              >
                ▣ <Wrappable text={name} />
              </div>
            ))}
          </section>
        )}
        {groups.length === 0 && blockNames.length === 0 && <p className="muted">No layer matches “{query}”.</p>}
      </div>
      {hover && <HoverCard layer={hover.layer} top={Math.min(hover.top, window.innerHeight - 260)} />}
    </aside>
  );
}

/** A name that may break before each capital ("TransformerEncoder" / "Layer") when it is wider than the palette;
 * a name with no such place breaks anywhere (styles.css), never cut off. */
function Wrappable({ text }: { text: string }) {
  const parts = text.split(/(?=[A-Z])/);
  return (
    <>
      {parts.map((part, i) => (
        <Fragment key={i}>
          {i > 0 && <wbr />}
          {part}
        </Fragment>
      ))}
    </>
  );
}
