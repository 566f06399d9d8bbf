"""The training loop: a pure function of (model, data, config, emit, should_stop).

It knows nothing of processes, sockets or SQL. In-memory tensors are shuffled by a ``randperm``
gathered once per epoch and sliced into batches (``GATHER_BYTES``); outputs accumulate as
tensors on the training device and metrics reach Python once per epoch; batch events are
throttled. On an accelerator the splits move there once (``devices.place``), the loss is read
only for an event (no host sync per step), and the module comes back to the CPU when training
ends: its weights, checkpoints and exports are CPU tensors. A convolutional model may train in
channels-last on the CPU (``layout.py``). ``evaluate`` and ``predict`` serve the same model afterwards.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import torch
from torch import fx, nn

from ..compiler import CompiledGraph, as_tuple
from ..data import PreparedData
from ..shapes import torch_message
from . import devices, layout
from .callbacks import BestTracker
from .config import TrainConfig
from .events import BatchEvent, Best, DoneEvent, EpochEvent, ErrorEvent, Event, LogEvent, Runtime, StatusEvent
from .health import HealthMonitor
from .losses import Head, LossFn, align, class_targets
from .metrics import classification_metrics, monitor_mode, regression_metrics
from .optimizers import implementation_of, make_optimizer, make_scheduler
from .pause import Pause, PausedState, RandomStates
from .transfer import frozen, hold_inference_mode, parameter_groups

BATCH_EVENTS_PER_SECOND = 10
GATHER_BYTES = 256 << 20
"""A training split on the training device up to this size is shuffled once per epoch (one gather per tensor),
each batch then a slice of it; a bigger one is gathered batch by batch (the copy would double its memory)."""
EVAL_BATCH = 1024
Emit = Callable[[Event], None]
Split = dict[str, torch.Tensor]
Checkpoint = Callable[[dict[str, torch.Tensor], bool], None]
"""Called after each epoch, before its event, with the module's state dict and whether it is the new best."""


@dataclass
class TrainResult:
    status: Literal["completed", "stopped", "failed", "paused"]
    history: list[dict[str, Any]] = field(default_factory=list)
    """One entry per epoch: {"epoch": n, "metrics": {...}, "lr": x, "seconds": s}."""
    metrics: dict[str, float] = field(default_factory=dict)
    """The last epoch's train and validation metrics."""
    test_metrics: dict[str, float] = field(default_factory=dict)
    """Metrics of the best weights on the held-out test split (``test_`` prefix)."""
    best_state: dict[str, torch.Tensor] | None = None
    """Weights of the best epoch by the monitored metric (early stopping's, else val_loss or loss)."""
    last_state: dict[str, torch.Tensor] | None = None
    best_epoch: int | None = None
    error: str | None = None
    node: str | None = None
    runtime: Runtime | None = None


class TrainingError(RuntimeError):
    """Training cannot go on; the message says why, ``node`` names the graph node when one is at fault."""

    def __init__(self, message: str, node: str | None = None):
        super().__init__(message)
        self.node = node


class Parallel(Protocol):
    """Data-parallel training (runs/ray_train.py): the module the steps run, wrapped (DDP), and each epoch's
    metrics made the same on every worker (so that every worker takes the same decisions)."""

    def wrap(self, module: nn.Module) -> nn.Module: ...

    def reduce(self, metrics: dict[str, float]) -> dict[str, float]: ...


# ---- outputs, losses and the module training runs ---------------------------------------------


def heads(compiled: CompiledGraph, config: TrainConfig) -> list[Head]:
    """One Head per graph output, in output order; raises ValueError when the config names unknown outputs."""
    config.check_outputs(compiled.output_names)
    result = []
    for name in compiled.output_names:
        spec = config.loss_for(name, compiled.output_names)
        result.append(Head(name, spec.type, spec.weight, tuple(config.metrics_for(name)),
                           compiled.final_activation.get(name), compiled.final_activation_dim.get(name),
                           spec.options()))
    return result


