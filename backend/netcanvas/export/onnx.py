"""ONNX export with torch's dynamo exporter, proven by onnx.checker and ONNX Runtime.

Input and output names are the Input node ids and Output names; the batch axis and
every null axis of an Input shape are dynamic. An export is offered only after the
file passed the full checker and matched PyTorch in onnxruntime at batch sizes 1 and 7
(and two lengths of every dynamic axis).
"""

from __future__ import annotations

import json
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from pydantic import BaseModel

from ..compiler import CompiledGraph

CHECK_BATCHES = (1, 7)
DYNAMIC_LENGTHS = (9, 17)
RTOL, ATOL = 1e-4, 1e-5
EXAMPLE_BATCH, EXAMPLE_LENGTH = 5, 37


class ExportError(ValueError):
    """An export failed; ``node`` names the layer at fault when it is known."""

    def __init__(self, message: str, node: str | None = None):
        super().__init__(message)
        self.node = node


class ExportCheck(BaseModel):
    format: str
    opset: int | None = None
    max_abs_diff: float
    max_rel_diff: float
    checked: list[str]
    """What was compared, e.g. "batch 7, x[1]=17", "12 validation samples"."""
    size_bytes: int
    seconds: float


def example_inputs(compiled: CompiledGraph, batch: int, length: int, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for name in compiled.input_names:
        spec = compiled.inputs[name]
        shape = (batch, *(length if s is None else s for s in spec.shape))
        if spec.dtype == "int64":
            out.append(torch.randint(0, 2, shape, generator=gen))
        else:
            out.append(torch.randn(shape, generator=gen))
    return out


@contextmanager
def without_fastpath() -> Iterator[None]:
    """Transformer layers' inference fast path bakes the sequence length into reshapes: export the plain path."""
    enabled = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(enabled)


def _as_tuple(out: Any) -> tuple[torch.Tensor, ...]:
    return out if isinstance(out, tuple) else (out,)


def blame(compiled: CompiledGraph, error: Exception) -> ExportError:
    """Name the node whose module the exporter's message mentions."""
    text = str(error)
    first = next((line for line in text.splitlines() if line.strip()), type(error).__name__)[:400]
    for node_id, attr in sorted(compiled.module_names.items(), key=lambda kv: -len(kv[1])):
        if re.search(rf"\b{re.escape(attr)}\b", text) and node_id not in compiled.input_names:
            kind = compiled.node_types.get(node_id, "layer")
            return ExportError(f"{kind} '{node_id}' could not be exported to ONNX: {first}", node_id)
    return ExportError(f"ONNX export failed: {first}")


def compare(expected: tuple[torch.Tensor, ...], got: list[np.ndarray]) -> tuple[float, float]:
    max_abs = max_rel = 0.0
    for e, g in zip(expected, got, strict=True):
        e_np = e.detach().numpy()
        if e_np.shape != g.shape:
            raise ExportError(f"ONNX Runtime returned shape {list(g.shape)}, PyTorch {list(e_np.shape)}")
        diff = np.abs(e_np.astype(np.float64) - g.astype(np.float64))
        max_abs = max(max_abs, float(diff.max(initial=0.0)))
        max_rel = max(max_rel, float((diff / (np.abs(e_np) + 1e-6)).max(initial=0.0)))
        if not np.allclose(g, e_np, rtol=RTOL, atol=ATOL):
            raise ExportError(f"ONNX Runtime disagrees with PyTorch (max abs diff {max_abs:.3g})")
    return max_abs, max_rel


def _write(compiled: CompiledGraph, path: Path, dynamo: bool) -> None:
    from torch.export import Dim

    model = compiled.module.eval()
    # Unusual sizes: an example axis equal to a layer size can get specialized to a constant by the tracer.
    example = tuple(example_inputs(compiled, EXAMPLE_BATCH, EXAMPLE_LENGTH))
    with warnings.catch_warnings(), torch.no_grad(), without_fastpath():
        warnings.simplefilter("ignore")
        if dynamo:
            batch = Dim("batch")
            dynamic_shapes = []
            for name in compiled.input_names:
                axes: dict[int, Any] = {0: batch}
                for i, size in enumerate(compiled.inputs[name].shape):
                    if size is None:
                        axes[i + 1] = Dim(f"{re.sub(r'[^A-Za-z0-9_]', '_', name)}_axis{i + 1}")
                dynamic_shapes.append(axes)
            program = torch.onnx.export(model, example, dynamo=True, input_names=compiled.input_names,
                                        output_names=compiled.output_names, dynamic_shapes=tuple(dynamic_shapes),
                                        verbose=False)
            assert program is not None
            program.save(str(path))
        else:  # the TorchScript-based exporter: keeps plain RNNs' sequence axis dynamic where dynamo does not
            axes_by_name: dict[str, dict[int, str]] = {}
            for name in compiled.input_names:
                axes_by_name[name] = {0: "batch", **{i + 1: f"{name}_axis{i + 1}"
                                                     for i, s in enumerate(compiled.inputs[name].shape) if s is None}}
            for name in compiled.output_names:
                axes_by_name[name] = {0: "batch"}
            torch.onnx.export(model, example, str(path), dynamo=False, input_names=compiled.input_names,
                              output_names=compiled.output_names, dynamic_axes=axes_by_name)


def _check(compiled: CompiledGraph, path: Path, samples: list[np.ndarray] | None) -> tuple[list[str], float, float]:
    import onnxruntime as ort

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as e:
        raise ExportError(f"the ONNX file fails onnx.checker: {str(e).splitlines()[0]}") from e
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model = compiled.module.eval()
    dynamic = any(None in compiled.inputs[n].shape for n in compiled.input_names)
    cases = [(b, DYNAMIC_LENGTHS[0]) for b in CHECK_BATCHES]
    if dynamic:
        cases += [(CHECK_BATCHES[-1], DYNAMIC_LENGTHS[1])]
    batches = [(f"batch {b}" + (f", dynamic axes={n}" if dynamic else ""), example_inputs(compiled, b, n, seed=b + n))
               for b, n in cases]
    if samples is not None:
        batches.append((f"{len(samples[0])} real samples", [torch.from_numpy(s) for s in samples]))
    checked, max_abs, max_rel = [], 0.0, 0.0
    for label, inputs in batches:
        with torch.no_grad():
            expected = _as_tuple(model(*inputs))
        feeds = {name: t.numpy() for name, t in zip(compiled.input_names, inputs, strict=True)}
        try:
            got = session.run(None, feeds)
        except Exception as e:
            raise ExportError(f"ONNX Runtime cannot run the export at {label}: {str(e).splitlines()[0][:300]}") from e
        a, r = compare(expected, got)
        max_abs, max_rel = max(max_abs, a), max(max_rel, r)
        checked.append(label)
    return checked, max_abs, max_rel


def export_onnx(compiled: CompiledGraph, path: str | Path, metadata: dict[str, Any] | None = None,
                samples: list[np.ndarray] | None = None) -> ExportCheck:
    """Write ``path`` and prove it: full checker, then onnxruntime vs PyTorch; else an ExportError."""
    started = time.perf_counter()
    path = Path(path)
    failure: ExportError | None = None
    for dynamo in (True, False):
        try:
            _write(compiled, path, dynamo)
        except Exception as e:
            failure = failure or blame(compiled, e)
            continue
        proto = onnx.load(str(path))
        props = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
        onnx.helper.set_model_props(proto, props)
        onnx.save(proto, str(path))
        try:
            checked, max_abs, max_rel = _check(compiled, path, samples)
        except ExportError as e:
            failure = failure or e
            continue
        opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
        return ExportCheck(format="onnx", opset=opset, max_abs_diff=max_abs, max_rel_diff=max_rel, checked=checked,
                           size_bytes=path.stat().st_size, seconds=time.perf_counter() - started)
    path.unlink(missing_ok=True)
    assert failure is not None
    raise failure
