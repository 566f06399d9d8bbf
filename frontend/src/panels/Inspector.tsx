// The selected node: its id (renames everywhere), its params as a generated form, its errors.
import { useEffect, useState } from "react";
import { formatCount, formatShape } from "../lib/graph";
import { useCatalog } from "../stores/catalog";
import { useGraph } from "../stores/graph";
import { type JsonSchema, SchemaForm } from "./SchemaForm";

const NO_ERRORS: never[] = [];

export function Inspector() {
  // One selected node (a stable object), or how many are selected: never a fresh array (it would re-render forever).
  const picked = useGraph((s) => {
    const sel = s.nodes.filter((n) => n.selected);
    return sel.length === 1 ? sel[0] : sel.length;
  });
  const node = typeof picked === "number" ? null : picked;
  const spec = useCatalog((s) => (node ? s.layers[node.data.type] : undefined));
  const info = useGraph((s) => (node ? s.validation?.nodes[node.id] : undefined));
  const errors = useGraph((s) => s.validation?.errors ?? NO_ERRORS);
  const [idText, setIdText] = useState(node?.id ?? "");
  const [idError, setIdError] = useState<string | null>(null);
  useEffect(() => {
    setIdText(node?.id ?? "");
    setIdError(null);
  }, [node?.id]);

  if (!node) {
    return (
      <div className="inspector empty" data-testid="inspector">
        <p className="muted">
          {typeof picked === "number" && picked > 1 ? `${picked} nodes selected.` : "Select a node to edit its parameters."}
        </p>
        <p className="muted small">
          Drag layers from the palette, connect an output handle (right) to an input handle (left). Ctrl+Z / Ctrl+Shift+Z
          undo and redo, Ctrl+C / Ctrl+V copy and paste, Delete removes.
        </p>
      </div>
    );
  }
  const fieldErrors: Record<string, string> = {};
  for (const e of errors) if (e.node === node.id && e.field) fieldErrors[e.field] = e.message;
  const rename = () => {
    const problem = useGraph.getState().rename(node.id, idText);
    setIdError(problem);
  };
  return (
    <div className="inspector" data-testid="inspector">
      <h2>{node.data.type}</h2>
      {spec && <p className="doc">{spec.doc}</p>}
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
        <p className="shape-line">
          output <b>{info.output_shape ? formatShape(info.output_shape) : "—"}</b>
          {info.dtype && info.dtype !== "float32" ? ` ${info.dtype}` : ""} · {formatCount(info.params)} params
        </p>
      )}
      {info?.error && (
        <p className="node-error" data-testid="inspector-error">
          {info.error}
        </p>
      )}
      {spec && (
        <SchemaForm
          schema={spec.params_schema as JsonSchema}
          values={node.data.params}
          errors={fieldErrors}
          onChange={(params, field) => useGraph.getState().setParams(node.id, params, field)}
        />
      )}
    </div>
  );
}
