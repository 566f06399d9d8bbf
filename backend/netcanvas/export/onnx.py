"""ONNX export with torch's dynamo exporter, proven by onnx.checker and ONNX Runtime.

Input and output names are the Input node ids and Output names; the batch axis and
every null axis of an Input shape are dynamic. An export is offered only after the
file passed the full checker and matched PyTorch in onnxruntime at batch sizes 1 and 7
and at two lengths of every dynamic axis (declared output shapes included): the exporter
can silently fix an axis declared dynamic, and only running the file at two sizes shows it.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import re
import threading
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stderr
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import fx, nn

from ..compiler import CompiledGraph, as_tuple
from .checks import ExportError, agree
from .files import replacing
from .recurrent import TRANSLATIONS, exportable
from .report import ExportReport

CHECK_BATCHES = (1, 7)
EXAMPLE_BATCH = 5
# Sizes tried for dynamic axes: the first the model accepts is traced (an unusual size, so that the
# tracer does not mistake it for a layer size), the next two are checked.
LENGTHS = (37, 9, 17, 23, 5, 13, 3, 65, 2)
_QUIET_LOGGERS = ("torch", "onnxscript", "onnx_ir")
# torch.export and the MHA fast-path switch are process-wide state: one trace at a time.
_TRACE_LOCK = threading.Lock()


def example_inputs(compiled: CompiledGraph, batch: int, length: int | Sequence[int],
                   seed: int = 0) -> list[torch.Tensor]:
    """Random inputs of the right shapes and dtypes (token ids 0 or 1). Dynamic axes have size ``length``;
    given several lengths, the k-th dynamic axis (inputs in order, then axes) takes ``length[k % len]``."""
    sizes = [length] if isinstance(length, int) else list(length)
    gen = torch.Generator().manual_seed(seed)
    out = []
    k = 0
    for name in compiled.input_names:
        spec = compiled.inputs[name]
        shape = [batch]
        for s in spec.shape:
            if s is None:
                s, k = sizes[k % len(sizes)], k + 1
            shape.append(s)
        if spec.dtype == "int64":
            out.append(torch.randint(0, 2, shape, generator=gen))
        else:
            out.append(torch.randn(shape, generator=gen))
    return out


def has_dynamic_axis(compiled: CompiledGraph) -> bool:
    return any(None in compiled.inputs[n].shape for n in compiled.input_names)


def check_runs(compiled: CompiledGraph, lengths: list[int]) -> list[tuple[str, list[torch.Tensor]]]:
    """The random inputs every format is checked with, labelled: batch 1 and 7, and where an axis is dynamic,
    two of its sizes (``lengths[1:3]``; ``lengths[0]`` is the one traced). With several dynamic axes, also
    one run where they differ (9 and 17 alternating), when the model accepts that: an exporter may have
    tied them together."""
    dynamic = has_dynamic_axis(compiled)
    checks = lengths[1:3] if dynamic else lengths[:1]
    cases = [(b, checks[0]) for b in CHECK_BATCHES] + [(CHECK_BATCHES[-1], n) for n in checks[1:]]
    runs = [(f"batch {b}" + (f", length {n}" if dynamic else ""), example_inputs(compiled, b, n, seed=b + n))
            for b, n in cases]
    axes = sum(s is None for n in compiled.input_names for s in compiled.inputs[n].shape)
    if axes > 1 and len(checks) > 1:
        mixed = example_inputs(compiled, CHECK_BATCHES[-1], checks, seed=1)
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compiled.module.eval()(*mixed)
        except Exception:  # the model needs its dynamic axes equal (e.g. it adds two sequences)
            return runs
        runs.append((f"batch {CHECK_BATCHES[-1]}, lengths {' and '.join(map(str, checks))} alternating", mixed))
    return runs


@contextmanager
def quiet_export() -> Iterator[None]:
    """One trace at a time, without the exporter's console chatter (failed attempts dump whole graphs) and
    without the attention fast path (it bakes the sequence length into reshapes)."""
    with _TRACE_LOCK:
        fastpath = torch.backends.mha.get_fastpath_enabled()
        names = [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in _QUIET_LOGGERS]
        loggers = [logging.getLogger(n) for n in {*names, *_QUIET_LOGGERS}]
        levels = [lg.level for lg in loggers]
        torch.backends.mha.set_fastpath_enabled(False)
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
        try:
            # torch.export prints a failed trace's partial graph straight to stderr
            with warnings.catch_warnings(), torch.no_grad(), redirect_stderr(io.StringIO()):
                warnings.simplefilter("ignore")
                yield
        finally:
            torch.backends.mha.set_fastpath_enabled(fastpath)
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)


def usable_lengths(compiled: CompiledGraph) -> list[int]:
    """Sizes of the dynamic axes that the model accepts, in the order of LENGTHS (at most three)."""
    if not has_dynamic_axis(compiled):
        return [1]
    fits: list[int] = []
    first_error: Exception | None = None
    model = compiled.module.eval()
    for length in LENGTHS:
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model(*example_inputs(compiled, 2, length))
        except Exception as e:  # a size this model rejects (e.g. longer than a positional encoding)
            first_error = first_error or e
            continue
        fits.append(length)
        if len(fits) == 3:
            break
    if len(fits) < 2:
        raise blame(compiled, first_error or RuntimeError("no size fits"),
                    f"the model runs at {'only ' + str(fits) if fits else 'none'} of the sizes {list(LENGTHS)} "
                    "of its dynamic axes; at least two are needed to prove an axis dynamic")
    return fits


# ---- naming the layer at fault ---------------------------------------------------------------------------------

def _module_nodes(compiled: CompiledGraph, exported: nn.Module | None = None) -> dict[int, str]:
    """id(module) -> node id, for the compiled model's layers and their export stand-ins."""
    out: dict[int, str] = {}
    for node_id, attr in compiled.module_names.items():
        module = getattr(compiled.module, attr, None)
        if isinstance(module, nn.Module):
            out[id(module)] = node_id
        stand_in = getattr(exported, attr, None) if exported is not None else None
        if isinstance(stand_in, nn.Module):
            out[id(stand_in)] = node_id
    return out


