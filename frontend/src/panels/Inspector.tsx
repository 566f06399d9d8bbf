// The selected node: its id (renames everywhere), shapes, ports and connections, its params as a generated form,
// and its errors (the field at fault is marked).
import { useEffect, useState } from "react";
import { type LayerNode, formatCount, formatShape } from "../lib/graph";
import { categoryColor, useCatalog } from "../stores/catalog";
import { useGraph } from "../stores/graph";
import { Doc } from "../ui/Doc";
import { BLOCK } from "../lib/blocks";
import { BlockInspector } from "./BlockInspector";
import { type JsonSchema, SchemaForm } from "./SchemaForm";
import { FreezeToggle } from "./train/StartFromRun";
import { TuneMarks } from "./TuneMarks";

const NO_ERRORS: never[] = [];

/** One line per port: what feeds it (or what it feeds), with the shape carried. */
function Ports({ id }: { id: string }) {
  const type = useGraph((s) => s.nodes.find((n) => n.id === id)?.data.type);
  const spec = useCatalog((s) => (type ? s.layers[type] : undefined));
  // A string selector: the connections change only when edges do.
  const wiring = useGraph((s) =>
    JSON.stringify(
      s.edges
        .filter((e) => e.source === id || e.target === id)
        .map((e) => [e.source, e.sourceHandle ?? "out", e.target, e.targetHandle ?? "in", formatShape(s.edgeShapes[e.id])]),
    ),
  );
  if (!spec) return null;
  const edges = JSON.parse(wiring) as [string, string, string, string, string][];
  const rows = [
    ...spec.inputs.map((p) => ({
      dir: "in" as const,
      port: p,
      links: edges.filter((e) => e[2] === id && e[3] === p.name).map((e) => ({ node: e[0], port: e[1], shape: e[4] })),
    })),
    ...spec.outputs.map((p) => ({
      dir: "out" as const,
      port: p,
      links: edges.filter((e) => e[0] === id && e[1] === p.name).map((e) => ({ node: e[2], port: e[3], shape: e[4] })),
    })),
  ];
  if (!rows.length) return null;
  return (
    <div className="ports" data-testid="inspector-ports">
      {rows.map(({ dir, port, links }) => (
        <div key={`${dir}-${port.name}`} className="port-row" title={port.doc}>
          <span className={`port-dir ${dir}`}>{dir === "in" ? "in" : "out"}</span>
          <span className="port-name">
            {port.name}
            {port.variadic ? " …" : ""}
          </span>
          <span className="port-links">
            {links.length === 0 ? (
              <span className={port.optional || dir === "out" ? "muted" : "warn"}>
                {dir === "out" ? "unused" : port.optional ? "optional" : "not connected"}
              </span>
            ) : (
              links.map((l, i) => (
                <span key={i} className="port-link">
                  {dir === "in" ? "← " : "→ "}
                  {l.node}
                  {(dir === "in" ? l.port !== "out" : l.port !== "in") ? `.${l.port}` : ""}
                  {l.shape && <span className="mono muted"> {l.shape}</span>}
                </span>
              ))
            )}
          </span>
        </div>
      ))}
    </div>
  );
}

function SelectedEdge() {
  const edge = useGraph((s) => {
    const sel = s.edges.filter((e) => e.selected);
    return sel.length === 1 ? sel[0] : null;
  });
  const shape = useGraph((s) => (edge ? s.edgeShapes[edge.id] : null));
  if (!edge) return null;
  return (
    <div className="inspector" data-testid="inspector-edge">
      <h2>Connection</h2>
      <p className="mono">
        {edge.source}.{edge.sourceHandle ?? "out"} → {edge.target}.{edge.targetHandle ?? "in"}
      </p>
      <p className="shape-line">carries {shape ? formatShape(shape) : "—"}</p>
      <button onClick={() => useGraph.getState().deleteSelected()}>Delete connection</button>
    </div>
  );
}

