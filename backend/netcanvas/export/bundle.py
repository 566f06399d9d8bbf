"""A model bundle: one zip with the ONNX file, the graph, the weights, the PyTorch code and a model card."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

from ..artifacts import Preprocessing, RunInfo
from ..compiler import CompiledGraph
from .preprocess_code import literal, preprocessing_table
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


def _preprocessing_text(recipe: dict[str, Any]) -> str:
    """What the model's preprocess() does for one input, as Markdown for a table cell."""
    kind = recipe["kind"]
    if kind == "standardize":
        mean, std = recipe["mean"], recipe["std"]
        if isinstance(mean, float) and isinstance(std, float):
            return f"standardize: (x - {mean:.6g}) / {std:.6g}"
        return "standardize: (x - mean) / std, with `mean` and `std` of this input in `preprocessing.json`"
    if kind == "scale":
        return f"scale: x / {recipe['divide']:g} (raw values 0 to {recipe['divide']:g} become 0 to 1)"
    if kind == "image":
        colour = "grey" if recipe["channels"] == 1 else "RGB"
        return (f"images: converted to {colour}, resized to {recipe['size'][0]}x{recipe['size'][1]} (bilinear), "
                "pixel / 255 (0 to 1)")
    if kind == "text":
        return (f"text of column {md_code(recipe['column'], in_table=True)}: tokenized with the recorded tokenizer, "
                f"padded or cut to {recipe['length']} ids (0 = padding)")
    if kind in ("columns", "codes"):
        return "; ".join(_column_text(step) for step in recipe["steps"])
    return "none: the values as they are"


def _column_text(step: dict[str, Any]) -> str:
    name = md_code(step["column"], in_table=True)
    impute = step["impute"]
    missing = (f", missing -> {md_code(impute, in_table=True) if isinstance(impute, str) else f'{impute:.6g}'}"
               if impute is not None else "")
    op = step["op"]
    if op == "standardize":
        return f"{name}: (x - {step['mean']:.6g}) / {step['std']:.6g}{missing}"
    if op == "minmax":
        return f"{name}: (x - {step['min']:.6g}) / ({step['max']:.6g} - {step['min']:.6g}){missing}"
    if op == "onehot":
        return f"{name}: one-hot over {len(step['categories'] or [])} categories{missing}"
    if op == "codes":
        return f"{name}: integer code 1 to {len(step['categories'] or [])} (0 = unknown){missing}"
    return f"{name}: as it is{missing}"


def model_card(compiled: CompiledGraph, info: RunInfo, pre: Preprocessing, config: dict[str, Any],
               onnx_report: ExportReport) -> str:
    """README.md: what the model was trained on, its metrics, its inputs and outputs, how to run it."""
    name = compiled.graph.name.strip() or "model"
    dataset = (info.dataset or {}).get("name") or (info.dataset or {}).get("id") or pre.dataset
    lines = [f"# {md_text(name)}", "", "A neural network built and exported with NetCanvas. This bundle holds:", "",
             "- `model.onnx`: the model for ONNX Runtime (dynamic batch axis), checked against PyTorch",
             "- `model.py`: the model as plain PyTorch code; `weights.safetensors`: its weights (keys are node ids)",
             "- `graph.json`: the NetCanvas graph; `config.json`: the training config; "
             "`preprocessing.json`: the recorded preprocessing and class names (`preprocess()` in `model.py` "
             "applies it)", "",
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
    recipes = preprocessing_table(compiled, pre)
    lines += ["## Inputs", "", "| name | shape | dtype | preprocessing |", "|---|---|---|---|"]
    for input_name in compiled.input_names:
        spec = compiled.inputs[input_name]
        lines.append(f"| {md_code(input_name, in_table=True)} | {_shape(spec.shape)} | {spec.dtype} | "
                     f"{_preprocessing_text(recipes[input_name])} |")
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
    outputs = ", ".join(map(ascii, compiled.output_names))
    lines += ["", "## Run it with ONNX Runtime", "", "```python",
              "import json, numpy as np, onnxruntime as ort",
              'session = ort.InferenceSession("model.onnx")']
    if all(r["kind"] == "as_is" for r in recipes.values()):
        lines += [f"x = {_zeros(compiled, first)}  # your data, batch first",
                  "# no preprocessing: feed the raw values",
                  f"print(session.run(None, {{{feeds}}}))  # outputs: {outputs}"]
    elif recipes[first]["kind"] == "standardize" and len(recipes) == 1:
        lines += [f"x = {_zeros(compiled, first)}  # your data, batch first",
                  f'pre = json.load(open("preprocessing.json"))["inputs"][{ascii(first)}]; '
                  f'x = ((x - np.array(pre["mean"])) / np.array(pre["std"])).astype(np.float32)',
                  f"print(session.run(None, {{{feeds}}}))  # outputs: {outputs}"]
    elif recipes[first]["kind"] == "scale" and len(recipes) == 1:
        divide = recipes[first]["divide"]
        lines += [f"x = {_zeros(compiled, first)}  # your raw data (0 to {divide:g}), batch first",
                  f"x = (x / {divide!r}).astype(np.float32)  # the model was trained on 0 to 1",
                  f"print(session.run(None, {{{feeds}}}))  # outputs: {outputs}"]
    else:
        examples = {n: _raw_example(r) for n, r in recipes.items()}
        raw = examples[first] if len(examples) == 1 else \
            "{" + ", ".join(f"{ascii(n)}: {v}" for n, v in examples.items()) + "}"
        arrays = [n for n, r in recipes.items() if r["kind"] == "image"]
        tensors = ", ".join(f"{ascii(n)}: tensors[{i}].numpy()" for i, n in enumerate(compiled.input_names))
        lines += ["from model import preprocess  # model.py of this bundle: the recorded preprocessing (needs torch)",
                  f"raw = {raw}  # your own rows, texts or images" + (" (zeros here)" if arrays else ""),
                  "tensors = preprocess(raw)",
                  f"print(session.run(None, {{{tensors}}}))  # outputs: {outputs}"]
    lines += ["```", "", "## How the export was checked", "",
              f"onnx.checker (full check), then ONNX Runtime against PyTorch: {', '.join(onnx_report.checked)}. "
              f"Largest difference {onnx_report.max_abs_diff or 0:.2g} (relative {onnx_report.max_rel_diff or 0:.2g}), "
              f"ONNX opset {onnx_report.opset}.", ""]
    return "\n".join(lines)


def _raw_example(recipe: dict[str, Any]) -> str:
    """Python for one raw sample in the card's snippet: a row with a plain value per column (names and categories
    as literals), a text, or a black image."""
    kind = recipe["kind"]
    if kind in ("columns", "codes"):
        row = {s["column"]: (s["categories"] or [""])[0] if s["op"] in ("onehot", "codes")
               else s["mean"] if s["mean"] is not None else s["min"] if s["min"] is not None else 0.0
               for s in recipe["steps"]}
        return literal([row])
    if kind == "text":
        return literal(["a text to classify"])
    if kind == "image":
        shape = (*recipe["size"], 3) if recipe["channels"] == 3 else tuple(recipe["size"])
        return f"[np.zeros({shape!r}, np.uint8)]"
    return "[0.0]"


def write_bundle(path: str | Path, files: dict[str, Path], texts: dict[str, str]) -> list[str]:
    """A zip of ``files`` (name in the zip -> file) and ``texts`` (name -> content); returns the names."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, file in files.items():
            zf.write(file, name)
        for name, text in texts.items():
            zf.writestr(name, text)
    return [*files, *texts]
