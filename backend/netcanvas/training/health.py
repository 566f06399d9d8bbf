"""Per-layer health while training (docs/training-config.md, "Layer health"): sampled, cheap, per node.

Every ``every`` training steps (the first step included) one step is *probed*: forward hooks on each layer's
module record its output's mean and standard deviation (and, after a ReLU, the fraction of units that are 0 for
every sample of the batch), a tensor hook records the gradient that reaches the output, and after the optimizer
step each layer's weight gradient norm and update/weight ratio are read. Everything is reduced on the training
device and read back in one transfer; the other steps run untouched (no hooks are registered between probes).

Flags (one per node, the first that applies):

- ``dead``: at least ``DEAD_FRACTION`` of a ReLU's units are 0 for the whole batch, or a layer's output is constant;
- ``exploding``: the weight gradient norm is over ``EXPLODING_GRAD``, or one step changed the weights by more than
  ``EXPLODING_UPDATE`` of their norm (not judged on an adaptive optimizer's first step: see ``ADAPTIVE``);
- ``vanishing``: the weight gradient norm is under ``VANISHING_RATIO`` of the weight norm.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from ..compiler import CompiledGraph
from .events import HealthEvent, NodeHealth

DEAD_FRACTION = 0.5
EXPLODING_GRAD = 1e3
EXPLODING_UPDATE = 0.1
VANISHING_RATIO = 1e-6
CONSTANT_STD = 1e-7
RECTIFIERS = frozenset({"ReLU", "ReLU6"})
"""Layers whose units can die: their output is exactly 0 below a threshold."""
SKIPPED = frozenset({"Input", "Output"})
ADAPTIVE = frozenset({"adam", "adamw", "rmsprop", "adagrad", "adadelta"})
"""Optimizers that divide each weight's step by its gradient's own running scale: on their first step every weight
moves by about the learning rate whatever its gradient, so a small layer's update ratio is large (10-30 % with
Adam at lr 0.01 in a healthy run) and says nothing of the learning rate being too high. Later steps are judged."""


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, tuple | list):
        for item in value:
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


class _Layer:
    """One node's module and the values a probe records for it."""

    def __init__(self, node_id: str, kind: str, module: nn.Module):
        self.node_id, self.kind, self.module = node_id, kind, module
        self.params = [p for p in module.parameters() if p.requires_grad]
        self.stats: dict[str, torch.Tensor] = {}
        """0-d tensors: float32 values, and the integer count ``live``."""
        self.units = 0
        """A rectifier's units (per sample), which ``live`` counts the live ones of."""
        self.before: list[torch.Tensor] = []

    def record_output(self, output: torch.Tensor) -> None:
        values = output.detach().float()
        self.stats["mean"] = values.mean()  # (torch.std_mean is slower than the two on the CPU)
        self.stats["std"] = values.std() if values.numel() > 1 else torch.zeros((), device=values.device)
        if self.kind in RECTIFIERS and values.dim() > 0 and len(values) > 0:
            # a rectifier's output is never negative: a unit is 0 for the whole batch when its largest value is;
            # the units that are not are counted here, the dead fraction computed once read (two ops fewer)
            largest = values.reshape(len(values), -1).amax(0)
            self.units = largest.numel()
            self.stats["live"] = largest.count_nonzero()
        if output.requires_grad and not self.params:  # a layer without weights: the gradient at its output
            output.register_hook(self.record_gradient)

    def record_gradient(self, grad: torch.Tensor) -> None:
        self.stats["grad_norm"] = torch.linalg.vector_norm(grad.detach(), dtype=torch.float32)