def training_module(compiled: CompiledGraph, output_heads: Sequence[Head]) -> nn.Module:
    """The compiled module, or a view of it that returns the scores before a final Softmax/LogSoftmax/Sigmoid
    for classification outputs (the loss applies it, stably). The view shares every submodule and weight."""
    bypass = {i for i, h in enumerate(output_heads) if h.reads_scores}
    if not bypass:
        return compiled.module
    graph = copy.deepcopy(compiled.module.graph)
    output = next(n for n in graph.nodes if n.op == "output")
    values = list(output.args[0]) if len(output_heads) > 1 else [output.args[0]]  # type: ignore[arg-type]
    for i in bypass:
        activation = values[i]
        assert isinstance(activation, fx.Node) and activation.op == "call_module", activation
        values[i] = activation.args[0]
    output.args = (tuple(values) if len(output_heads) > 1 else values[0],)
    view = fx.GraphModule(compiled.module, graph, class_name="TrainingView")
    view.graph.eliminate_dead_code()  # the bypassed activation, unless another layer reads it
    view.recompile()
    return view


def regularized(model: nn.Module) -> list[nn.Parameter]:
    """Weights that L1/L2 penalize: matrices and kernels, never biases or normalization params."""
    return [p for n, p in model.named_parameters()
            if p.dim() > 1 and p.requires_grad and not n.endswith("bias")]


class _Locator(fx.Interpreter):
    """Re-runs a failing batch node by node to name the node that raised."""

    current: fx.Node | None = None

    def run_node(self, n: fx.Node) -> Any:
        self.current = n
        return super().run_node(n)


def locate_failure(compiled: CompiledGraph, inputs: list[torch.Tensor], error: Exception) -> TrainingError:
    """A TrainingError for ``error``, naming the layer it came from when re-running the inputs finds it."""
    if isinstance(error, TrainingError):
        return error
    locator = _Locator(compiled.module)
    try:
        with torch.no_grad():
            locator.run(*inputs)
    except Exception as e:
        node = locator.current
        if node is not None and node.op == "call_module":
            node_id = compiled.node_of_module(str(node.target))
            kind = compiled.node_types.get(node_id, "")
            return TrainingError(f"{kind} '{node_id}': {torch_message(e)}", node_id)
    return TrainingError(torch_message(error))


def _slice(split: Split, idx: torch.Tensor | slice) -> Split:
    return {k: v[idx] for k, v in split.items()}


def _to(split: Split, device: torch.device) -> Split:
    return {k: v.to(device, non_blocking=True) for k, v in split.items()}


def split_size(split: Split) -> int:
    return len(next(iter(split.values())))


# ---- evaluation -------------------------------------------------------------------------------------