export function Inspector() {
  // One selected node (a stable object), or how many are selected: never a fresh array (it would re-render forever).
  const picked = useGraph((s) => {
    let count = 0;
    let one: LayerNode | null = null;
    for (const n of s.nodes) {
      if (!n.selected) continue;
      count++;
      one = n;
    }
    return count === 1 && one ? one : count;
  });
  const node = typeof picked === "number" ? null : picked;
  const spec = useCatalog((s) => (node ? s.layers[node.data.type] : undefined));
  const info = useGraph((s) => (node ? s.validation?.nodes[node.id] : undefined));
  const errors = useGraph((s) => s.validation?.errors ?? NO_ERRORS);
  const warning = useGraph((s) => (node ? (s.validation?.warnings?.find((w) => w.node === node.id)?.message ?? null) : null));
  const [idText, setIdText] = useState(node?.id ?? "");
  const [idError, setIdError] = useState<string | null>(null);
  useEffect(() => {
    setIdText(node?.id ?? "");
    setIdError(null);
  }, [node?.id]);

  if (!node) {
    const count = typeof picked === "number" ? picked : 1;
    if (count === 0) {
      const edge = <SelectedEdge />;
      return (
        <>
          {edge}
          <div className="inspector empty" data-testid="inspector">
            <p className="muted">Select a node to edit its parameters.</p>
            <ul className="muted small tips">
              <li>Drag layers from the palette (or double-click one); connect an output handle to an input handle.</li>
              <li>Shift-drag or Ctrl+A selects several; Ctrl+C / Ctrl+V copy and paste; Delete removes.</li>
              <li>Ctrl+Z / Ctrl+Shift+Z undo and redo; Ctrl+S saves on the server.</li>
              <li>Shapes, parameter counts and errors update as you edit.</li>
            </ul>
          </div>
        </>
      );
    }
    return (
      <div className="inspector empty" data-testid="inspector">
        <p>{count} nodes selected.</p>
        <div className="row">
          <button onClick={() => useGraph.getState().copy()}>Copy</button>
          <button onClick={() => useGraph.getState().deleteSelected()}>Delete</button>
        </div>
      </div>
    );
  }
  if (node.data.type === BLOCK) return <BlockInspector node={node} />;
  const fieldErrors: Record<string, string> = {};
  for (const e of errors) if (e.node === node.id && e.field) fieldErrors[e.field] = e.message;
  const rename = () => setIdError(useGraph.getState().rename(node.id, idText));
  const outputs = Object.entries(info?.output_shapes ?? {});
  return (
    <div className="inspector" data-testid="inspector">
      <div className="inspector-head">
        <h2>{node.data.type}</h2>
        {spec && (
          <span className="category" style={{ color: categoryColor(spec.category) }}>
            {spec.category}
          </span>
        )}
      </div>
      {spec ? <Doc text={spec.doc} /> : <p className="node-error">'{node.data.type}' is not in this server's catalog.</p>}
      <label className={`field${idError ? " has-error" : ""}`}>
        <span className="field-name">id</span>
        <input
          value={idText}
          onChange={(e) => setIdText(e.target.value)}
          onBlur={rename}
          onKeyDown={(e) => e.key === "Enter" && rename()}
          data-testid="inspector-id"
        />
        {idError && <span className="field-error">{idError}</span>}
      </label>
      {info && (
        <div className="shape-line" data-testid="inspector-shape">
          {outputs.length > 1 ? (
            outputs.map(([port, shape]) => (
              <div key={port}>
                {port} <b>{shape ? formatShape(shape) : "—"}</b>
              </div>
            ))
          ) : (
            <>
              output <b>{info.output_shape ? formatShape(info.output_shape) : "—"}</b>
            </>
          )}
          {info.dtype && info.dtype !== "float32" ? <span className="muted"> {info.dtype}</span> : null}
          <span className="muted"> · {formatCount(info.params)} params</span>
        </div>
      )}
      {info?.error && (
        <p className="node-error" data-testid="inspector-error">
          {info.error}
        </p>
      )}
      {warning && !info?.error && <p className="node-warning">{warning}</p>}
      <FreezeToggle id={node.id} />
      <Ports id={node.id} />
      {spec && Object.keys(spec.params_schema.properties ?? {}).length > 0 && (
        <>
          <h3>Parameters</h3>
          <SchemaForm
            schema={spec.params_schema as JsonSchema}
            values={node.data.params}
            errors={fieldErrors}
            onChange={(params, field) => useGraph.getState().setParams(node.id, params, field)}
          />
          <TuneMarks id={node.id} schema={spec.params_schema as JsonSchema} params={node.data.params} />
        </>
      )}
    </div>
  );
}