class Probe:
    """One sampled step: started before the forward pass, finished after the optimizer step."""

    def __init__(self, layers: list[_Layer], top: nn.Module, epoch: int, step: int, steps: int,
                 grad_scale: float, judge_updates: bool = True):
        self.layers, self.epoch, self.step, self.steps = layers, epoch, step, steps
        self.grad_scale, self.judge_updates = grad_scale, judge_updates
        self.handles: list[RemovableHandle] = []
        for layer in layers:
            layer.stats = {}
            layer.before = [p.detach().clone() for p in layer.params]
            self.handles.append(layer.module.register_forward_hook(self._hook(layer)))
        # The hooks live for one forward pass only (also when it raises): other steps run without them.
        self.handles.append(top.register_forward_hook(lambda *_: self._unhook(), always_call=True))

    @staticmethod
    def _hook(layer: _Layer) -> Callable[[nn.Module, Any, Any], None]:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            tensor = _first_tensor(output)
            if tensor is not None and tensor.is_floating_point():
                layer.record_output(tensor)

        return hook

    def _unhook(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def finish(self) -> HealthEvent:
        """After the optimizer step: the weight gradients and updates, then every value read in one transfer.
        Each parameter's norms come from three multi-tensor norms (over all the probed parameters at once); a
        layer's norm is combined from its parameters' on the host."""
        self._unhook()
        weighted = [layer for layer in self.layers if layer.params]
        params = [p.detach() for layer in weighted for p in layer.params]
        before = [b for layer in weighted for b in layer.before]
        grads = [p.grad.detach() for layer in weighted for p in layer.params if p.grad is not None]
        norms: list[torch.Tensor] = []
        if params:
            norms += torch._foreach_norm(before, 2, dtype=torch.float32)
            norms += torch._foreach_norm(torch._foreach_sub(params, before), 2, dtype=torch.float32)
        if grads:
            norms += torch._foreach_norm(grads, 2, dtype=torch.float32)
        stats = [(layer, key, value) for layer in self.layers for key, value in layer.stats.items()]
        values = norms + [value for _, _, value in stats]  # all 0-d: stacked as float32 (the counts promoted)
        read = torch.stack(values).cpu().tolist() if values else []
        found: dict[str, dict[str, float]] = {}
        for (layer, key, _), value in zip(stats, read[len(norms):], strict=True):
            if key == "live":
                key, value = "dead", 1 - value / layer.units
            found.setdefault(layer.node_id, {})[key] = value
        count = len(params)
        weights, changes = iter(read[:count]), iter(read[count:2 * count])
        grad_norms = iter(read[2 * count:len(norms)])
        for layer in weighted:
            node = found.setdefault(layer.node_id, {})
            weight = _combined(next(weights) for _ in layer.params)
            node["weight_norm"] = weight
            node["update_ratio"] = _combined(next(changes) for _ in layer.params) / max(weight, 1e-12)
            present = sum(1 for p in layer.params if p.grad is not None)
            if present:
                node["grad_norm"] = _combined(next(grad_norms) for _ in range(present)) / self.grad_scale
            layer.before = []
        nodes = {layer.node_id: judge(layer.kind, found[layer.node_id], self.judge_updates)
                 for layer in self.layers if layer.node_id in found}
        return HealthEvent(epoch=self.epoch, step=self.step, steps=self.steps, nodes=nodes)


def _combined(norms: Iterable[float]) -> float:
    """The 2-norm of several tensors together, from each one's 2-norm."""
    return math.sqrt(sum(n * n for n in norms))


def judge(kind: str, stats: dict[str, float], judge_updates: bool = True) -> NodeHealth:
    """A node's values with its flag and one-line explanation, if one applies; ``judge_updates``: False where the
    update ratio is reported but flags nothing (an adaptive optimizer's first step)."""
    def get(key: str) -> float | None:
        value = stats.get(key)
        return value if value is not None and math.isfinite(value) else None

    grad, weight, ratio = get("grad_norm"), get("weight_norm"), get("update_ratio")
    dead, std = get("dead"), get("std")
    flag: str | None = None
    message: str | None = None
    if dead is not None and dead >= DEAD_FRACTION:
        flag, message = "dead", (f"{dead:.0%} of its units output 0 for every sample of the batch (dead ReLUs): "
                                 "try a lower learning rate, LeakyReLU, or normalization before it")
    elif std is not None and std < CONSTANT_STD and kind not in RECTIFIERS:
        flag, message = "dead", "its output is the same for every sample and unit: it passes no information on"
    elif ("grad_norm" in stats and grad is None) or (grad is not None and grad > EXPLODING_GRAD):
        flag, message = "exploding", (f"its weight gradient norm is {_number(stats['grad_norm'])} (exploding "
                                      "gradients): lower the learning rate, clip gradients or add normalization")
    elif judge_updates and ratio is not None and ratio > EXPLODING_UPDATE:
        flag, message = "exploding", (f"one step changed its weights by {ratio:.0%} of their norm (about 0.1 % is "
                                      "typical): lower the learning rate or clip gradients")
    elif grad is not None and weight and grad < VANISHING_RATIO * weight:
        flag, message = "vanishing", (f"its weight gradient norm is {grad:.1e}, under a millionth of its weights' "
                                      f"({weight:.2g}): the loss hardly reaches it (vanishing gradients); try "
                                      "ReLU-like activations, normalization or skip connections")
    return NodeHealth(mean=get("mean"), std=std, dead=dead, grad_norm=grad, update_ratio=ratio,
                      flag=flag, message=message)  # type: ignore[arg-type]


def _number(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else str(value)


class HealthMonitor:
    """Decides which steps are probed and knows each node's module; ``start`` returns a Probe or None."""

    def __init__(self, compiled: CompiledGraph, every: int, optimizer: str = "sgd"):
        self.every = every
        self.adaptive = optimizer in ADAPTIVE
        """The optimizer (its config ``type``) is adaptive: its first step's update ratios flag nothing."""
        self.count = 0
        self.layers: list[_Layer] = []
        seen: set[str] = set()
        for node_id, attr in compiled.module_names.items():
            kind = compiled.node_types.get(node_id, "")
            if kind in SKIPPED or attr in seen:  # a shared block's module is reported under its first node
                continue
            module = getattr(compiled.module, attr, None)
            if isinstance(module, nn.Module):
                seen.add(attr)
                self.layers.append(_Layer(node_id, kind, module))

    def start(self, top: nn.Module, epoch: int, step: int, steps: int,
              scaler: torch.amp.GradScaler | None = None) -> Probe | None:
        """Called before every step's forward pass with the module that runs it; probes every ``every``-th step
        (the first one too). ``scaler``: float16 training's loss scaler (the gradients it scales are unscaled)."""
        due = self.count % self.every == 0
        self.count += 1
        if not due or not self.layers:
            return None
        first = epoch == 1 and step == 1
        return Probe(self.layers, top, epoch, step, steps, scaler.get_scale() if scaler is not None else 1.0,
                     judge_updates=not (self.adaptive and first))
