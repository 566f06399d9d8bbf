"""A Keras-summary-like table of a validated graph."""

from __future__ import annotations

from .catalog import fmt_shape
from .shapes import ValidationReport


def summary_table(report: ValidationReport, title: str = "") -> str:
    """Node id, type, output shape, params; then the total and any problems."""
    rows = [(node_id, info.type, "-" if info.output_shape is None else fmt_shape(info.output_shape), f"{info.params:,}")
            for node_id, info in report.nodes.items()]
    headers = ("Node", "Type", "Output shape", "Params")
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "─" * (sum(widths) + 3 * (len(widths) - 1))

    def row(cells: tuple[str, ...]) -> str:
        padded = (c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "   ".join(padded)

    out = [f'Model: "{title}"'] if title else []
    out += [line, row(headers), line, *(row(r) for r in rows), line, f"Total params: {report.total_params:,}"]
    for w in report.warnings:
        out.append(f"warning: {w.message}")
    for e in report.errors:
        out.append(f"error: {e.message}")
    return "\n".join(out)
