"""Why the model predicted what it did for one sample: captum's saliency, integrated gradients, KernelSHAP and
LIME, and the attention maps of every attention layer.

Attributions are of one Output's score for one ``target`` (a class, or an element of a regression output;
by default the predicted class): the class probability for a classification output of one class vector per
sample, the raw value otherwise. Every Input gets an array shaped like itself:

- float inputs (images, table rows, series) are attributed directly; perturbation methods (KernelSHAP, LIME)
  switch groups of features between the sample and a zero baseline (a table's zero is its training mean): each
  column of a table, each step of a sequence, square patches of an image (at most 8 × 8 of them);
- int64 token inputs cannot carry gradients: gradient methods attribute the output of the Embedding they feed
  and sum over its features, one value per token; perturbation methods replace tokens by padding (id 0).

Heavy methods report progress and stop when asked: every forward pass counts, and ``should_stop`` is checked
before each. ``captum.attr`` takes seconds to import: it is imported on first use.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ..compiler import as_tuple
from ..export.predict import PredictError, model_array
from .rundata import InsightError, RunData, SplitName

Method = Literal["saliency", "integrated_gradients", "shap", "lime", "attention"]
HEAVY: frozenset[str] = frozenset({"integrated_gradients", "shap", "lime"})
DEFAULT_SAMPLES = 300
"""KernelSHAP and LIME evaluations: under a second for a digits CNN on 2 cores."""
DEFAULT_STEPS = 32
PERTURBATIONS_PER_EVAL = 25
PATCHES = 8
"""Perturbation methods split an image into at most PATCHES × PATCHES squares."""


class Cancelled(Exception):
    """The explanation was cancelled."""


@dataclass
class Progress:
    """Counts forward passes against the expected number; stops the work when asked."""

    expected: int
    report: Callable[[float], None] = lambda fraction: None
    should_stop: Callable[[], bool] = lambda: False
    done: int = 0

    def tick(self) -> None:
        if self.should_stop():
            raise Cancelled()
        self.done += 1
        self.report(min(0.99, self.done / max(1, self.expected)))


@dataclass
class Request:
    method: Method
    sample: int | None = None
    inputs: dict[str, Any] | None = None
    split: SplitName = "test"
    output: str | None = None
    target: int | None = None
    n_samples: int = DEFAULT_SAMPLES
    steps: int = DEFAULT_STEPS


def chosen_inputs(rd: RunData, req: Request) -> list[torch.Tensor]:
    """One sample of every Input, as the model takes it (batch of one)."""
    names = rd.compiled.input_names
    if (req.sample is None) == (req.inputs is None):
        raise InsightError("give either sample (an index into the split) or inputs (one value per Input)", "sample")
    if req.sample is not None:
        data = rd.split(req.split)
        size = len(next(iter(data.values())))
        if not 0 <= req.sample < size:
            raise InsightError(f"sample {req.sample} is out of range: the {req.split} split has {size} samples "
                               f"(0–{size - 1})", "sample")
        return [data[rd.data.binding.inputs[n]][req.sample:req.sample + 1] for n in names]
    assert req.inputs is not None
    unknown = sorted(set(req.inputs) - set(names))
    missing = [n for n in names if n not in req.inputs]
    if unknown or missing:
        raise InsightError(f"inputs must be named {', '.join(repr(n) for n in names)}"
                           + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                           + (f"; missing: {', '.join(missing)}" if missing else ""), "inputs")
    tensors = []
    for name in names:
        try:
            arr, single = model_array(rd.data.preprocessing, name, req.inputs[name], rd.compiled.inputs[name])
        except PredictError as e:
            raise InsightError(str(e), f"inputs.{name}") from None
        if not single and len(arr) != 1:
            raise InsightError(f"input '{name}': give one sample, not a batch of {len(arr)}", f"inputs.{name}")
        tensors.append(torch.from_numpy(np.ascontiguousarray(arr)))
    return tensors


class Scorer:
    """The chosen Output's scores for a batch, flattened to [batch, K]: class probabilities for a classification
    output of one class vector per sample, else the values as the graph computes them."""

    def __init__(self, rd: RunData, output: str, progress: Progress):
        self.rd, self.progress = rd, progress
        self.index = rd.compiled.output_names.index(output)
        self.final = rd.compiled.final_activation.get(output)
        loss = rd.config.loss_for(output, rd.compiled.output_names).type
        self.classes = loss in ("binary_crossentropy", "categorical_crossentropy",
                                "sparse_categorical_crossentropy") and len(rd.compiled.outputs[output].shape) == 1
        self.binary = self.classes and loss == "binary_crossentropy" and rd.compiled.outputs[output].shape == (1,)

    def __call__(self, *tensors: torch.Tensor) -> torch.Tensor:
        self.progress.tick()
        out = as_tuple(self.rd.compiled.module(*tensors))[self.index]
        out = out.reshape(out.shape[0], -1)
        if not self.classes:
            return out
        if self.binary:
            p = out if self.final == "Sigmoid" else torch.sigmoid(out)
            return torch.cat([1 - p, p], dim=1)
        if self.final == "Softmax":
            return out
        if self.final == "LogSoftmax":
            return out.exp()
        return torch.softmax(out, dim=1)


def reordered(fn: Callable[..., torch.Tensor], order: list[int]) -> Callable[..., torch.Tensor]:
    """``fn`` taking its arguments in the order ``order`` lists (captum passes attributed inputs first)."""
    def call(*args: torch.Tensor) -> torch.Tensor:
        tensors: list[torch.Tensor] = [torch.empty(0)] * len(order)
        for position, value in zip(order, args, strict=True):
            tensors[position] = value
        return fn(*tensors)

    return call


def embedding_of(rd: RunData, input_name: str) -> nn.Module:
    """The Embedding layer an int64 Input feeds (gradients start there)."""
    targets = [e.target for e in rd.compiled.graph.edges if e.source == input_name]
    embeddings = [t for t in targets if rd.compiled.node_types.get(t) == "Embedding"]
    if len(embeddings) != 1 or len(targets) != 1:
        raise InsightError(f"input '{input_name}' holds token ids and does not feed exactly one Embedding layer: "
                           "gradient methods cannot attribute it; use shap or lime", "method")
    module: nn.Module = getattr(rd.compiled.module, rd.compiled.module_names[embeddings[0]])
    return module


def feature_mask(spec_shape: tuple[int, ...], start: int) -> tuple[torch.Tensor, int]:
    """Groups of features perturbation methods switch together (ids from ``start``), and how many there are."""
    if len(spec_shape) == 3:  # [channels, height, width]: square patches shared by all channels
        _, h, w = spec_shape
        size = max(1, math.ceil(max(h, w) / PATCHES))
        rows, cols = torch.arange(h) // size, torch.arange(w) // size
        ids = rows[:, None] * (int(cols.max()) + 1) + cols[None, :]
        mask = ids.expand(spec_shape[0], h, w)
    elif len(spec_shape) == 2:  # [time, features]: each step
        mask = torch.arange(spec_shape[0])[:, None].expand(spec_shape)
    else:
        mask = torch.arange(math.prod(spec_shape)).reshape(spec_shape)
    count = int(mask.max()) + 1 if mask.numel() else 0
    return (mask + start)[None].contiguous(), count


def attribute(rd: RunData, req: Request, tensors: list[torch.Tensor], scorer: Scorer,
              target: int) -> list[torch.Tensor]:
    """Attributions of every Input (shaped like it, no batch axis)."""
    from captum import attr as captum_attr

    floats = [i for i, t in enumerate(tensors) if t.is_floating_point()]
    ints = [i for i, t in enumerate(tensors) if not t.is_floating_point()]
    names = rd.compiled.input_names
    result: list[torch.Tensor] = [torch.zeros(t.shape[1:]) for t in tensors]
    if req.method in ("shap", "lime"):
        masks, start = [], 0
        for t in tensors:
            mask, count = feature_mask(tuple(t.shape[1:]), start)
            masks.append(mask)
            start += count
        explainer = (captum_attr.KernelShap(scorer) if req.method == "shap" else
                     captum_attr.Lime(scorer, similarity_func=captum_attr._core.lime.get_exp_kernel_similarity_function(
                         "euclidean")))
        found = explainer.attribute(tuple(tensors), baselines=tuple(torch.zeros_like(t) for t in tensors),
                                    target=target, feature_mask=tuple(masks), n_samples=req.n_samples,
                                    perturbations_per_eval=PERTURBATIONS_PER_EVAL)
        return [a[0].detach().float() for a in as_tuple(found)]
    if floats:
        fn = reordered(scorer, floats + ints)
        inputs = tuple(tensors[i].clone().requires_grad_(True) for i in floats)
        extra = tuple(tensors[i] for i in ints) or None
        if req.method == "saliency":
            grads = captum_attr.Saliency(fn).attribute(inputs, target=target, abs=False,
                                                       additional_forward_args=extra)
        else:
            grads = captum_attr.IntegratedGradients(fn).attribute(
                inputs, baselines=tuple(torch.zeros_like(t) for t in inputs), target=target,
                additional_forward_args=extra, n_steps=req.steps, internal_batch_size=steps_per_pass(req.steps))
        for i, g in zip(floats, as_tuple(grads), strict=True):
            result[i] = g[0].detach().float()
    if ints:
        layers = [embedding_of(rd, names[i]) for i in ints]
        layer_method: Any
        if req.method == "saliency":
            layer_method = captum_attr.LayerGradientXActivation(scorer, layers, multiply_by_inputs=False)
            found_layers = layer_method.attribute(tuple(tensors), target=target)
        else:
            layer_method = captum_attr.LayerIntegratedGradients(scorer, layers)
            baselines = tuple(torch.zeros_like(t) if not t.is_floating_point() else t for t in tensors)
            found_layers = layer_method.attribute(tuple(tensors), baselines=baselines, target=target,
                                                  n_steps=req.steps, internal_batch_size=steps_per_pass(req.steps))
        if not isinstance(found_layers, list):
            found_layers = [found_layers]
        for i, a in zip(ints, found_layers, strict=True):
            a = as_tuple(a)[0][0].detach().float()
            result[i] = a.norm(dim=-1) if req.method == "saliency" else a.sum(dim=-1)
    return result


def steps_per_pass(steps: int) -> int:
    return max(1, math.ceil(steps / 8))


def expected_passes(req: Request, floats: bool, ints: bool) -> int:
    if req.method in ("shap", "lime"):
        return math.ceil(req.n_samples / PERTURBATIONS_PER_EVAL) + 2
    if req.method == "integrated_gradients":
        per = math.ceil(req.steps / steps_per_pass(req.steps)) + 1
        return per * (int(floats) + int(ints))
    return int(floats) + int(ints) + 1


def attention_maps(rd: RunData, tensors: list[torch.Tensor], progress: Progress) -> list[dict[str, Any]]:
    """Per-head attention weights [heads, queries, keys] of every attention module, for one sample."""
    found: list[dict[str, Any]] = []
    hooks = []

    def watch(node: str, kind: str, part: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
            query = args[0] if args else kwargs["query"]
            key = args[1] if len(args) > 1 and args[1] is not None else kwargs.get("key", query)
            key = query if key is None else key
            value = args[2] if len(args) > 2 and args[2] is not None else kwargs.get("value", key)
            value = key if value is None else value
            masks = {k: kwargs[k] for k in ("key_padding_mask", "attn_mask", "is_causal") if k in kwargs}
            with torch.no_grad():
                _, weights = nn.MultiheadAttention.forward(module, query, key, value, need_weights=True,  # type: ignore[arg-type]
                                                           average_attn_weights=False, **masks)
            assert weights is not None
            w = weights[0].detach().float()
            found.append({"node": node, "type": kind, "part": part, "heads": w.tolist(),
                          "mean": w.mean(dim=0).tolist(), "queries": int(w.shape[1]), "keys": int(w.shape[2])})
        return hook

    for name, module in rd.compiled.module.named_modules():
        if not isinstance(module, nn.MultiheadAttention) or not name:
            continue
        attr, _, rest = name.partition(".")
        node = rd.compiled.node_of_module(attr)
        kind = rd.compiled.node_types.get(node, type(module).__name__)
        part = {"self_attn": "self-attention", "multihead_attn": "cross-attention"}.get(rest.split(".")[-1],
                                                                                       "attention")
        hooks.append(module.register_forward_hook(watch(node, kind, part), with_kwargs=True))
    if not hooks:
        raise InsightError("the graph has no MultiheadAttention or Transformer layer: there is no attention to "
                           "show; use saliency, integrated_gradients, shap or lime", "method")
    try:
        progress.tick()
        with torch.enable_grad():  # keeps Transformer layers off their fused inference path, which skips attention
            rd.compiled.module(*tensors)
    finally:
        for h in hooks:
            h.remove()
    return found


def explain(rd: RunData, req: Request, report: Callable[[float], None] = lambda f: None,
            should_stop: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """The explanation the request asks for; raises InsightError (naming the field) or Cancelled."""
    started = time.perf_counter()
    outputs = rd.compiled.output_names
    output = req.output if req.output is not None else outputs[0]
    if output not in outputs:
        raise InsightError(f"no output '{output}'; outputs: {', '.join(outputs)}", "output")
    tensors = chosen_inputs(rd, req)
    names = rd.compiled.input_names
    floats = any(t.is_floating_point() for t in tensors)
    ints = any(not t.is_floating_point() for t in tensors)
    progress = Progress(expected_passes(req, floats, ints) + 1, report, should_stop)
    scorer = Scorer(rd, output, progress)
    rd.compiled.module.eval()
    with torch.no_grad():
        scores = scorer(*tensors)[0]
    labels = rd.data.preprocessing.classes.get(output) or []
    result: dict[str, Any] = {"method": req.method, "output": output, "split": req.split, "sample": req.sample,
                              "inputs": {n: rd.view(n, t[0]) for n, t in zip(names, tensors, strict=True)}}
    if scorer.classes:
        order = torch.argsort(scores, descending=True)[:5]
        result["prediction"] = [{"class": int(c), "label": labels[c] if c < len(labels) else str(int(c)),
                                 "probability": float(scores[c])} for c in order]
    else:
        result["prediction"] = [{"index": i, "value": float(v)} for i, v in enumerate(scores[:16])]
    if req.method == "attention":
        maps = attention_maps(rd, tensors, progress)
        result["attention"] = maps
        result["attributions"] = {f"{m['node']}:{m['part']}" if sum(x["node"] == m["node"] for x in maps) > 1
                                  else m["node"]: m["mean"] for m in maps}
        result["seconds"] = time.perf_counter() - started
        return result
    size = len(scores)
    target = req.target if req.target is not None else (int(torch.argmax(scores)) if scorer.classes else 0)
    if not 0 <= target < size:
        what = f"{size} classes" if scorer.classes else f"{size} values per sample"
        raise InsightError(f"target {target} is out of range: output '{output}' has {what} (0–{size - 1})",
                           "target")
    result["target"] = target
    result["target_label"] = (labels[target] if target < len(labels) else str(target)) if scorer.classes else None
    found = attribute(rd, req, tensors, scorer, target)
    result["attributions"] = {n: a.tolist() for n, a in zip(names, found, strict=True)}
    result["seconds"] = time.perf_counter() - started
    return result
