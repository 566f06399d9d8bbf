// One component draws every layer, from its catalog spec: one handle per named port.
import { Handle, type NodeProps, Position } from "@xyflow/react";
import { type CSSProperties, memo } from "react";
import { type LayerNode as LayerNodeType, formatCount, formatShape } from "../lib/graph";
import { categoryColor, useCatalog } from "../stores/catalog";
import { useInputProblems } from "../stores/datasets";
import { useDrawn } from "./drawn";
import { markedParams } from "../lib/search";
import { NodeHealth } from "./NodeHealth";
import { FrozenBadge } from "../panels/train/StartFromRun";

const KEY_PARAMS = 3;
// Text is cut in code, not with CSS ellipsis: `overflow: hidden` gives every node several clip layers, and on a
// 500-node graph the browser's per-frame layer bookkeeping then costs more than everything else while dragging.
const HEAD_CHARS = 27;
const PARAM_CHARS = 26;
const ERROR_CHARS = 180;

export function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text;
}

function paramText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === null ? "?" : String(v))).join(",")}]`;
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(3)));
  return String(value);
}

type Port = { name: string; variadic: boolean; optional: boolean; doc: string };

/** Where the i-th of n handles sits along the node's edge. */
function along(i: number, n: number, vertical: boolean): CSSProperties {
  const at = `${((i + 1) / (n + 1)) * 100}%`;
  return vertical ? { left: at } : { top: at };
}

function Ports({ id, ports, kind, vertical }: { id: string; ports: Port[]; kind: "in" | "out"; vertical: boolean }) {
  const position = kind === "in" ? (vertical ? Position.Top : Position.Left) : vertical ? Position.Bottom : Position.Right;
  const labelled = ports.length > 1;
  return ports.map((p, i) => (
    <Handle
      key={p.name}
      id={p.name}
      type={kind === "in" ? "target" : "source"}
      position={position}
      style={along(i, ports.length, vertical)}
      className={p.variadic ? "variadic" : p.optional ? "optional" : undefined}
      data-testid={`handle-${id}-${kind}-${p.name}`}
      title={`${p.name}${p.variadic ? " (takes several inputs, in order)" : ""}${p.optional ? " (optional)" : ""}${p.doc ? `: ${p.doc}` : ""}`}
    >
      {labelled && <span className={`port-label ${kind} ${vertical ? "tb" : "lr"}`}>{p.name}</span>}
    </Handle>
  ));
}

function LayerNodeView({ id, data, selected }: NodeProps<LayerNodeType>) {
  const spec = useCatalog((s) => s.layers[data.type]);
  const info = useDrawn((s) => s.validation?.nodes[id]);
  const vertical = useDrawn((s) => s.direction === "TB");
  const error = info?.error ?? null;
  const moreErrors = useDrawn((s) => (s.nodeErrorCounts[id] ?? 1) - 1);
  const validationWarning = useDrawn((s) => s.nodeWarnings[id] ?? null);
  const hint = useDrawn((s) => s.nodeHints[id] ?? null);
  const inputProblem = useInputProblems((s) => s[id] ?? null);
  const warning = validationWarning ?? inputProblem;
  // A string: the node re-renders only when its own marks change.
  const tuned = useDrawn((s) => markedParams(s.search, id).join(", "));
  const schemaProps = (spec?.params_schema.properties ?? {}) as Record<string, { default?: unknown }>;
  const shown = Object.entries(data.params)
    .filter(([k, v]) => k in schemaProps && JSON.stringify(v) !== JSON.stringify(schemaProps[k]?.default))
    .slice(0, KEY_PARAMS)
    .map(([k, v]) => `${k}=${paramText(v)}`);
  const params = shown.join(" ");
  const category = spec?.category;
  const shape = info?.output_shape ? formatShape(info.output_shape) : error ? "—" : info ? "" : "…";
  return (
    <div
      className={`layer-node${selected ? " selected" : ""}${error ? " invalid" : warning ? " warned" : ""}${spec ? "" : " unknown"}`}
      style={{ "--cat": categoryColor(category) } as CSSProperties}
      data-testid={`node-${id}`}
      title={spec ? spec.doc : `'${data.type}' is not a layer of this server's catalog`}
    >
      <Ports id={id} ports={spec?.inputs ?? []} kind="in" vertical={vertical} />
      <div className="layer-head">
        <span className="layer-type">{cut(data.type, HEAD_CHARS - 4)}</span>
        <span className="layer-id" title={id}>
          {cut(id, Math.max(4, HEAD_CHARS - data.type.length))}
        </span>
        {tuned && (
          <span className="layer-tune" title={`searched in a study: ${tuned}`} data-testid={`tune-badge-${id}`}>
            tune
          </span>
        )}
        <FrozenBadge id={id} />
      </div>
      <div className="layer-params" title={shown.join("\n")}>
        {params ? cut(params, PARAM_CHARS) : "\u00a0"}
      </div>
      <div className="layer-foot">
        <span className="layer-shape" data-testid={`shape-${id}`}>
          {shape}
        </span>
        {info?.dtype && info.dtype !== "float32" && <span className="layer-dtype">{info.dtype}</span>}
        {info && info.params > 0 && <span className="layer-count">{formatCount(info.params)} params</span>}
      </div>
      {error && (
        <div className="layer-error" data-testid={`error-${id}`} title={error}>
          {cut(error, ERROR_CHARS)}
          {moreErrors > 0 && <b className="more-errors"> (+{moreErrors} more in the issues)</b>}
        </div>
      )}
      {!error && warning && (
        <div className="layer-warning" data-testid={`warning-${id}`} title={warning}>
          {cut(warning, ERROR_CHARS)}
        </div>
      )}
      {!error && !warning && hint && (
        <div className="layer-hint" data-testid={`hint-${id}`} title={hint}>
          {cut(hint, ERROR_CHARS)}
        </div>
      )}
      <NodeHealth id={id} />
      <Ports id={id} ports={spec?.outputs ?? []} kind="out" vertical={vertical} />
    </div>
  );
}

export const LayerNodeComponent = memo(LayerNodeView);
