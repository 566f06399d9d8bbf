// One component draws every layer, from its catalog spec: one handle per named port.
import { Handle, type NodeProps, Position } from "@xyflow/react";
import { memo } from "react";
import { type LayerNode as LayerNodeType, formatCount, formatShape } from "../lib/graph";
import { useCatalog } from "../stores/catalog";
import { useGraph } from "../stores/graph";

const KEY_PARAMS = 3;

function paramText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === null ? "?" : String(v))).join(", ")}]`;
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(3);
  return String(value);
}

function LayerNodeView({ id, data, selected }: NodeProps<LayerNodeType>) {
  const spec = useCatalog((s) => s.layers[data.type]);
  const info = useGraph((s) => s.validation?.nodes[id]);
  const error = info?.error ?? null;
  const schemaProps = (spec?.params_schema.properties ?? {}) as Record<string, { default?: unknown }>;
  const shown = Object.entries(data.params)
    .filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(schemaProps[k]?.default))
    .slice(0, KEY_PARAMS);
  const inputs = spec?.inputs ?? [];
  const outputs = spec?.outputs ?? [];
  const category = spec?.category ?? "unknown";
  return (
    <div
      className={`layer-node cat-${category}${selected ? " selected" : ""}${error ? " invalid" : ""}`}
      data-testid={`node-${id}`}
      title={spec?.doc}
    >
      {inputs.map((p, i) => (
        <Handle
          key={p.name}
          id={p.name}
          type="target"
          position={Position.Left}
          style={{ top: `${((i + 1) / (inputs.length + 1)) * 100}%` }}
          data-testid={`handle-${id}-in-${p.name}`}
          className={p.variadic ? "variadic" : undefined}
          title={`${p.name}${p.variadic ? " (many)" : ""}${p.optional ? " (optional)" : ""}`}
        />
      ))}
      <div className="layer-head">
        <span className="layer-type">{data.type}</span>
        <span className="layer-id">{id}</span>
      </div>
      {shown.length > 0 && (
        <div className="layer-params">
          {shown.map(([k, v]) => (
            <span key={k}>
              {k}={paramText(v)}
            </span>
          ))}
        </div>
      )}
      <div className="layer-foot">
        <span className="layer-shape" data-testid={`shape-${id}`}>
          {info?.output_shape ? formatShape(info.output_shape) : error ? "—" : "…"}
        </span>
        {info && info.params > 0 && <span className="layer-count">{formatCount(info.params)} params</span>}
      </div>
      {error && (
        <div className="layer-error" data-testid={`error-${id}`}>
          {error}
        </div>
      )}
      {inputs.length > 1 && (
        <div className="port-labels in">
          {inputs.map((p) => (
            <span key={p.name}>{p.name}</span>
          ))}
        </div>
      )}
      {outputs.length > 1 && (
        <div className="port-labels out">
          {outputs.map((p) => (
            <span key={p.name}>{p.name}</span>
          ))}
        </div>
      )}
      {outputs.map((p, i) => (
        <Handle
          key={p.name}
          id={p.name}
          type="source"
          position={Position.Right}
          style={{ top: `${((i + 1) / (outputs.length + 1)) * 100}%` }}
          data-testid={`handle-${id}-out-${p.name}`}
          title={p.name}
        />
      ))}
    </div>
  );
}

export const LayerNodeComponent = memo(LayerNodeView);
