// A `Block` node: one instance of a repeat block, drawn collapsed as one node: the block's name, ×N and shared
// weights, one handle per port (the block's Input and Output nodes), the output shape, the parameters of all its
// copies, and how many errors there are inside it (listed in the Inspector and the issues panel).
import { Handle, type NodeProps, Position } from "@xyflow/react";
import { type CSSProperties, memo, useMemo } from "react";
import { blockParams, blockPorts, readBlocks, summarize } from "../lib/blocks";
import { type LayerNode as LayerNodeType, formatCount, formatShape } from "../lib/graph";
import { useGraph } from "../stores/graph";
import { useDrawn } from "./drawn";
import { cut } from "./LayerNode";

const ERROR_CHARS = 180;

function along(i: number, n: number, vertical: boolean): CSSProperties {
  const at = `${((i + 1) / (n + 1)) * 100}%`;
  return vertical ? { left: at } : { top: at };
}

function BlockNodeView({ id, data, selected }: NodeProps<LayerNodeType>) {
  const extra = useGraph((s) => s.extra);
  const validation = useDrawn((s) => s.validation);
  const vertical = useDrawn((s) => s.direction === "TB");
  const blocks = useMemo(() => readBlocks(extra), [extra]);
  const { block, repeat, shared } = blockParams(data.params);
  const def = blocks[block];
  const ports = useMemo(() => blockPorts(def), [def]);
  const summary = useMemo(() => summarize(validation, blocks, { id, data }), [validation, blocks, id, data]);
  const first = summary.errors[0]?.message ?? (def ? null : `unknown block '${block}'`);
  const shapes = ports.outputs.map((p) => summary.shapes[p]);
  const shape = shapes.length === 1 ? (shapes[0] ? formatShape(shapes[0]) : first ? "—" : validation ? "" : "…") : shapes.map((s) => formatShape(s)).join(" · ");
  const handles = (names: string[], kind: "in" | "out") => {
    const position = kind === "in" ? (vertical ? Position.Top : Position.Left) : vertical ? Position.Bottom : Position.Right;
    // One port of a kind also answers to the default `in` / `out` (docs/graph-format.md), which is what edges use.
    const ids = names.length === 1 ? [kind] : names;
    return ids.map((name, i) => (
      <Handle
        key={name}
        id={name}
        type={kind === "in" ? "target" : "source"}
        position={position}
        style={along(i, ids.length, vertical)}
        data-testid={`handle-${id}-${kind}-${name}`}
        title={names[i]}
      >
        {ids.length > 1 && <span className={`port-label ${kind} ${vertical ? "tb" : "lr"}`}>{name}</span>}
      </Handle>
    ));
  };
  return (
    <div
      className={`layer-node block-node${selected ? " selected" : ""}${first ? " invalid" : ""}`}
      data-testid={`node-${id}`}
      title={`Block '${block}': ${def ? def.nodes.length - ports.inputs.length - ports.outputs.length : 0} layers inside, repeated ×${repeat}`}
    >
      {handles(ports.inputs, "in")}
      <div className="layer-head">
        <span className="layer-type">{cut(`▣ ${block}`, 18)}</span>
        <span className="layer-id" title={id}>
          {cut(id, 10)}
        </span>
      </div>
      <div className="layer-params" data-testid={`block-repeat-${id}`}>
        ×{repeat}
        {repeat > 1 ? (shared ? " shared weights" : " own weights") : ""}
      </div>
      <div className="layer-foot">
        <span className="layer-shape" data-testid={`shape-${id}`}>
          {shape}
        </span>
        {summary.params > 0 && <span className="layer-count">{formatCount(summary.params)} params</span>}
      </div>
      {first && (
        <div className="layer-error" data-testid={`error-${id}`} title={first}>
          {summary.errors.length > 1 ? `${summary.errors.length} errors inside: ` : ""}
          {cut(first, ERROR_CHARS)}
        </div>
      )}
      {handles(ports.outputs, "out")}
    </div>
  );
}

export const BlockNodeComponent = memo(BlockNodeView);
