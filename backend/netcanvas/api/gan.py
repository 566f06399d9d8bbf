"""A GAN config checked against its graph before a run starts (training/gan.py does the same in the worker)."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from ..shapes import ValidationReport
from ..training.config import GanSpec
from ..training.gan import GanError, part_graphs, shape_problem
from .preflight import GraphSignature


def _unprocessable(error: GanError) -> HTTPException:
    return HTTPException(422, detail=[{"loc": ["body", "config", "gan", error.field], "msg": str(error),
                                       "type": "config", "node": error.node}])


def gan_signature(graph: dict[str, Any], report: ValidationReport, spec: GanSpec,
                  sig: GraphSignature) -> GraphSignature:
    """What the dataset binds for a GAN: the discriminator's image Input, and no targets. A 422 naming the field
    (``config.gan.generator`` or ``config.gan.discriminator``) and the node when the parts are unknown, overlap,
    or do not fit together."""
    try:
        cut = part_graphs(graph, spec)
    except GanError as e:
        raise _unprocessable(e) from None

    def shape_of(node: str) -> list[int | None] | None:
        info = report.nodes.get(node)
        return info.output_shape if info is not None else None

    def dtype_of(node: str) -> str | None:
        info = report.nodes.get(node)
        return info.dtype if info is not None else None

    if problem := shape_problem(cut, spec, shape_of, dtype_of):
        raise _unprocessable(problem)
    return GraphSignature(input_names=[cut.images], output_names=[], inputs={cut.images: sig.inputs[cut.images]},
                          outputs={}, output_nodes={})
