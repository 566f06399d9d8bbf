"""Weights as safetensors keyed by node id (``"my layer.weight"``), never a pickled module."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .compiler import CompiledGraph


def node_state_dict(compiled: CompiledGraph, state: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """``state`` (default: the module's state_dict) with each module attribute replaced by its node id."""
    attr_to_id = {attr: node_id for node_id, attr in compiled.module_names.items()}
    out: dict[str, torch.Tensor] = {}
    for key, value in (compiled.module.state_dict() if state is None else state).items():
        attr, _, rest = key.partition(".")
        out[f"{attr_to_id.get(attr, attr)}.{rest}"] = value.detach().cpu().contiguous()
    return out


def to_module_keys(compiled: CompiledGraph, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Node-id keys back to module attribute keys (node ids may contain dots: longest match wins)."""
    ids = sorted(compiled.module_names, key=len, reverse=True)
    out: dict[str, torch.Tensor] = {}
    for key, value in tensors.items():
        node_id = next((i for i in ids if key.startswith(i + ".")), None)
        if node_id is None:
            raise KeyError(f"weight '{key}' belongs to no node of this graph")
        out[f"{compiled.module_names[node_id]}.{key[len(node_id) + 1:]}"] = value
    return out


def load_node_state_dict(compiled: CompiledGraph, tensors: dict[str, torch.Tensor]) -> None:
    missing, unexpected = compiled.module.load_state_dict(to_module_keys(compiled, tensors), strict=False)
    if missing or unexpected:
        raise ValueError(f"weights do not fit the graph: missing {missing[:5]}, unexpected {unexpected[:5]}")


def save_weights(compiled: CompiledGraph, path: str | Path) -> None:
    save_file(node_state_dict(compiled), str(path))


def load_weights(compiled: CompiledGraph, path: str | Path) -> None:
    load_node_state_dict(compiled, load_file(str(path)))