class Evaluator:
    """Loss and metrics of a compiled model over a split (or over outputs accumulated while training)."""

    def __init__(self, compiled: CompiledGraph, data: PreparedData, config: TrainConfig,
                 device: torch.device | None = None):
        self.compiled, self.data, self.config = compiled, data, config
        self.heads = heads(compiled, config)
        self.losses: list[LossFn] = [h.loss_fn() for h in self.heads]
        self.module = training_module(compiled, self.heads)
        self.device = device or torch.device("cpu")
        """Where the module is: batches move there; outputs and metrics are computed there."""
        self.autocast_dtype = devices.autocast_dtype(config.precision) if device is not None else None

    def precision(self) -> contextlib.AbstractContextManager[Any]:
        """The forward pass and the loss in the run's precision (autocast for the mixed ones)."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def metric_names(self, prefix: str = "") -> list[str]:
        """The keys ``metrics`` returns, without computing them."""
        multi = len(self.heads) > 1
        names = [f"{prefix}loss"]
        for head in self.heads:
            tag = f"{prefix}{head.name}_" if multi else prefix
            if multi:
                names.append(f"{tag}loss")
            names += [f"{tag}{m}" for m in self.applicable(head)]
        return names

    @staticmethod
    def applicable(head: Head) -> list[str]:
        """Metrics that make sense for the head's loss: class metrics need a classification loss."""
        return [m for m in head.metrics if head.classification or m in ("mse", "mae")]

    def loss(self, outs: tuple[torch.Tensor, ...], targets: Split) -> torch.Tensor:
        total: torch.Tensor | None = None
        for head, loss_fn, out in zip(self.heads, self.losses, outs, strict=True):
            try:
                part = loss_fn(out, targets[head.name])
            except (ValueError, RuntimeError, IndexError) as e:
                raise TrainingError(f"{head.kind} loss of output '{head.name}': {torch_message(e)}") from e
            part = part if head.weight == 1.0 else head.weight * part
            total = part if total is None else total + part
        assert total is not None
        return total

    def metrics(self, outs: Sequence[tuple[torch.Tensor, ...]], targets: Split,
                prefix: str = "") -> dict[str, float]:
        """Loss (weighted total, and per output when there are several) and metrics of accumulated outputs."""
        result: dict[str, float] = {}
        multi = len(self.heads) > 1
        total = 0.0
        for i, (head, loss_fn) in enumerate(zip(self.heads, self.losses, strict=True)):
            values = torch.cat([o[i] for o in outs]) if len(outs) > 1 else outs[0][i]
            if values.dtype in (torch.float16, torch.bfloat16):
                values = values.float()  # mixed-precision outputs: metrics in float32
            if values.device.type == "mps":
                values = values.cpu()  # the metrics count in float64, which MPS lacks
            y = targets[head.name].to(values.device)
            head_loss = float(loss_fn(values, y))
            total += head.weight * head_loss
            tag = f"{prefix}{head.name}_" if multi else prefix
            if multi:
                result[f"{tag}loss"] = head_loss
            wanted = self.applicable(head)
            if head.classification:
                found = self.class_metrics(head, values, y, wanted)
            else:
                found = regression_metrics(wanted, values, y)
            result.update({f"{tag}{k}": v for k, v in found.items()})
        return {f"{prefix}loss": total, **result}

    @staticmethod
    def class_metrics(head: Head, values: torch.Tensor, y: torch.Tensor,
                      wanted: list[str]) -> dict[str, float]:
        """Class metrics from probabilities; mse/mae compare them with the one-hot (or 0/1) targets."""
        axis = head.axis(values, y)
        probs = head.probabilities(values, axis)
        if head.binary:
            probs, reference = probs.reshape(-1), align(y, values).reshape(-1).to(probs.dtype)
            labels = reference
        else:
            probs = probs.reshape(-1, probs.shape[-1])
            if y.shape == values.shape:  # one-hot or soft targets
                reference = y.movedim(axis, -1).reshape(probs.shape).to(probs.dtype)
                labels = reference.argmax(-1)
            else:
                labels = class_targets(y, values, axis).reshape(-1)
                reference = nn.functional.one_hot(labels, probs.shape[-1]).to(probs.dtype)
        found = classification_metrics([m for m in wanted if m not in ("mse", "mae")], probs, labels,
                                       head.binary)
        found.update(regression_metrics([m for m in wanted if m in ("mse", "mae")], probs, reference))
        return found

    def outputs(self, split: Split) -> list[tuple[torch.Tensor, ...]]:
        """What the training module gives for a split, in eval mode and batches of EVAL_BATCH."""
        self.compiled.module.eval()
        outs = []
        with torch.no_grad(), self.precision():
            for start in range(0, split_size(split), EVAL_BATCH):
                part = _to(_slice(split, slice(start, start + EVAL_BATCH)), self.device)
                outs.append(as_tuple(self.module(*self.data.inputs(part))))
        return outs

    def evaluate(self, split: Split, prefix: str = "") -> dict[str, float]:
        return self.metrics(self.outputs(split), self.data.targets(split), prefix)


def evaluate(compiled: CompiledGraph, data: PreparedData, config: TrainConfig,
             split: Literal["train", "val", "test"] | Split = "test") -> dict[str, float]:
    """Loss and metrics of the model as it is now on one split of ``data`` (keys without a prefix)."""
    if isinstance(split, str):
        chosen = {"train": data.train, "val": data.val, "test": data.test}[split]
        if chosen is None:
            raise ValueError(f"the data has no {split} split")
        split = chosen
    return Evaluator(compiled, data, config).evaluate(split)


def predict(compiled: CompiledGraph, inputs: Sequence[torch.Tensor] | dict[str, torch.Tensor],
            batch_size: int = EVAL_BATCH) -> dict[str, torch.Tensor]:
    """The graph's outputs (after any final activation) by output name, in eval mode and batches.
    ``inputs``: one tensor per Input, in ``compiled.input_names`` order or by name (already standardized)."""
    if isinstance(inputs, dict):
        missing = [n for n in compiled.input_names if n not in inputs]
        if missing:
            raise ValueError(f"no values for Input {', '.join(missing)} "
                             f"(inputs: {', '.join(compiled.input_names)})")
        tensors = [inputs[n] for n in compiled.input_names]
    else:
        tensors = list(inputs)
        if len(tensors) != len(compiled.input_names):
            raise ValueError(f"expected {len(compiled.input_names)} input tensors "
                             f"({', '.join(compiled.input_names)}), got {len(tensors)}")
    compiled.module.eval()
    parts: list[list[torch.Tensor]] = [[] for _ in compiled.output_names]
    with torch.no_grad():
        for start in range(0, len(tensors[0]), batch_size):
            outs = as_tuple(compiled.module(*(t[start:start + batch_size] for t in tensors)))
            for i, out in enumerate(outs):
                parts[i].append(out)
    return {name: torch.cat(p) for name, p in zip(compiled.output_names, parts, strict=True)}


