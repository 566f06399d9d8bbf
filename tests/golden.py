"""The golden graphs under tests/fixtures/graphs, and inputs that fit them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

GRAPHS_DIR = Path(__file__).parent / "fixtures" / "graphs"
GOLDEN = sorted(p.stem for p in GRAPHS_DIR.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads((GRAPHS_DIR / f"{name}.json").read_text())


def inputs_for(compiled: Any, batch: int = 3, length: int = 11, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for name in compiled.input_names:
        spec = compiled.inputs[name]
        shape = (batch, *(length if s is None else s for s in spec.shape))
        if spec.dtype == "int64":
            out.append(torch.randint(0, 8, shape, generator=gen))
        else:
            out.append(torch.randn(shape, generator=gen))
    return out
