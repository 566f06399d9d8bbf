"""A GAN config checked against its graph before a run starts (training/gan.py does the same in the worker)."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, TypeVar

from fastapi import HTTPException

from ..catalog import TensorSpec
from ..shapes import ValidationReport
from ..training.config import GanSpec
from ..training.gan import GanError, part_graphs, shape_problem


class Signature(Protocol):
    @property
    def inputs(self) -> dict[str, TensorSpec]: ...


S = TypeVar("S", bound=Signature)


def gan_data_signature(graph: dict[str, Any], report: ValidationReport, spec: GanSpec, sig: S) -> S:
    """What the dataset binds for a GAN: the discriminator's image Input, and no targets. A GanError naming the
    field (``generator`` or ``discriminator``) and the node when the parts are unknown, overlap, or do not fit
    together."""
    cut = part_graphs(graph, spec)

    def shape_of(node: str) -> list[int | None] | None:
        info = report.nodes.get(node)
        return info.output_shape if info is not None else None

    def dtype_of(node: str) -> str | None:
        info = report.nodes.get(node)
        return info.dtype if info is not None else None

    if problem := shape_problem(cut, spec, shape_of, dtype_of):
        raise problem
    return dataclasses.replace(sig, input_names=[cut.images], inputs={cut.images: sig.inputs[cut.images]},  # type: ignore[type-var]
                               output_names=[], outputs={}, output_nodes={})


def gan_signature(graph: dict[str, Any], report: ValidationReport, spec: GanSpec, sig: S) -> S:
    """``gan_data_signature``, or a 422 at ``config.gan.<field>`` naming the node."""
    try:
        return gan_data_signature(graph, report, spec, sig)
    except GanError as e:
        raise HTTPException(422, detail=[{"loc": ["body", "config", "gan", e.field], "msg": str(e),
                                          "type": "config", "node": e.node}]) from None