# ---- training ---------------------------------------------------------------------------------------


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the module's weights in the default layout, wherever and however it trains."""
    return {k: v.detach().to("cpu", copy=True, memory_format=torch.contiguous_format)
            for k, v in model.state_dict().items()}


def check_targets(evaluator: Evaluator, data: PreparedData) -> None:
    """Before the first step: two samples go through the model and the losses, and class targets fit
    the outputs (a clear message instead of an index error deep in a loss)."""
    sample = _slice(data.train, slice(0, 2))
    inputs = data.inputs(sample)
    try:
        outs = evaluator.outputs(sample)[0]
    except Exception as e:
        raise locate_failure(evaluator.compiled, inputs, e) from e
    evaluator.loss(outs, data.targets(sample))
    all_targets = data.targets(data.train)
    for head, values in zip(evaluator.heads, outs, strict=True):
        y = all_targets[head.name]
        if not head.classification or y.is_floating_point() and not head.binary:
            continue
        field_name = data.binding.targets.get(head.name, head.name)
        low, high = float(y.min()), float(y.max())
        if head.binary and (low < 0 or high > 1):
            raise TrainingError(f"binary_crossentropy of output '{head.name}' needs targets between 0 and 1, "
                                f"but field '{field_name}' goes from {low:g} to {high:g}; for several "
                                "classes use sparse_categorical_crossentropy with one score per class")
        if head.binary or y.shape[1:] == values.shape[1:]:
            continue
        classes = values.shape[head.axis(values, y[:2])]
        if low < 0 or high >= classes:
            raise TrainingError(f"output '{head.name}' gives {classes} class scores but field '{field_name}' "
                                f"has classes 0 to {int(high)}; give the last layer {int(high) + 1} outputs")


