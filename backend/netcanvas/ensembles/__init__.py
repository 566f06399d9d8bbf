"""Ensembles of one graph and config: bagging, boosting (SAMME) and stacking over ordinary runs, combined into one
model that is scored, exported to ONNX and served like a run's (docs/ensembles.md)."""

from .combine import Combiner, Meta, Method, OutputKind, combine, output_kinds

__all__ = ["Combiner", "Meta", "Method", "OutputKind", "combine", "output_kinds"]
