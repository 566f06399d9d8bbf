"""TorchScript: a file that loads with plain ``torch.jit.load``, checked against the model it came from."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import torch

from ..compiler import CompiledGraph
from .checks import ExportError, agree
from .files import replacing
from .onnx import as_tuple, check_runs, example_inputs, usable_lengths
from .report import ExportReport


def export_torchscript(compiled: CompiledGraph, path: str | Path) -> ExportReport:
    """Trace the eval model, save it, load it back and compare it with the model at batch 1 and 7 (and two
    lengths of every dynamic axis, which the trace never saw); raise an ExportError if they differ."""
    started = time.perf_counter()
    path = Path(path)
    model = compiled.module.eval()
    lengths = usable_lengths(compiled)
    try:
        with replacing(path) as tmp, torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's "converting a tensor to a Python integer" notes
            traced = torch.jit.trace(model, tuple(example_inputs(compiled, 2, lengths[0])), check_trace=False)
            torch.jit.save(traced, str(tmp))
            loaded = torch.jit.load(str(tmp))
            checked, max_abs = [], 0.0
            for label, inputs in check_runs(compiled, lengths):
                for name, got, want in zip(compiled.output_names, as_tuple(loaded(*inputs)), as_tuple(model(*inputs)),
                                           strict=True):
                    max_abs = max(max_abs, agree(name, want, got, label, "TorchScript")[0])
                checked.append(label)
    except ExportError:
        raise
    except Exception as e:
        raise ExportError(f"TorchScript export failed: {str(e).splitlines()[0][:300]}") from e
    return ExportReport(format="torchscript", size_bytes=path.stat().st_size, checked=checked, max_abs_diff=max_abs,
                        seconds=round(time.perf_counter() - started, 3))