def _attr_node(compiled: CompiledGraph, path: str) -> str | None:
    """The node whose module attribute starts ``path`` ("L['self'].n1.layer" or "n1.layer" -> node of n1)."""
    path = re.sub(r"^L\['self'\]\.?", "", path)
    attr = path.split(".", 1)[0]
    return next((n for n, a in compiled.module_names.items() if a == attr and n not in compiled.input_names), None)


def _culprit(compiled: CompiledGraph, error: BaseException, exported: nn.Module | None) -> str | None:
    """The node whose module was running (or being translated) where ``error`` was raised."""
    modules = _module_nodes(compiled, exported)
    seen: set[int] = set()
    chain: list[BaseException] = []
    cur: BaseException | None = error
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    for exc in reversed(chain):  # innermost first
        for frame, _ in reversed(list(traceback.walk_tb(exc.__traceback__))):
            local = frame.f_locals
            owner = local.get("self")
            if owner is not None and id(owner) in modules:
                return modules[id(owner)]
            node = local.get("node")
            if isinstance(node, fx.Node):
                stack = node.meta.get("nn_module_stack") or {}
                for path, _kind in stack.values():
                    found = _attr_node(compiled, str(path))
                    if found:
                        return found
    return None


def _first_line(error: BaseException) -> str:
    """The innermost cause's first line, without terminal colours."""
    cur = error
    while cur.__cause__ is not None or cur.__context__ is not None:
        cur = cur.__cause__ or cur.__context__  # type: ignore[assignment]
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(cur))
    fixed = re.search(r"static shape of (\d+) for dimension inputs\['(.+?)'\]\.shape\[(\d+)\]", text)
    if fixed:
        size, name, axis = fixed.groups()
        what = "batch size" if axis == "0" else "length"
        return f"a layer treats the {what} of input '{name}' (axis {axis}, dynamic) as the constant {size}"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()] or [type(cur).__name__]
    line = f"{lines[0]} {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0]
    return line[:300]


def blame(compiled: CompiledGraph, error: BaseException, message: str | None = None,
          exported: nn.Module | None = None) -> ExportError:
    """An ExportError naming the node at fault when the traceback shows it."""
    node = _culprit(compiled, error, exported)
    text = message or _first_line(error)
    if node is None:
        return ExportError(f"ONNX export failed: {text}")
    kind = compiled.node_types.get(node, "layer")
    return ExportError(f"{kind} '{node}' could not be exported to ONNX: {text}", node)


def _scopes(proto: onnx.ModelProto, compiled: CompiledGraph) -> dict[str, str]:
    """ONNX node name -> NetCanvas node id, from the exporter's name scopes (then dropped: they triple the size)."""
    out: dict[str, str] = {}
    for node in proto.graph.node:
        props = {p.key: p.value for p in node.metadata_props}
        try:
            scopes = ast.literal_eval(props.get("pkg.torch.onnx.name_scopes", "[]"))
        except (ValueError, SyntaxError):
            scopes = []
        if len(scopes) > 1:
            found = _attr_node(compiled, str(scopes[1]))
            if found:
                out[node.name] = found
        del node.metadata_props[:]
    return out


# ---- export and check -----------------------------------------------------------------------------------------

def _trace(compiled: CompiledGraph, model: fx.GraphModule, length: int) -> onnx.ModelProto:
    dynamic_shapes = []
    for name in compiled.input_names:
        axes = {0: "batch"}
        for i, size in enumerate(compiled.inputs[name].shape):
            if size is None:  # named after the sanitized placeholder: torch wants identifiers, not node ids
                axes[i + 1] = f"{compiled.module_names[name]}_axis{i + 1}"
        dynamic_shapes.append(axes)
    example = tuple(example_inputs(compiled, EXAMPLE_BATCH, length))
    program = torch.onnx.export(model, example, dynamo=True, input_names=compiled.input_names,
                                output_names=compiled.output_names, dynamic_shapes=tuple(dynamic_shapes),
                                custom_translation_table=TRANSLATIONS, verbose=False)
    assert program is not None
    return program.model_proto


