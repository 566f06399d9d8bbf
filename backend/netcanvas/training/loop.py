"""The training loop: a pure function of (model, data, config, emit, should_stop).

It knows nothing of processes, sockets or SQL. In-memory tensors are batched by
``randperm`` indexing; losses and metrics accumulate on tensors and reach Python once
per event.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from ..compiler import CompiledGraph
from ..data import PreparedData
from ..shapes import torch_message
from .config import TrainConfig
from .events import BatchEvent, DoneEvent, EpochEvent, ErrorEvent, Event, LogEvent, StatusEvent
from .losses import CLASSIFICATION, LossFn, make_loss, probabilities
from .metrics import classification_metrics, regression_metrics
from .optim import make_optimizer, make_scheduler

BATCH_EVENTS_PER_SECOND = 10
EVAL_BATCH = 1024
Emit = Callable[[Event], None]


@dataclass
class TrainResult:
    status: str
    """completed | stopped | failed"""
    history: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    best_state: dict[str, torch.Tensor] | None = None
    last_state: dict[str, torch.Tensor] | None = None
    best_epoch: int | None = None
    error: str | None = None
    node: str | None = None


class TrainingError(RuntimeError):
    def __init__(self, message: str, node: str | None = None):
        super().__init__(message)
        self.node = node


@dataclass
class Head:
    """One output: its loss, weight, metrics and how to read probabilities from it."""

    name: str
    kind: str
    weight: float
    loss: LossFn
    metrics: list[str]
    final: str | None

    @property
    def classification(self) -> bool:
        return self.kind in CLASSIFICATION


def heads(compiled: CompiledGraph, config: TrainConfig) -> list[Head]:
    result = []
    for name in compiled.output_names:
        spec = config.loss_for(name, compiled.output_names)
        final = compiled.final_activation.get(name)
        result.append(Head(name, spec.type, spec.weight, make_loss(spec.type, final), config.metrics_for(name), final))
    return result


def as_tuple(out: Any) -> tuple[torch.Tensor, ...]:
    return out if isinstance(out, tuple) else (out,)


def regularized(model: nn.Module) -> list[nn.Parameter]:
    """Weights that L1/L2 penalize: matrices and kernels, never biases or normalization params."""
    return [p for n, p in model.named_parameters() if p.dim() > 1 and p.requires_grad and not n.endswith("bias")]


class _Locator(fx.Interpreter):
    """Re-runs a failing batch node by node to name the node that raised."""

    def run_node(self, n: fx.Node) -> Any:
        self.current = n
        return super().run_node(n)


def locate_failure(compiled: CompiledGraph, inputs: list[torch.Tensor], error: Exception) -> TrainingError:
    locator = _Locator(compiled.module)
    try:
        with torch.no_grad():
            locator.run(*inputs)
    except Exception as e:
        node = getattr(locator, "current", None)
        if node is not None and node.op == "call_module":
            node_id = compiled.node_of_module(str(node.target))
            kind = compiled.node_types.get(node_id, "")
            return TrainingError(f"{kind} '{node_id}': {torch_message(e)}", node_id)
    return TrainingError(torch_message(error))


def _slice(split: dict[str, torch.Tensor], idx: torch.Tensor | slice) -> dict[str, torch.Tensor]:
    return {k: v[idx] for k, v in split.items()}


class Evaluator:
    """Loss and metrics of a model over a split (or over accumulated training outputs)."""

    def __init__(self, compiled: CompiledGraph, data: PreparedData, config: TrainConfig):
        self.compiled, self.data, self.config = compiled, data, config
        self.heads = heads(compiled, config)

    def loss(self, outs: tuple[torch.Tensor, ...], targets: dict[str, torch.Tensor]) -> torch.Tensor:
        total: torch.Tensor | None = None
        for head, out in zip(self.heads, outs, strict=True):
            try:
                part = head.loss(out, targets[head.name])
                part = part if head.weight == 1.0 else head.weight * part
                total = part if total is None else total + part
            except (ValueError, RuntimeError, IndexError) as e:
                raise TrainingError(f"{head.kind} loss of output '{head.name}': {torch_message(e)}") from e
        assert total is not None
        return total

    def metrics(self, outs: list[tuple[torch.Tensor, ...]], targets: dict[str, torch.Tensor],
                prefix: str = "") -> dict[str, float]:
        result: dict[str, float] = {}
        multi = len(self.heads) > 1
        total = 0.0
        for i, head in enumerate(self.heads):
            out = torch.cat([o[i] for o in outs])
            y = targets[head.name]
            head_loss = float(head.loss(out, y))
            total += head.weight * head_loss
            name = f"{head.name}_" if multi else ""
            if multi:
                result[f"{prefix}{name}loss"] = head_loss
            if head.classification:
                probs = probabilities(out, head.kind, head.final)
                binary = head.kind == "binary_crossentropy" or probs.shape[-1] == 1
                values = classification_metrics([m for m in head.metrics if m not in ("mse", "mae")], probs, y, binary)
                one_hot = torch.nn.functional.one_hot(y.long(), probs.shape[-1]) if not binary else y
                values.update(regression_metrics([m for m in head.metrics if m in ("mse", "mae")], probs, one_hot))
            else:
                values = regression_metrics(head.metrics, out, y)
            result.update({f"{prefix}{name}{k}": v for k, v in values.items()})
        result = {f"{prefix}loss": total, **result}
        return result

    def evaluate(self, split: dict[str, torch.Tensor], prefix: str = "") -> dict[str, float]:
        model = self.compiled.module
        model.eval()
        n = len(next(iter(split.values())))
        outs = []
        with torch.no_grad():
            for start in range(0, n, EVAL_BATCH):
                part = _slice(split, slice(start, start + EVAL_BATCH))
                outs.append(tuple(o.detach() for o in as_tuple(model(*self.data.inputs(part)))))
        return self.metrics(outs, self.data.targets(split), prefix)


def monitor_mode(monitor: str, mode: str) -> str:
    if mode != "auto":
        return mode
    return "max" if any(k in monitor for k in ("accuracy", "precision", "recall", "f1", "auc")) else "min"


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train(compiled: CompiledGraph, data: PreparedData, config: TrainConfig, emit: Emit,
          should_stop: Callable[[], bool] = lambda: False) -> TrainResult:
    """Train ``compiled.module`` in place; emit events; return the outcome (never raises on bad training)."""
    torch.set_num_threads(config.num_threads)
    model = compiled.module
    result = TrainResult(status="running")
    try:
        evaluator = Evaluator(compiled, data, config)
        _loop(compiled, data, config, emit, should_stop, evaluator, result)
    except TrainingError as e:
        result.status, result.error, result.node = "failed", str(e), e.node
    except (ValueError, KeyError) as e:
        result.status, result.error = "failed", str(e).strip("'\"")
    result.last_state = _clone_state(model)
    if result.best_state is None:
        result.best_state = result.last_state
    if result.status == "failed":
        emit(ErrorEvent(message=result.error or "training failed", node=result.node))
    elif data.test is not None:
        result.test_metrics = evaluator.evaluate(data.test, "test_")
    emit(DoneEvent(status=result.status, metrics=result.metrics, test_metrics=result.test_metrics,  # type: ignore[arg-type]
                   best_epoch=result.best_epoch))
    return result


def _loop(compiled: CompiledGraph, data: PreparedData, config: TrainConfig, emit: Emit,
          should_stop: Callable[[], bool], evaluator: Evaluator, result: TrainResult) -> None:
    model = compiled.module
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = make_optimizer(config.optimizer, model.parameters())
    scheduler = make_scheduler(config.schedule, optimizer, config.epochs)
    penalized = regularized(model)
    l1, l2 = config.regularization.l1, config.regularization.l2
    train_split = data.train
    train_inputs = data.inputs(train_split)
    train_targets = data.targets(train_split)
    n = len(next(iter(train_split.values())))
    steps = max(1, math.ceil(n / config.batch_size))
    has_val = data.val is not None
    stopping = config.early_stopping
    monitor = stopping.monitor if stopping else ("val_loss" if has_val else "loss")
    if not has_val and monitor.startswith("val_"):
        emit(LogEvent(level="warning",
                      message=f"no validation split: monitoring '{monitor[4:]}' instead of '{monitor}'"))
        monitor = monitor[4:]
    mode = monitor_mode(monitor, stopping.mode if stopping else "auto")
    best_value, waited = math.inf if mode == "min" else -math.inf, 0
    emit(StatusEvent(status="running"))
    emit(LogEvent(message=f"training on {n} samples, validating on "
                          f"{len(next(iter(data.val.values()))) if data.val else 0}, {steps} steps per epoch"))
    last_batch_event = 0.0
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator) if config.shuffle else torch.arange(n)
        outs: list[tuple[torch.Tensor, ...]] = []
        seen: list[torch.Tensor] = []
        for step in range(steps):
            if should_stop():
                result.status = "stopped"
                emit(LogEvent(message=f"stopped during epoch {epoch}"))
                return
            idx = order[step * config.batch_size:(step + 1) * config.batch_size]
            inputs = [t[idx] for t in train_inputs]
            try:
                out = as_tuple(model(*inputs))
                loss = evaluator.loss(out, {name: t[idx] for name, t in train_targets.items()})
            except (RuntimeError, ValueError, IndexError) as e:
                raise locate_failure(compiled, inputs, e) from e
            if l1:
                loss = loss + l1 * sum(p.abs().sum() for p in penalized)
            if l2:
                loss = loss + l2 * sum((p * p).sum() for p in penalized)
            value = loss.item()  # one sync per step (a CPU read), reused for the batch event
            if not math.isfinite(value):
                raise TrainingError(f"the loss became {value} at epoch {epoch}, step {step + 1}; "
                                    "try a lower learning rate, gradient clipping or normalized inputs")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            outs.append(tuple(o.detach() for o in out))
            seen.append(idx)
            now = time.perf_counter()
            if now - last_batch_event >= 1 / BATCH_EVENTS_PER_SECOND:
                last_batch_event = now
                emit(BatchEvent(epoch=epoch, step=step + 1, steps=steps, loss=value))
        metrics = evaluator.metrics(outs, data.targets(_slice(train_split, torch.cat(seen))))
        if data.val is not None:
            metrics.update(evaluator.evaluate(data.val, "val_"))
        lr = optimizer.param_groups[0]["lr"]
        seconds = time.perf_counter() - started
        result.history.append({"epoch": epoch, "metrics": metrics, "lr": lr, "seconds": seconds})
        result.metrics = metrics
        emit(EpochEvent(epoch=epoch, epochs=config.epochs, metrics=metrics, lr=lr, seconds=seconds))
        if monitor not in metrics:
            raise TrainingError(f"early stopping monitors '{monitor}', which is not a metric of this run "
                                f"(metrics: {', '.join(metrics)})")
        value = metrics[monitor]
        delta = stopping.min_delta if stopping else 0.0
        improved = value < best_value - delta if mode == "min" else value > best_value + delta
        if improved or result.best_state is None:
            best_value, waited = value, 0
            result.best_state, result.best_epoch = _clone_state(model), epoch
        else:
            waited += 1
        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                watched = getattr(config.schedule, "monitor", monitor)
                scheduler.step(metrics.get(watched, metrics["loss"]))
            else:
                scheduler.step()
        if stopping and waited > stopping.patience:
            emit(LogEvent(message=f"early stopping at epoch {epoch}: '{monitor}' has not improved for "
                                  f"{waited} epochs (best {best_value:.4g} at epoch {result.best_epoch})"))
            break
    if stopping and stopping.restore_best_weights and result.best_state is not None:
        model.load_state_dict(result.best_state)
    result.status = "completed"
