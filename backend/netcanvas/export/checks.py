"""The rules every export check applies: finite weights, and outputs that agree with the PyTorch model.

An export passes when, at every check run, each output has the model's shape, holds only
finite values no larger than ``OUTPUT_LIMIT`` in magnitude, and every element is within
``ATOL + RTOL * |PyTorch value|`` of the model's with no difference above ``MAX_ABS_DIFF``.
The two ceilings catch a model whose training diverged: with outputs near 1e24 the relative
rule alone would accept a difference of 1e20, and an exact copy of such a model is no use.
"""

from __future__ import annotations

import numpy as np
import torch

from ..compiler import CompiledGraph

RTOL, ATOL = 1e-4, 1e-5
MAX_ABS_DIFF = 1.0
OUTPUT_LIMIT = 1e12
_DIVERGED = "training has probably diverged (retrain with a lower learning rate, or stop earlier)"


class ExportError(ValueError):
    """An export failed; ``node`` names the layer at fault when it is known."""

    def __init__(self, message: str, node: str | None = None):
        super().__init__(message)
        self.node = node


def require_finite_weights(compiled: CompiledGraph) -> None:
    """An ExportError naming every node whose weights (or buffers) hold NaN or an infinity."""
    bad = []
    for node_id, attr in compiled.module_names.items():
        module = getattr(compiled.module, attr, None)
        if not isinstance(module, torch.nn.Module):
            continue
        tensors = [*module.parameters(), *module.buffers()]
        if any(t.is_floating_point() and not bool(torch.isfinite(t).all()) for t in tensors):
            bad.append(node_id)
    if bad:
        names = ", ".join(f"{compiled.node_types.get(n, 'layer')} '{n}'" for n in bad)
        raise ExportError(f"cannot export: the weights of {names} are not finite (NaN or infinite); {_DIVERGED}",
                          bad[0])


def agree(name: str, expected: np.ndarray | torch.Tensor, got: np.ndarray | torch.Tensor, label: str,
          what: str = "the export") -> tuple[float, float]:
    """Max abs and rel differences of output ``name`` at check run ``label``; an ExportError (saying why) when
    ``got`` (from ``what``) and ``expected`` (from PyTorch) differ in shape, are not finite or do not agree."""
    want = _numpy(expected)
    have = _numpy(got)
    if want.shape != have.shape:
        raise ExportError(f"output '{name}': {what} returned shape {list(have.shape)}, PyTorch {list(want.shape)} "
                          f"(at {label})")
    for source, values in (("PyTorch", want), (what, have)):
        if not np.isfinite(values).all():
            raise ExportError(f"output '{name}' of {source} holds NaN or infinite values at {label}; "
                              f"{_DIVERGED}")
    largest = float(np.abs(want).max(initial=0.0))
    if largest > OUTPUT_LIMIT:
        raise ExportError(f"output '{name}' of the model reaches {largest:.3g} at {label} (more than "
                          f"{OUTPUT_LIMIT:g}); {_DIVERGED}")
    diff = np.abs(want - have)
    max_abs = float(diff.max(initial=0.0))
    max_rel = float((diff / (np.abs(want) + 1e-6)).max(initial=0.0))
    if not bool(np.all(diff <= ATOL + RTOL * np.abs(want))):
        raise ExportError(f"output '{name}': {what} disagrees with PyTorch at {label} (max abs diff {max_abs:.3g}, "
                          f"allowed {ATOL:g} + {RTOL:g} x |value|)")
    if max_abs > MAX_ABS_DIFF:
        raise ExportError(f"output '{name}': {what} differs from PyTorch by {max_abs:.3g} at {label} (more than "
                          f"{MAX_ABS_DIFF:g}) on outputs as large as {largest:.3g}; {_DIVERGED}")
    return max_abs, max_rel


def _numpy(values: np.ndarray | torch.Tensor) -> np.ndarray:
    array = values.detach().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    return array.astype(np.float64)
