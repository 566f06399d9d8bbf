"""The golden graphs under tests/fixtures/graphs, and inputs that fit them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from netcanvas.export.onnx import example_inputs

GRAPHS_DIR = Path(__file__).parent / "fixtures" / "graphs"
GOLDEN = sorted(p.stem for p in GRAPHS_DIR.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads((GRAPHS_DIR / f"{name}.json").read_text())


def inputs_for(compiled: Any, batch: int = 3, length: int = 11, seed: int = 0) -> list[torch.Tensor]:
    """Random inputs of the right shapes and dtypes (token ids 0 or 1), dynamic axes of size ``length``."""
    return example_inputs(compiled, batch, length, seed)