def declared_axes(proto: onnx.ModelProto) -> dict[str, list[str]]:
    """Input/output name -> each axis as the file declares it: a size ("8"), a name ("batch") or "?"."""
    out: dict[str, list[str]] = {}
    for value in [*proto.graph.input, *proto.graph.output]:
        out[value.name] = [d.dim_param or (str(d.dim_value) if d.HasField("dim_value") else "?")
                           for d in value.type.tensor_type.shape.dim]
    return out


def compare(name: str, expected: torch.Tensor, got: np.ndarray, declared: list[str],
            label: str) -> tuple[float, float]:
    """Max abs and rel differences; an ExportError when the values or the declared shape disagree."""
    max_abs, max_rel = agree(name, expected, got, label, "ONNX Runtime")
    fixed = [(i, int(d)) for i, d in enumerate(declared) if d.isdigit()]
    for axis, size in fixed:
        if got.shape[axis] != size:
            raise ExportError(f"output '{name}' is declared with axis {axis} of size {size} but has "
                              f"{got.shape[axis]}: the exporter fixed an axis that should be dynamic (at {label})")
    return max_abs, max_rel


def _check(compiled: CompiledGraph, path: Path, lengths: list[int], samples: list[np.ndarray] | None,
           scopes: dict[str, str]) -> tuple[list[str], float, float]:
    import onnxruntime as ort

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as e:
        raise ExportError(f"the ONNX file fails onnx.checker: {str(e).splitlines()[0][:300]}") from e
    declared = declared_axes(onnx.load(str(path), load_external_data=False))
    for name in compiled.input_names:
        wanted = [None, *compiled.inputs[name].shape]
        for axis, (want, have) in enumerate(zip(wanted, declared[name], strict=True)):
            if want is None and have.isdigit():
                raise ExportError(f"the exporter fixed axis {axis} of input '{name}' to {have} although it is "
                                  f"dynamic: a layer uses that {'batch size' if axis == 0 else 'length'} as a "
                                  "constant")
    options = ort.SessionOptions()
    options.log_severity_level = 4  # a failing run is reported as an ExportError, not also on the console
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    model = compiled.module.eval()
    runs = check_runs(compiled, lengths)
    if samples is not None:
        runs.append((f"{len(samples[0])} validation samples", [torch.from_numpy(s) for s in samples]))
    checked, max_abs, max_rel = [], 0.0, 0.0
    for label, inputs in runs:
        with torch.no_grad():
            expected = as_tuple(model(*inputs))
        feeds = {name: t.numpy() for name, t in zip(compiled.input_names, inputs, strict=True)}
        try:
            got = session.run(None, feeds)
        except Exception as e:
            text = str(e)
            onnx_node = re.search(r"Name:'([^']+)'", text)
            node = scopes.get(onnx_node.group(1)) if onnx_node else None
            where = f" in {compiled.node_types.get(node, 'layer')} '{node}'" if node else ""
            detail = text.split("Status Message:")[-1].strip().splitlines()[0][:300]
            raise ExportError(f"ONNX Runtime cannot run the export at {label}{where}: {detail}", node) from e
        for name, ours, theirs in zip(compiled.output_names, expected, got, strict=True):
            a, r = compare(name, ours, theirs, declared[name], label)
            max_abs, max_rel = max(max_abs, a), max(max_rel, r)
        checked.append(label)
    return checked, max_abs, max_rel


def export_onnx(compiled: CompiledGraph, path: str | Path, metadata: dict[str, Any] | None = None,
                samples: list[np.ndarray] | None = None) -> ExportReport:
    """Write ``path`` and prove it (full checker, then onnxruntime vs PyTorch), or raise an ExportError.

    ``samples``: real inputs (one array per Input, batch first) compared on top of the random ones.
    A failed export leaves no file at ``path``.
    """
    started = time.perf_counter()
    path = Path(path)
    with replacing(path) as tmp:
        model = exportable(compiled.module.eval())
        lengths = usable_lengths(compiled)
        with quiet_export():
            try:
                proto = _trace(compiled, model, lengths[0])
            except Exception as e:
                raise blame(compiled, e, exported=model) from None
        scopes = _scopes(proto, compiled)
        props = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
        onnx.helper.set_model_props(proto, props)
        onnx.save(proto, str(tmp))
        checked, max_abs, max_rel = _check(compiled, tmp, lengths, samples, scopes)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    return ExportReport(format="onnx", opset=opset, max_abs_diff=max_abs, max_rel_diff=max_rel, checked=checked,
                       dynamic_axes=declared_axes(proto), size_bytes=path.stat().st_size,
                       seconds=round(time.perf_counter() - started, 3))