def train(compiled: CompiledGraph, data: PreparedData, config: TrainConfig, emit: Emit,
          should_stop: Callable[[], bool] = lambda: False, checkpoint: Checkpoint | None = None, *,
          loaded: Collection[str] = (), pause: Pause | None = None,
          parallel: Parallel | None = None) -> TrainResult:
    """Train ``compiled.module`` in place, emitting events; return the outcome. Never raises for a failed run:
    a bad config/data pairing, a NaN loss or a failing layer end as ``failed`` with an error event.

    Ends with a ``done`` event. The module keeps the best weights when stopped or when early
    stopping restores them, else the last ones; the test metrics are always those of the best weights
    (the ones a run exports). ``checkpoint`` lets the caller keep the best and last weights as training goes,
    so that a run killed mid-way still has them. ``loaded``: the nodes whose weights came from another run
    (``config.init.lr_scale`` applies to them; see transfer.py, which also freezes ``config.init.freeze``).
    ``pause`` (pause.py) lets the caller pause the run before a step, and resume a paused one: a paused run
    ends with a ``status`` event ``paused`` instead of ``done``, and without test metrics.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(config.num_threads)
    try:
        return _train(compiled, data, config, emit, should_stop, checkpoint, loaded, pause, parallel)
    finally:
        torch.set_num_threads(threads)


def _train(compiled: CompiledGraph, data: PreparedData, config: TrainConfig, emit: Emit,
           should_stop: Callable[[], bool], checkpoint: Checkpoint | None,
           loaded: Collection[str] = (), pause: Pause | None = None,
           parallel: Parallel | None = None) -> TrainResult:
    result = TrainResult(status="failed")
    evaluator: Evaluator | None = None
    model = compiled.module
    try:
        if config.gan is not None:
            raise ValueError("config.kind: a GAN trains its two parts with training.gan.train_gan (the server, "
                             "`netcanvas train` and `netcanvas.runs.execute` do), not with this loop")
        device = devices.resolve(config.device)
        if problem := devices.device_problem(devices.device_label(device), config.precision):
            raise ValueError(f"{problem[0]}: {problem[1]}")
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(config.seed)  # dropout and other random layers
            evaluator = Evaluator(compiled, data, config, device)
            devices.reset_peak(device)
            model.to(device)
            with frozen(compiled, config.init) as held:
                try:
                    _loop(compiled, data, config, emit, should_stop, evaluator, result, checkpoint, held, loaded,
                          pause, parallel)
                finally:
                    layout.to_layout(model, channels_last=False)  # exports and predictions see the usual layout
    except TrainingError as e:
        result.status, result.error, result.node = "failed", str(e), e.node
    except (ValueError, KeyError) as e:
        result.status, result.error = "failed", str(e).strip("'\"")
    except Exception as e:  # a bug of ours or of a layer: still a failed run with a message, never a hang
        result.status, result.error = "failed", f"{type(e).__name__}: {torch_message(e)}"
    if result.runtime is not None:
        peak, _ = devices.peak_memory(torch.device(result.runtime.device))
        result.runtime = result.runtime.model_copy(update={"peak_memory_bytes": peak})
    if result.last_state is None:
        result.last_state = _clone_state(model)
    if result.best_state is None:
        result.best_state = result.last_state
    if result.status == "paused":  # its status event is sent; no test metrics, no done: the run goes on later
        model.eval()
        model.to("cpu")
        return result
    if result.status == "failed":
        emit(ErrorEvent(message=result.error or "training failed", node=result.node))
    else:
        if result.status == "stopped":
            model.load_state_dict(result.best_state)
        if data.test is not None and evaluator is not None:
            result.test_metrics = _evaluate_state(evaluator, data.test, result.best_state)
    model.eval()
    model.to("cpu")  # weights, exports and predictions come from the CPU copy
    emit(DoneEvent(status=result.status, metrics=result.metrics, test_metrics=result.test_metrics,
                   best_epoch=result.best_epoch, runtime=result.runtime))
    return result


def _restore(state: PausedState, steps: int, model: nn.Module, optimizer: torch.optim.Optimizer,
             scheduler: Any, scaler: torch.amp.GradScaler | None, tracker: BestTracker,
             generator: torch.Generator, result: TrainResult) -> None:
    """Bring a paused run's state back (pause.py); the random states are restored when its epoch starts."""
    if state.steps != steps:
        raise TrainingError(f"the pause checkpoint was made with {state.steps} steps per epoch but this run has "
                            f"{steps}: its data or batch size changed")
    try:
        model.load_state_dict(state.model)
        optimizer.load_state_dict(state.optimizer)
        if scheduler is not None and state.scheduler is not None:
            scheduler.load_state_dict(state.scheduler)
        if scaler is not None and state.scaler is not None:
            scaler.load_state_dict(state.scaler)
        generator.set_state(state.generator)
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise TrainingError(f"the pause checkpoint does not fit this run: {torch_message(e)}") from e
    tracker.best, tracker.best_epoch = float(state.tracker["best"]), state.tracker["best_epoch"]
    tracker.waited = int(state.tracker["waited"])
    result.best_state, result.best_epoch = state.best_state, state.best_epoch
    result.history, result.metrics = state.history, state.metrics


def _evaluate_state(evaluator: Evaluator, split: Split, state: dict[str, torch.Tensor]) -> dict[str, float]:
    """Metrics of ``state`` on ``split``, leaving the module's own weights as they were."""
    model = evaluator.compiled.module
    kept = _clone_state(model)
    model.load_state_dict(state)
    try:
        return evaluator.evaluate(split, "test_")
    finally:
        model.load_state_dict(kept)


def _compiled(module: nn.Module, emit: Emit) -> nn.Module:
    """``torch.compile(module)``, or the module itself with a logged reason when compiling is not possible here."""
    try:
        return torch.compile(module)  # type: ignore[return-value]
    except Exception as e:
        emit(LogEvent(level="warning", message=f"compile: torch.compile is not available here ({_first_line(e)}); "
                                               "training in eager mode"))
        return module


