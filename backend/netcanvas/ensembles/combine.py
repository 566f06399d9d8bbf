"""The combined model of an ensemble: one ``torch.fx`` module holding every member's layers.

Each member's fx graph is copied into one graph with its layers renamed ``m<i>_<attr>`` (so the module is as
flat as a compiled graph, and the ONNX exporter's recurrent-layer translation reaches every member), all members
read the same placeholders, and each Output's member values are combined:

- ``classes`` (a (sparse) categorical cross-entropy output of shape ``[K]``): each member's class
  probabilities (whatever its final activation); bagging averages them, boosting takes SAMME's weighted vote
  and turns it into probabilities as scikit-learn's ``AdaBoostClassifier.predict_proba`` does
  (``softmax(votes / (sum of weights * (K - 1)))``), stacking feeds the log of the mean probabilities to the
  meta-learner's logistic regression. The result ends in a ``Softmax`` layer fed by scores (the log of the
  mean for bagging), so the ensemble is scored, exported and served like any graph ending in ``Softmax``.
- ``binary`` (binary cross-entropy): the mean of the members' probabilities, through a ``Sigmoid`` layer.
- ``values`` (regression): the mean of the members' values; stacking applies the meta-learner's ridge
  regression to it.
"""

from __future__ import annotations

import operator
from typing import Any, Literal

import torch
from pydantic import BaseModel, Field
from torch import fx, nn

from ..compiler import CompiledGraph
from ..training import TrainConfig
from ..training.losses import CLASSIFICATION

Method = Literal["bagging", "boosting", "stacking"]
OutputKind = Literal["classes", "binary", "values"]
TINY = 1e-30
"""Probabilities are clamped to this before a log (a member may give a class exactly 0)."""
META_TINY = 1e-7
"""The stacking meta-learner reads log-probabilities clamped to this (as it was fit)."""


class Meta(BaseModel):
    """A stacking meta-learner for one output: ``scores = weight @ features + bias``."""

    weight: list[list[float]]
    bias: list[float]


class Combiner(BaseModel):
    """How the members' outputs become the ensemble's (stored with the ensemble)."""

    method: Method
    kinds: dict[str, OutputKind] = Field(description="Output name -> how its values are combined")
    weights: list[float] | None = Field(default=None, description="Boosting: each member's SAMME weight (alpha)")
    meta: dict[str, Meta] | None = Field(default=None, description="Stacking: the meta-learner per output")


def output_kinds(compiled: CompiledGraph, config: TrainConfig) -> dict[str, OutputKind]:
    """Each Output's kind, from its loss: class scores, binary probabilities or values."""
    kinds: dict[str, OutputKind] = {}
    for name in compiled.output_names:
        loss = config.loss_for(name, compiled.output_names).type
        kinds[name] = ("binary" if loss == "binary_crossentropy" else
                       "classes" if loss in CLASSIFICATION else "values")
    return kinds


class _Builder:
    """Writes the combined fx graph."""

    def __init__(self) -> None:
        self.root = nn.Module()
        self.graph = fx.Graph()

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> fx.Node:
        return self.graph.call_function(fn, args, kwargs)

    def module(self, name: str, module: nn.Module, arg: fx.Node) -> fx.Node:
        self.root.add_module(name, module)
        return self.graph.call_module(name, (arg,))

    def mean(self, values: list[fx.Node]) -> fx.Node:
        if len(values) == 1:
            return values[0]
        return self.call(torch.mean, self.call(torch.stack, values, 0), 0)

    def probabilities(self, value: fx.Node, final: str | None, kind: OutputKind) -> fx.Node:
        """A member's probabilities from its output as its graph computes it."""
        if final == "LogSoftmax":
            return self.call(torch.exp, value)
        if final == "Softmax" or (final == "Sigmoid" and kind == "binary"):
            return value
        if kind == "binary":
            return self.call(torch.sigmoid, value)
        if final == "Sigmoid":  # several Sigmoid units under a cross-entropy: normalized, as the loss reads them
            return self.call(operator.truediv, value, self.call(torch.sum, value, -1, keepdim=True))
        return self.call(torch.softmax, value, -1)

    def log(self, value: fx.Node, floor: float) -> fx.Node:
        return self.call(torch.log, self.call(torch.clamp, value, min=floor))


