"""The Keras-style Python API: ``Model.from_json(path).summary()``, compile, fit, evaluate, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .graph import Graph
from .shapes import ValidationReport, validate_graph
from .summary import summary_table


class Model:
    """A NetCanvas graph with the Keras workflow around it."""

    def __init__(self, graph: Graph | dict[str, Any]):
        self.graph = graph if isinstance(graph, Graph) else Graph.model_validate(graph)

    @classmethod
    def from_json(cls, path: str | Path) -> Model:
        return cls(json.loads(Path(path).read_text()))

    def validate(self) -> ValidationReport:
        return validate_graph(self.graph)

    def summary(self, print_fn: Any = print) -> str:
        """Print (and return) the table of node, type, output shape and params."""
        text = summary_table(self.validate(), self.graph.name)
        if print_fn is not None:
            print_fn(text)
        return text