def _fall_back(module: nn.Module, error: Exception, emit: Emit, result: TrainResult) -> nn.Module:
    """After the compiled module failed: the eager one, with the reason logged and recorded in the run."""
    emit(LogEvent(level="warning", message=f"compile: torch.compile failed ({_first_line(error)}); "
                                           "training in eager mode"))
    if result.runtime is not None:
        result.runtime = result.runtime.model_copy(update={"compiled": False})
    return module


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def _choose_layout(config: TrainConfig, evaluator: Evaluator, stepped: nn.Module, inputs: list[torch.Tensor],
                   targets: Split, resumed: PausedState | None, compiled: bool) -> bool:
    """Whether the model trains in channels-last (layout.py), chosen by a trial on its first batch, or as the
    paused run did; the module is converted when it does."""
    if resumed is not None:
        chosen = bool(resumed.extra.get("channels_last", False))
    elif compiled or not layout.may_try(stepped, evaluator.device):
        chosen = False
    else:
        batch = [t[:config.batch_size] for t in inputs]
        batch_targets = {name: t[:config.batch_size] for name, t in targets.items()}

        def step(module: nn.Module, optimizer: torch.optim.Optimizer) -> None:
            with evaluator.precision():
                loss = evaluator.loss(as_tuple(module(*batch)), batch_targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        def fresh_optimizer(module: nn.Module) -> torch.optim.Optimizer:
            trainable = [p for p in module.parameters() if p.requires_grad]
            return make_optimizer(config.optimizer, trainable, evaluator.device)

        speedup = layout.channels_last_speedup(stepped, fresh_optimizer, step)
        chosen = speedup is not None and speedup >= 1 + layout.MARGIN
    if chosen:
        layout.to_layout(evaluator.compiled.module, channels_last=True)
    return chosen


def _loop(compiled: CompiledGraph, data: PreparedData, config: TrainConfig, emit: Emit,
          should_stop: Callable[[], bool], evaluator: Evaluator, result: TrainResult,
          checkpoint: Checkpoint | None, held: list[nn.Module] | None = None,
          loaded: Collection[str] = (), pause: Pause | None = None, parallel: Parallel | None = None) -> None:
    model = compiled.module
    device = evaluator.device
    generator = torch.Generator().manual_seed(config.seed)
    groups = parameter_groups(compiled, config.init, loaded, config.optimizer.lr)
    optimizer = make_optimizer(config.optimizer, groups, device)
    scheduler = make_scheduler(config.schedule, optimizer, config.epochs)
    scaler = torch.amp.GradScaler(device.type) if config.precision == "16-mixed" else None
    penalized = regularized(model)
    l1, l2 = config.regularization.l1, config.regularization.l2
    train_split = devices.place(data.train, device)
    resident = all(t.device == device for t in train_split.values())  # else copied batch by batch
    gathered = resident and sum(t.numel() * t.element_size() for t in train_split.values()) <= GATHER_BYTES
    val_split = devices.place(data.val, device) if data.val is not None else None
    train_inputs = data.inputs(train_split)
    train_targets = data.targets(train_split)
    n = split_size(train_split)
    steps = max(1, math.ceil(n / config.batch_size))
    sync_each_step = device.type == "cpu"  # reading the loss costs a host sync on an accelerator
    stepped = parallel.wrap(evaluator.module) if parallel is not None else evaluator.module
    forward = _compiled(stepped, emit) if config.compile else stepped
    trained = [p for group in optimizer.param_groups for p in group["params"]]
    resumed = pause.resume if pause is not None else None
    channels_last = _choose_layout(config, evaluator, stepped, train_inputs, train_targets, resumed,
                                   compiled=config.compile or parallel is not None)
    result.runtime = Runtime(device=devices.device_label(device), device_name=devices.describe(device),
                             precision=config.precision, optimizer=implementation_of(optimizer),
                             compiled=forward is not stepped, peak_memory_bytes=0,
                             peak_memory_of=devices.peak_memory(device)[1])
    emit(StatusEvent(status="running"))
    emit(LogEvent(message=f"training on {result.runtime.device} ({result.runtime.device_name}), precision "
                          f"{config.precision}, {type(optimizer).__name__} {result.runtime.optimizer}"
                          + (", compiled" if result.runtime.compiled else "")
                          + (", channels-last layout" if channels_last else "")))
    names = evaluator.metric_names() + (evaluator.metric_names("val_") if data.val is not None else [])

    def watched(monitor: str, what: str) -> str:
        if monitor.startswith("val_") and data.val is None and monitor[4:] in names:
            emit(LogEvent(level="warning", message=f"no validation split: {what} watches '{monitor[4:]}' "
                                                   f"instead of '{monitor}'"))
            return monitor[4:]
        if monitor not in names:
            raise TrainingError(f"{what} watches '{monitor}', which is not a metric of this run "
                                f"(metrics: {', '.join(names)})")
        return monitor

    stopping = config.early_stopping
    if stopping:
        tracker = BestTracker(watched(stopping.monitor, "early stopping"),
                              monitor_mode(stopping.monitor, stopping.mode), stopping.min_delta,
                              stopping.patience)
    else:
        monitor = "val_loss" if data.val is not None else "loss"
        tracker = BestTracker(monitor, "min")
    plateau = getattr(config.schedule, "monitor", None)
    if plateau is not None:
        plateau = watched(plateau, "the plateau schedule")
    for head in evaluator.heads:
        skipped = [m for m in head.metrics if m not in evaluator.applicable(head)]
        if skipped:
            emit(LogEvent(level="warning", message=f"output '{head.name}' uses the {head.kind} loss, so its "
                                                   f"class metrics ({', '.join(skipped)}) are not reported"))
    check_targets(evaluator, data)
    emit(LogEvent(message=f"training on {n} samples, validating on "
                          f"{split_size(data.val) if data.val else 0}, {steps} steps per epoch"))
    last_batch_event = 0.0
    health = (HealthMonitor(compiled, config.health.every, config.optimizer.type)
              if config.health and not config.compile else None)

    def forward_loss(module: nn.Module, inputs: list[torch.Tensor],
                     targets: Split) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        with evaluator.precision():
            out = as_tuple(module(*inputs))
            return out, evaluator.loss(out, targets)

    def check_loss(value: float, epoch: int, step: int, exact: bool) -> None:
        if not math.isfinite(value):
            where = f"step {step} of {steps}" if exact else f"by step {step} of {steps}"
            raise TrainingError(f"the loss became {value} at epoch {epoch}, {where}; "
                                "try a lower learning rate, gradient clipping or normalized inputs")

    if resumed is not None:
        _restore(resumed, steps, model, optimizer, scheduler, scaler, tracker, generator, result)
        emit(LogEvent(message=f"resumed at {resumed.describe()}"))
    for epoch in range(resumed.epoch if resumed is not None else 1, config.epochs + 1):
        started = time.perf_counter()
        model.train()
        hold_inference_mode(held or [])  # frozen nodes: BatchNorm statistics stay as loaded
        first = 0
        if resumed is not None and epoch == resumed.epoch:  # the paused epoch goes on where it paused
            order, first, started = resumed.order, resumed.step, started - resumed.elapsed
            outs = [tuple(o.to(device) for o in step_outs) for step_outs in resumed.outs]
            total = resumed.total.to(device)
            resumed.rng.restore()  # last: nothing before the next step may draw from them
        else:
            order = torch.randperm(n, generator=generator) if config.shuffle else torch.arange(n)
            outs = []
            total = torch.zeros((), device=device)  # the epoch's summed loss, read on an accelerator only for events
        if resident:
            order = order.to(device, non_blocking=True)
        if gathered:  # the epoch's samples in its order, once: a batch is then a slice (a view), not a gather
            epoch_inputs = [t[order] for t in train_inputs]
            epoch_targets = {name: t[order] for name, t in train_targets.items()}
        for step in range(first, steps):
            if should_stop():
                result.status = "stopped"
                emit(LogEvent(message=f"stopped during epoch {epoch}"))
                return
            if pause is not None and pause.requested():
                paused = PausedState(
                    epoch=epoch, step=step, steps=steps, elapsed=time.perf_counter() - started,
                    model=model.state_dict(), optimizer=optimizer.state_dict(),
                    scheduler=scheduler.state_dict() if scheduler is not None else None,
                    scaler=scaler.state_dict() if scaler is not None else None,
                    tracker={"best": tracker.best, "best_epoch": tracker.best_epoch, "waited": tracker.waited},
                    best_state=result.best_state, best_epoch=result.best_epoch, history=result.history,
                    metrics=result.metrics, order=order, outs=[list(o) for o in outs], total=total,
                    generator=generator.get_state(), rng=RandomStates.capture(device),
                    extra={"channels_last": channels_last})
                try:
                    pause.save(paused)
                except OSError as e:
                    emit(LogEvent(level="warning", message=f"could not write the pause checkpoint ({e}); "
                                                           "training goes on"))
                    pause = None
                else:
                    result.status = "paused"
                    emit(StatusEvent(status="paused", message=f"paused at {paused.describe()}"))
                    return
            batch = slice(step * config.batch_size, (step + 1) * config.batch_size)
            idx = order[batch]
            if gathered:
                inputs = [t[batch] for t in epoch_inputs]
                targets = {name: t[batch] for name, t in epoch_targets.items()}
            elif resident:
                inputs = [t[idx] for t in train_inputs]
                targets = {name: t[idx] for name, t in train_targets.items()}
            else:  # each batch gathered into pinned host memory, copied over while the previous one computes
                inputs = [t[idx].pin_memory().to(device, non_blocking=True) for t in train_inputs]
                targets = {name: t[idx].pin_memory().to(device, non_blocking=True)
                           for name, t in train_targets.items()}
            inputs = data.augmented(inputs)  # image augmentation, training only
            probe = health.start(forward, epoch, step + 1, steps, scaler) if health else None
            try:
                try:
                    out, loss = forward_loss(forward, inputs, targets)
                except Exception as e:
                    if forward is stepped or isinstance(e, TrainingError):
                        raise
                    forward = _fall_back(stepped, e, emit, result)
                    out, loss = forward_loss(forward, inputs, targets)
            except Exception as e:
                raise locate_failure(compiled, inputs, e) from e
            if l1:
                loss = loss + l1 * sum(p.abs().sum() for p in penalized)
            if l2:
                loss = loss + l2 * sum((p * p).sum() for p in penalized)
            detached = loss.detach()
            value: float | None = None
            if sync_each_step:
                value = detached.item()  # on the CPU a plain read, checked before the step changes the weights
                check_loss(value, epoch, step + 1, exact=True)
            else:
                total += detached
            for p in trained:  # optimizer.zero_grad(set_to_none=True) without its profiling wrapper (~10 us)
                p.grad = None
            if scaler is not None:
                scaler.scale(loss).backward()
                if config.grad_clip:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                if config.grad_clip:
                    nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
            outs.append(tuple(o.detach() for o in out))
            if probe is not None:
                emit(probe.finish())
            now = time.perf_counter()
            if now - last_batch_event >= 1 / BATCH_EVENTS_PER_SECOND:
                last_batch_event = now
                if value is None:
                    value = detached.item()
                    check_loss(float(total), epoch, step + 1, exact=False)
                emit(BatchEvent(epoch=epoch, step=step + 1, steps=steps, loss=value))
        if not sync_each_step:
            check_loss(float(total), epoch, steps, exact=False)
        metrics = evaluator.metrics(outs, epoch_targets if gathered else _slice(train_targets, order))
        if val_split is not None:
            metrics.update(evaluator.evaluate(val_split, "val_"))
        if parallel is not None:
            metrics = parallel.reduce(metrics)
        lr = float(optimizer.param_groups[0]["lr"])
        seconds = time.perf_counter() - started
        result.history.append({"epoch": epoch, "metrics": metrics, "lr": lr, "seconds": seconds})
        result.metrics = metrics
        improved = tracker.update(metrics[tracker.monitor], epoch)
        if improved:
            result.best_state, result.best_epoch = _clone_state(model), epoch
        if checkpoint is not None:
            if device.type == "cpu":
                state = model.state_dict()
            else:  # checkpoints are written from CPU copies
                state = result.best_state if improved and result.best_state is not None else _clone_state(model)
            checkpoint(state, improved)
        assert result.best_epoch is not None  # the first epoch is always the best so far
        best = Best(name=tracker.monitor, value=tracker.best, epoch=result.best_epoch)
        emit(EpochEvent(epoch=epoch, epochs=config.epochs, metrics=metrics, lr=lr, seconds=seconds, best=best))
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(metrics[plateau or tracker.monitor])
        elif scheduler is not None:
            scheduler.step()
        if tracker.should_stop:
            emit(LogEvent(message=f"early stopping at epoch {epoch}: {tracker.describe()}"))
            break
    if stopping and stopping.restore_best_weights and result.best_state is not None:
        result.last_state = _clone_state(model)
        model.load_state_dict(result.best_state)
        emit(LogEvent(message=f"restored the weights of epoch {result.best_epoch} "
                              f"(best '{tracker.monitor}')"))
    result.status = "completed"
