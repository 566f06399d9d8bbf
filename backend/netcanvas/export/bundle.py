"""A model bundle: one zip with the ONNX file, the graph, the weights, the PyTorch code and a model card."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

from ..artifacts import Preprocessing, RunInfo
from ..compiler import CompiledGraph
from .report import ExportReport

_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character


def _one_line(value: object) -> str:
    """``value`` with every character that is not printable (line breaks of any kind included) as its escape."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(value))


def md_text(value: object) -> str:
    """``value`` as literal Markdown text on one line: every ASCII punctuation character is backslash-escaped, so
    no emphasis, link, HTML, code span or table cell can start or end inside it."""
    return _MD_PUNCTUATION.sub(r"\\\1", _one_line(value))


def md_code(value: object, in_table: bool = False) -> str:
    """``value`` as a Markdown code span on one line, fenced by more backticks than it holds; in a table, its
    ``|`` are escaped (GitHub splits cells on them even inside code)."""
    text = _one_line(value)
    if in_table:
        text = text.replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    if not text or text.startswith("`") or text.endswith("`"):
        text = f" {text} "
    return f"{fence}{text}{fence}"


def _shape(shape: tuple[int | None, ...]) -> str:
    return "[" + ", ".join(["batch", *("any" if s is None else str(s) for s in shape)]) + "]"


def _zeros(compiled: CompiledGraph, input_name: str) -> str:
    """Python for one sample of zeros of that input (dynamic axes of size 8)."""
    spec = compiled.inputs[input_name]
    shape = ", ".join(str(d) for d in (1, *(8 if s is None else s for s in spec.shape)))
    return f"np.zeros(({shape}), {'np.int64' if spec.dtype == 'int64' else 'np.float32'})"


def _preprocessing_text(pre: Preprocessing, name: str) -> str:
    std = pre.inputs.get(name)
    if std is None:
        return "none"
    if isinstance(std.mean, float) and isinstance(std.std, float):
        return f"standardize: (x - {std.mean:.6g}) / {std.std:.6g}"
    return "standardize: (x - mean) / std, with `mean` and `std` of this input in `preprocessing.json`"


def model_card(compiled: CompiledGraph, info: RunInfo, pre: Preprocessing, config: dict[str, Any],
               onnx_report: ExportReport) -> str:
    """README.md: what the model was trained on, its metrics, its inputs and outputs, how to run it."""
    name = compiled.graph.name.strip() or "model"
    dataset = (info.dataset or {}).get("name") or (info.dataset or {}).get("id") or pre.dataset
    lines = [f"# {md_text(name)}", "", "A neural network built and exported with NetCanvas. This bundle holds:", "",
             "- `model.onnx`: the model for ONNX Runtime (dynamic batch axis), checked against PyTorch",
             "- `model.py`: the model as plain PyTorch code; `weights.safetensors`: its weights (keys are node ids)",
             "- `graph.json`: the NetCanvas graph; `config.json`: the training config; "
             "`preprocessing.json`: input standardization and class names", "",
             "## Training", ""]
    if dataset:
        lines.append(f"- dataset: {md_code(dataset)}")
        if config:
            keys = ("epochs", "batch_size", "optimizer", "loss", "seed", "validation_split")
            lines += [f"- {k}: {md_code(json.dumps(config[k]))}" for k in keys if k in config]
    else:
        lines.append("- not trained: these are the graph's initial weights")
    lines.append("")
    metrics = {**info.metrics, **info.test_metrics}
    if metrics:
        lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| {md_text(k)} | {v:.4f} |" for k, v in metrics.items() if isinstance(v, int | float)]
        lines.append("")
    lines += ["## Inputs", "", "| name | shape | dtype | preprocessing |", "|---|---|---|---|"]
    for input_name in compiled.input_names:
        spec = compiled.inputs[input_name]
        lines.append(f"| {md_code(input_name, in_table=True)} | {_shape(spec.shape)} | {spec.dtype} | "
                     f"{_preprocessing_text(pre, input_name)} |")
    lines += ["", "## Outputs", "", "| name | shape | dtype | meaning |", "|---|---|---|---|"]
    for output_name in compiled.output_names:
        spec = compiled.outputs[output_name]
        classes = pre.classes.get(output_name)
        final = compiled.final_activation.get(output_name)
        if classes:
            kind = {"Softmax": "class probabilities", "LogSoftmax": "class log-probabilities",
                    "Sigmoid": "probability"}.get(final or "", "class scores (logits; softmax gives probabilities)")
            meaning = f"{kind} for: {', '.join(md_text(c) for c in classes)}"
        else:
            meaning = "values"
        lines.append(f"| {md_code(output_name, in_table=True)} | {_shape(spec.shape)} | {spec.dtype} | {meaning} |")
    first = compiled.input_names[0]
    # names enter the Python snippet as ascii() literals: valid Python, on one line, unable to end the code fence
    feeds = ", ".join(f"{ascii(n)}: x" if n == first else f"{ascii(n)}: {_zeros(compiled, n)}"
                      for n in compiled.input_names)
    standardize = first in pre.inputs
    lines += ["", "## Run it with ONNX Runtime", "", "```python",
              "import json, numpy as np, onnxruntime as ort",
              'session = ort.InferenceSession("model.onnx")',
              f"x = {_zeros(compiled, first)}  # your data, batch first",
              (f'pre = json.load(open("preprocessing.json"))["inputs"][{ascii(first)}]; '
               f'x = ((x - np.array(pre["mean"])) / np.array(pre["std"])).astype(np.float32)')
              if standardize else "# no preprocessing: feed the raw values",
              f"print(session.run(None, {{{feeds}}}))  # outputs: {', '.join(map(ascii, compiled.output_names))}",
              "```", "", "## How the export was checked", "",
              f"onnx.checker (full check), then ONNX Runtime against PyTorch: {', '.join(onnx_report.checked)}. "
              f"Largest difference {onnx_report.max_abs_diff or 0:.2g} (relative {onnx_report.max_rel_diff or 0:.2g}), "
              f"ONNX opset {onnx_report.opset}.", ""]
    return "\n".join(lines)


def write_bundle(path: str | Path, files: dict[str, Path], texts: dict[str, str]) -> list[str]:
    """A zip of ``files`` (name in the zip -> file) and ``texts`` (name -> content); returns the names."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, file in files.items():
            zf.write(file, name)
        for name, text in texts.items():
            zf.writestr(name, text)
    return [*files, *texts]
