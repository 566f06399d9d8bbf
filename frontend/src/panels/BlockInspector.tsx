// The Inspector of a `Block` node: which block it uses, ×N repeat, shared or own weights, its output shapes and
// parameters, every error inside it (named by expanded id, `block1.0.conv1`), the layers inside with their shapes,
// and Ungroup (put the layers back on the canvas).
import { useEffect, useMemo, useState } from "react";
import { blockParams, blockPorts, readBlocks, summarize } from "../lib/blocks";
import { type LayerNode, formatCount, formatShape } from "../lib/graph";
import { expandNode, ungroupNode } from "../stores/blocks";
import { useGraph } from "../stores/graph";

const MAX_REPEAT = 1000;

export function BlockInspector({ node }: { node: LayerNode }) {
  const extra = useGraph((s) => s.extra);
  const validation = useGraph((s) => s.validation);
  const blocks = useMemo(() => readBlocks(extra), [extra]);
  const { block, repeat, shared } = blockParams(node.data.params);
  const def = blocks[block];
  const ports = blockPorts(def);
  const summary = useMemo(() => summarize(validation, blocks, node), [validation, blocks, node]);
  const [repeatText, setRepeatText] = useState(String(repeat));
  useEffect(() => setRepeatText(String(repeat)), [repeat, node.id]);
  const repeatNumber = Number(repeatText);
  const repeatError =
    repeatText.trim() === "" || !Number.isInteger(repeatNumber)
      ? "repeat must be a whole number"
      : repeatNumber < 1 || repeatNumber > MAX_REPEAT
        ? `repeat must be 1 to ${MAX_REPEAT.toLocaleString("en-US")}`
        : null;
  const set = (params: Record<string, unknown>, field: string) =>
    useGraph.getState().setParams(node.id, { ...node.data.params, ...params }, field);
  // The layers of the first copy (`<id>.0.<inner id>`), each with its shape.
  const inner = summary.inner.filter(([id]) => id.startsWith(`${node.id}.0.`));
  return (
    <div className="inspector" data-testid="inspector">
      <div className="inspector-head">
        <h2>Block</h2>
        <span className="category">{node.id}</span>
      </div>
      <p className="muted small">
        A sub-graph used as one node. Its inputs ({ports.inputs.join(", ") || "none"}) and outputs ({ports.outputs.join(", ") || "none"}) are its
        ports; it is inlined when compiled, its layers named <span className="mono">{node.id}.0.&lt;layer&gt;</span>.
      </p>
      <label className="field">
        <span className="field-name">block</span>
        <select value={block} onChange={(e) => set({ block: e.target.value }, "block")} data-testid="block-name">
          {!def && <option value={block}>{block} (unknown)</option>}
          {Object.keys(blocks).map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label className={`field${repeatError ? " has-error" : ""}`}>
        <span className="field-name">repeat ×</span>
        <input
          type="number"
          min={1}
          max={MAX_REPEAT}
          value={repeatText}
          onChange={(e) => {
            setRepeatText(e.target.value);
            const n = Number(e.target.value);
            // Whole numbers go to the server even out of range: its error names the block on the node.
            if (e.target.value.trim() !== "" && Number.isInteger(n)) set({ repeat: n }, "repeat");
          }}
          data-testid="block-repeat"
        />
        {repeatError && <span className="field-error">{repeatError}</span>}
      </label>
      <label className="row" style={{ alignItems: "center", gap: 8 }} title="Shared: every copy runs the first copy's layers (one set of weights)">
        <input type="checkbox" checked={shared} onChange={(e) => set({ shared: e.target.checked }, "shared")} data-testid="block-shared" />
        <span>shared weights {shared ? "(one set for all copies)" : "(each copy has its own)"}</span>
      </label>
      <div className="shape-line" data-testid="inspector-shape">
        {ports.outputs.map((p) => (
          <div key={p}>
            {ports.outputs.length > 1 ? p : "output"} <b>{summary.shapes[p] ? formatShape(summary.shapes[p]) : "—"}</b>
          </div>
        ))}
        <span className="muted">{formatCount(summary.params)} params {shared && repeat > 1 ? `shared by ${repeat} copies` : `in ${repeat} ${repeat === 1 ? "copy" : "copies"}`}</span>
      </div>
      {summary.errors.length > 0 && (
        <div data-testid="block-errors">
          <h3>
            {summary.errors.length} {summary.errors.length === 1 ? "error" : "errors"} inside
          </h3>
          {summary.errors.slice(0, 20).map((p, i) => (
            <p key={i} className="node-error">
              {p.message}
            </p>
          ))}
        </div>
      )}
      {inner.length > 0 && (
        <>
          <h3>Inside (first copy)</h3>
          <div className="ports" data-testid="block-inner">
            {inner.map(([id, info]) => (
              <div key={id} className="mono small" style={{ display: "flex", justifyContent: "space-between", gap: 12 }}>
                <span>{id.slice(node.id.length + 3)}</span>
                <span className="muted">{info.output_shape ? formatShape(info.output_shape) : "—"}</span>
              </div>
            ))}
          </div>
        </>
      )}
      <div className="row">
        <button onClick={() => expandNode(node.id)} data-testid="btn-expand" title="Show the block's layers on the canvas to edit them; Collapse (above the canvas) makes it one node again">
          Expand
        </button>
        <button onClick={() => ungroupNode(node.id)} disabled={repeat !== 1} data-testid="btn-ungroup" title={repeat === 1 ? "Put the block's layers back on the canvas" : "Set repeat to 1 to ungroup"}>
          Ungroup
        </button>
      </div>
    </div>
  );
}
