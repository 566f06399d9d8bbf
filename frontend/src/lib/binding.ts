// How the server will bind the graph's Inputs and Outputs to a dataset's fields (docs/graph-format.md), shown before training:
// one Input and one input field bind automatically, likewise one Output and one target; otherwise by name.
import type { DatasetInfo } from "../api/client";
import { type LayerNode, outputName } from "./graph";
import { shapeParam, strParam } from "./params";

export type Bound = { name: string; kind: "Input" | "Output"; field: string | null; problem: string | null };

function fits(shape: (number | null)[], field: number[]): boolean {
  return shape.length === field.length && shape.every((d, i) => d === null || d === field[i]);
}

/** What binding reads of a dataset: its fields (a built-in one's, or an upload's for the chosen options). */
export type Fields = { fields: Pick<DatasetInfo["fields"][number], "name" | "role" | "shape" | "dtype">[] };

export function bindings(nodes: LayerNode[], dataset: Fields): Bound[] {
  const names = new Set(dataset.fields.map((f) => f.name));
  const inputs = nodes.filter((n) => n.data.type === "Input");
  const outputs = nodes.filter((n) => n.data.type === "Output");
  const inFields = dataset.fields.filter((f) => f.role === "input");
  const targets = dataset.fields.filter((f) => f.role === "target");
  const out: Bound[] = [];
  for (const n of inputs) {
    const field = names.has(n.id) ? n.id : inputs.length === 1 && inFields.length === 1 ? inFields[0].name : null;
    let problem = field ? null : `matches no field (${[...names].join(", ")}): rename the Input`;
    const spec = dataset.fields.find((f) => f.name === field);
    const shape = shapeParam(n, "shape", []);
    const dtype = strParam(n, "dtype", "float32");
    if (spec && (!fits(shape, spec.shape) || dtype !== spec.dtype)) {
      problem = `expects [${shape.map((d) => d ?? "?").join(", ")}] ${dtype}, the field is [${spec.shape.join(", ")}] ${spec.dtype}`;
    }
    out.push({ name: n.id, kind: "Input", field, problem });
  }
  for (const n of outputs) {
    const name = outputName(n);
    const field = names.has(name) ? name : outputs.length === 1 && targets.length === 1 ? targets[0].name : null;
    out.push({ name, kind: "Output", field, problem: field ? null : `matches no field (${[...names].join(", ")}): name the Output after a target` });
  }
  return out;
}
