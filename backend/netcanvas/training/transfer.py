"""Transfer learning: start from another run's weights, matched by node id and shape, and freeze nodes.

A node's weights are loaded when the source has tensors for that node id with the same names and
shapes; a node whose tensors differ (another width, another layer type) is *mismatched* and keeps
its fresh initial weights, as does a node the source does not have. A *frozen* node takes no
gradient step (its parameters leave the optimizer) and runs in inference mode while the others
train, so a BatchNorm keeps the running statistics it was loaded with and a Dropout inside it is off.
Loaded nodes that are not frozen are fine-tuned at ``lr * lr_scale``; fresh ones at ``lr``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..compiler import CompiledGraph
from .config import Init

WEIGHT_FILES = ("best.safetensors", "last.safetensors")
"""What a run directory offers to start from, in order of preference (the best weights are what it exports)."""


@dataclass
class Mismatch:
    node: str
    reason: str


@dataclass
class Matched:
    """What loading a source's weights into a graph did, node by node."""

    loaded: list[str] = field(default_factory=list)
    """Nodes whose every tensor came from the source."""
    mismatched: list[Mismatch] = field(default_factory=list)
    """Nodes the source has with other tensor names or shapes: they keep their initial weights."""
    fresh: list[str] = field(default_factory=list)
    """Nodes with weights that the source does not have."""


def weights_file(ref: str | Path, runs_dir: Path | None = None) -> Path:
    """The weights file ``ref`` names: a run id among the directories of ``runs_dir`` (the server's layout), a
    run directory (its best weights, else its last) or a ``.safetensors`` file. Raises ValueError saying why not."""
    text = str(ref)
    if runs_dir is not None and text and "/" not in text and "\\" not in text and text not in (".", ".."):
        candidate = runs_dir / text
        if candidate.is_dir():
            return _in_run_dir(candidate, text)
    path = Path(ref)
    if path.is_dir():
        return _in_run_dir(path, text)
    if path.is_file():
        return path
    raise ValueError(f"no run or weights file '{text}'")


def _in_run_dir(path: Path, name: str) -> Path:
    for file_name in WEIGHT_FILES:
        if (path / file_name).is_file():
            return path / file_name
    raise ValueError(f"run '{name}' has no weights (it saved no best.safetensors or last.safetensors)")


def _by_node(keys: Collection[str], ids: list[str]) -> dict[str, dict[str, str]]:
    """Tensor keys grouped by the node id they start with (ids may contain dots: the longest match wins)."""
    longest_first = sorted(ids, key=len, reverse=True)
    grouped: dict[str, dict[str, str]] = {}
    for key in keys:
        node_id = next((i for i in longest_first if key.startswith(i + ".")), None)
        if node_id is not None:
            grouped.setdefault(node_id, {})[key[len(node_id) + 1:]] = key
    return grouped


def _shape(t: torch.Tensor) -> str:
    return "×".join(str(d) for d in t.shape) or "scalar"


def match_weights(compiled: CompiledGraph, source: dict[str, torch.Tensor]) -> Matched:
    """Load the tensors of ``source`` (keys ``node_id.tensor``) into the nodes of ``compiled`` whose tensors all
    have the same names and shapes; report every node's fate. The module is changed in place."""
    result = Matched()
    module = compiled.module
    own: dict[str, dict[str, torch.Tensor]] = {}
    for node_id, attr in compiled.module_names.items():
        sub = getattr(module, attr, None)
        if isinstance(sub, nn.Module) and (state := sub.state_dict()):
            own[node_id] = state
    theirs = _by_node(source, list(own))
    for node_id, tensors in own.items():
        given = theirs.get(node_id)
        if given is None:
            result.fresh.append(node_id)
            continue
        if set(given) != set(tensors):
            missing, extra = sorted(set(tensors) - set(given)), sorted(set(given) - set(tensors))
            what = (f"this node has {', '.join(missing)} that the run does not" if missing else
                    f"the run has {', '.join(extra)} that this node does not")
            result.mismatched.append(Mismatch(node_id, f"other tensors: {what}"))
            continue
        differs = [name for name in tensors if tensors[name].shape != source[given[name]].shape]
        if differs:
            name = differs[0]
            result.mismatched.append(Mismatch(node_id, f"{name} is {_shape(tensors[name])} here but "
                                                       f"{_shape(source[given[name]])} in the run"))
            continue
        attr = compiled.module_names[node_id]
        getattr(module, attr).load_state_dict({name: source[key] for name, key in given.items()})
        result.loaded.append(node_id)
    return result


def check_freeze(init: Init | None, node_ids: Collection[str]) -> None:
    """Every frozen id must be a node of the graph: raises ValueError naming ``config.init.freeze[i]``."""
    for i, node_id in enumerate(init.freeze if init else []):
        if node_id not in node_ids:
            raise ValueError(f"config.init.freeze[{i}]: the graph has no node '{node_id}'")


def frozen_modules(compiled: CompiledGraph, init: Init | None) -> list[nn.Module]:
    """The modules of the frozen nodes (nodes without a module, such as Inputs, have nothing to freeze)."""
    check_freeze(init, set(compiled.module_names) | set(compiled.node_types))
    if init is None:
        return []
    modules = []
    for node_id in init.freeze:
        attr = compiled.module_names.get(node_id)
        sub = getattr(compiled.module, attr, None) if attr is not None else None
        if isinstance(sub, nn.Module):
            modules.append(sub)
    return modules


@contextlib.contextmanager
def frozen(compiled: CompiledGraph, init: Init | None) -> Iterator[list[nn.Module]]:
    """Within: the frozen nodes' parameters need no gradient. Afterwards they are trainable again (the weights
    stay as they are): freezing belongs to one training, not to the model."""
    modules = frozen_modules(compiled, init)
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield modules
    finally:
        for p in params:
            p.requires_grad_(True)


def hold_inference_mode(modules: list[nn.Module]) -> None:
    """After ``model.train()``: the frozen modules back in eval mode (BatchNorm statistics do not move)."""
    for m in modules:
        m.eval()


def parameter_groups(compiled: CompiledGraph, init: Init | None, loaded: Collection[str],
                     lr: float) -> list[dict[str, Any]]:
    """The optimizer's parameter groups: the trainable parameters of fresh nodes at ``lr``, then those of loaded
    nodes at ``lr * init.lr_scale`` (one group when the scale is 1). Frozen parameters are left out.
    Raises ValueError when nothing is left to train."""
    scale = init.lr_scale if init is not None else 1.0
    attr_to_id = {attr: node_id for node_id, attr in compiled.module_names.items()}
    fresh: list[nn.Parameter] = []
    gentle: list[nn.Parameter] = []
    for name, p in compiled.module.named_parameters():
        if not p.requires_grad:
            continue
        node_id = attr_to_id.get(name.split(".", 1)[0])
        (gentle if scale != 1.0 and node_id in loaded else fresh).append(p)
    groups = [{"params": group, "lr": rate} for group, rate in ((fresh, lr), (gentle, lr * scale)) if group]
    if not groups:
        raise ValueError("config.init.freeze: every node with weights is frozen, so there is nothing to train")
    return groups
