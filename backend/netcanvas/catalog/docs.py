"""The layer reference (docs/layers.md), written from the registry: ``python -m netcanvas.catalog.docs``.

Every layer's doc string, ports and params (type, bounds, default, description) come from its
declaration, so the reference cannot drift from the code; a test checks the committed file is current.
"""

from __future__ import annotations

import json
from typing import Any

from . import CATEGORIES, REGISTRY
from .registry import LayerSpec, Port

HEADER = """\
<!-- Generated from the layer registry by `python -m netcanvas.catalog.docs > docs/layers.md`: do not edit. -->
# Layer catalog

Every layer type a graph node may have, by category. Each is declared once in
`backend/netcanvas/catalog/`; `GET /api/catalog` serves the same information (with each
layer's params as a JSON Schema), and the web app's palette and inspector forms are made
from it.

How to read it:

- **Shapes** never include the batch axis: `[1, 28, 28]` is one image; `?` (`null` in
  JSON) is a dynamic axis such as a sequence length.
- **Input sizes are inferred.** `Linear` has `out_features` only, `Conv2d` has
  `out_channels` only: `in_features`, `in_channels`, `normalized_shape` and the like come
  from the shape arriving at the node.
- **Params** left out of a node take their defaults; a param outside its bounds, of the
  wrong type or unknown to the layer is an error naming the node and the field.
- **Ports**: an edge goes from a `source_port` (default `out`) to a `target_port` (default
  `in`). A port marked *many* takes any number of edges, in the order of the graph's
  `edges` (the operand order); an *optional* port may stay unconnected.
- **Axis params** (`Flatten.start_dim`, `Mean.dim`, `Concat.dim`, `Softmax.dim`) count
  like PyTorch, where the batch axis is 0.

See [graph-format.md](graph-format.md) for the graph JSON these nodes live in.
"""


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _range(schema: dict[str, Any]) -> str:
    """`` in [1, 4096]``, `` in (0, 64]``, `` ≥ 1``; empty when unbounded."""
    low = next(((k, schema[k]) for k in ("minimum", "exclusiveMinimum") if k in schema), None)
    high = next(((k, schema[k]) for k in ("maximum", "exclusiveMaximum") if k in schema), None)
    if low and high:
        left, right = "[" if low[0] == "minimum" else "(", "]" if high[0] == "maximum" else ")"
        return f" in {left}{_number(low[1])}, {_number(high[1])}{right}"
    if low:
        return f" {'≥' if low[0] == 'minimum' else '>'} {_number(low[1])}"
    if high:
        return f" {'≤' if high[0] == 'maximum' else '<'} {_number(high[1])}"
    return ""


_NAMES = {"integer": "int", "number": "float", "boolean": "bool", "string": "str", "null": "null"}


def type_text(schema: dict[str, Any]) -> str:
    """A JSON Schema as a short type: ``int in [1, 4096] | [int, int], each in [1, 4096]``, ``"same" | "valid"``."""
    if "anyOf" in schema:
        return " | ".join(type_text(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    kind = schema.get("type")
    if kind == "array" and "prefixItems" in schema:
        items = schema["prefixItems"]
        ranges = {_range(s) for s in items}
        if len(ranges) == 1 and all(s.get("type") in _NAMES for s in items):
            shared = ranges.pop()
            return "[" + ", ".join(_NAMES[s["type"]] for s in items) + "]" + (f", each{shared}" if shared else "")
        return "[" + ", ".join(type_text(s) for s in items) + "]"
    if kind == "array":
        items = type_text(schema.get("items", {}))
        items = f"({items})" if " | " in items else items
        if "maxItems" in schema:
            count = f"{schema['minItems']} to {schema['maxItems']}" if "minItems" in schema else \
                f"up to {schema['maxItems']}"
            return f"list of {items}, {count} items"
        return f"list of {items}"
    return _NAMES.get(str(kind), "any") + _range(schema)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _port(port: Port) -> str:
    notes = [n for n, on in (("many", port.variadic), ("optional", port.optional)) if on]
    text = f"`{port.name}`" + (f" ({', '.join(notes)})" if notes else "")
    return text + (f": {port.doc}" if port.doc else "")


def layer_section(spec: LayerSpec) -> str:
    lines = [f"### {spec.type_name}", "", spec.doc, ""]
    inputs = "; ".join(_port(p) for p in spec.inputs) or "none"
    outputs = "; ".join(_port(p) for p in spec.outputs) or "none"
    lines += [f"Input ports: {inputs}. Output ports: {outputs}.", ""]
    properties: dict[str, Any] = spec.params.model_json_schema().get("properties", {})
    if not properties:
        lines += ["No params.", ""]
        return "\n".join(lines)
    lines += ["| param | type | default | description |", "|---|---|---|---|"]
    for name, prop in properties.items():
        default = f"`{json.dumps(prop['default'])}`" if "default" in prop else "required"
        cells = [f"`{name}`", type_text(prop), default, prop.get("description", "")]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join([*lines, ""])


def layers_markdown() -> str:
    """docs/layers.md: an index by category, then one section per layer type."""
    categories = [*CATEGORIES, *sorted({s.category for s in REGISTRY.values()} - set(CATEGORIES))]
    by_category = {c: [s for s in REGISTRY.values() if s.category == c] for c in categories}
    out = [HEADER, f"{len(REGISTRY)} layer types:", "", "| category | layers |", "|---|---|"]
    for category, specs in by_category.items():
        links = ", ".join(f"[`{s.type_name}`](#{s.type_name.lower()})" for s in specs)
        out.append(f"| {category} | {links} |")
    out.append("")
    for category, specs in by_category.items():
        out += [f"## {category}", ""]
        out += [layer_section(spec) for spec in specs]
    return "\n".join(out).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(layers_markdown(), end="")