def _copy_member(builder: _Builder, index: int, member: CompiledGraph, inputs: list[fx.Node]) -> list[fx.Node]:
    """Copy a member's graph into the builder's, its layers renamed ``m<index>_<attr>``; its output nodes."""
    env: dict[fx.Node, fx.Node] = {}
    placeholders = iter(inputs)
    outputs: list[fx.Node] = []
    for node in member.module.graph.nodes:
        if node.op == "placeholder":
            env[node] = next(placeholders)
        elif node.op == "output":
            result = node.args[0]
            outputs = [env[v] for v in (result if isinstance(result, tuple) else (result,))]
        else:
            copied = builder.graph.node_copy(node, lambda n: env[n])
            if node.op in ("call_module", "get_attr"):
                target = f"m{index}_{node.target}"
                if not hasattr(builder.root, target):
                    owner = member.module.get_submodule(node.target) if node.op == "call_module" else None
                    if owner is not None:
                        builder.root.add_module(target, owner)
                    else:
                        setattr(builder.root, target, getattr(member.module, str(node.target)))
                copied.target = target
            env[node] = copied
    return outputs


def combine(members: list[CompiledGraph], combiner: Combiner) -> CompiledGraph:
    """The ensemble as one compiled graph (sharing the members' modules and weights), in eval mode."""
    if not members:
        raise ValueError("an ensemble needs at least one member")
    first = members[0]
    builder = _Builder()
    inputs = [builder.graph.placeholder(first.module_names[name]) for name in first.input_names]
    per_member = [_copy_member(builder, i, m, inputs) for i, m in enumerate(members)]
    module_names = {name: first.module_names[name] for name in first.input_names}
    node_types: dict[str, str] = {}
    for i, member in enumerate(members):
        for node_id, attr in member.module_names.items():
            if node_id not in member.input_names:
                module_names[f"member {i} {node_id}"] = f"m{i}_{attr}"
                node_types[f"member {i} {node_id}"] = member.node_types.get(node_id, "layer")
    results: list[fx.Node] = []
    final: dict[str, str | None] = {}
    final_dim: dict[str, int] = {}
    for k, name in enumerate(first.output_names):
        kind = combiner.kinds[name]
        values = [outs[k] for outs in per_member]
        if kind == "values":
            mean = builder.mean(values)
            meta = combiner.meta.get(name) if combiner.meta else None
            results.append(builder.module(f"meta_{k}", _linear(meta), mean) if meta is not None else mean)
            final[name] = None
            continue
        probs = [builder.probabilities(v, m.final_activation.get(name), kind) for v, m in zip(values, members,
                                                                                               strict=True)]
        if kind == "binary":
            mean = builder.mean(probs)
            scores = builder.call(operator.sub, builder.log(mean, TINY),
                                  builder.log(builder.call(operator.sub, 1.0, mean), TINY))
            results.append(builder.module(f"final_{k}", nn.Sigmoid(), scores))
            final[name] = "Sigmoid"
            continue
        if combiner.method == "boosting":
            scores = _samme(builder, probs, combiner.weights or [], int(first.outputs[name].shape[-1] or 2))
        elif combiner.method == "stacking" and combiner.meta and name in combiner.meta:
            features = builder.log(builder.mean(probs), META_TINY)
            scores = builder.module(f"meta_{k}", _linear(combiner.meta[name]), features)
        else:
            scores = builder.log(builder.mean(probs), TINY)
        results.append(builder.module(f"final_{k}", nn.Softmax(dim=-1), scores))
        final[name], final_dim[name] = "Softmax", -1
    builder.graph.output(results[0] if len(results) == 1 else tuple(results))
    module = fx.GraphModule(builder.root, builder.graph, class_name="Ensemble")
    module.eval()
    return CompiledGraph(graph=first.graph, module=module, input_names=list(first.input_names),
                         output_names=list(first.output_names), inputs=dict(first.inputs),
                         outputs=dict(first.outputs), module_names=module_names, final_activation=final,
                         final_activation_dim=final_dim, node_types=node_types)


def _samme(builder: _Builder, probs: list[fx.Node], weights: list[float], classes: int) -> fx.Node:
    """SAMME's weighted vote of the members' predicted classes, scaled as scikit-learn's predict_proba does."""
    if len(weights) != len(probs) or sum(weights) <= 0:
        raise ValueError("boosting needs one positive weight per member")
    votes: fx.Node | None = None
    for p, alpha in zip(probs, weights, strict=True):
        if alpha == 0:
            continue
        top = builder.call(torch.amax, p, -1, keepdim=True)
        chosen = builder.graph.call_method("float", (builder.call(torch.eq, p, top),))  # ties: each tied class
        hit = builder.call(operator.mul, chosen, alpha)
        votes = hit if votes is None else builder.call(operator.add, votes, hit)
    assert votes is not None
    return builder.call(operator.mul, votes, 1.0 / (sum(weights) * max(classes - 1, 1)))


def _linear(meta: Meta) -> nn.Linear:
    weight = torch.tensor(meta.weight, dtype=torch.float32)
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(torch.tensor(meta.bias, dtype=torch.float32))
    layer.requires_grad_(False)
    return layer
