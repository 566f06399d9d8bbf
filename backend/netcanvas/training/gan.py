"""GANs: a generator and a discriminator drawn as two parts of one canvas graph, trained against each other.

The config's ``gan`` block (docs/training-config.md#gans) names each part by its Output node. A part is
every node that leads to that Output; each starts at one Input (the generator's takes noise, the
discriminator's takes images from the dataset). The parts must not share a node, and every node of the
graph belongs to one of them. Each part is cut from the graph JSON as a graph of its own and compiled
with ``compile_graph``, so its weights, errors and exports name the canvas's node ids.

Training alternates ``d_steps`` discriminator steps and one generator step per batch, each part with its
own optimizer, under the standard non-saturating loss or WGAN-GP. After every epoch the generator draws
a grid of samples from the same fixed noise (a ``samples`` event, one small PNG). A GAN's losses do not
measure how good its samples are, so a run keeps its last epoch's weights as its best.

A GAN run pauses before a step as an ordinary one does (pause.py): its checkpoint holds both parts' weights
(keys ``generator.``/``discriminator.`` + the module's), both optimizers' states, the epoch's order, the
scores and loss sums it has accumulated, the noise generator's state (which also shuffles) and the process's
random states; resumed, the run goes on bit for bit as the uninterrupted one would have.
"""

from __future__ import annotations

import base64
import io
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..compiler import CompiledGraph, compile_graph
from ..data import PreparedData
from ..shapes import torch_message
from . import devices
from .config import GanSpec, TrainConfig
from .events import BatchEvent, DoneEvent, EpochEvent, ErrorEvent, Event, LogEvent, Runtime, SamplesEvent, StatusEvent
from .loop import BATCH_EVENTS_PER_SECOND, EVAL_BATCH, TrainingError, TrainResult, locate_failure, training_module
from .losses import Head
from .optimizers import implementation_of, make_optimizer
from .pause import Pause, PausedState, RandomStates

Emit = Callable[[Event], None]
NodeCheckpoint = Callable[[dict[str, torch.Tensor], bool], None]
"""Called after each epoch with both parts' weights keyed by node id, and whether they are the new best."""
MAX_GRID_PIXELS = 64 * 28 * 28
"""Samples beyond this many pixels in all are left out of the grid: the event stays small."""


class GanError(ValueError):
    """A GAN config that does not fit its graph; ``field`` is the config field at fault, ``node`` the node."""

    def __init__(self, message: str, field: str, node: str | None = None):
        super().__init__(message)
        self.field, self.node = field, node


# ---- the two parts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartGraphs:
    """The generator and the discriminator as graph JSON of their own, with their Inputs."""

    generator: dict[str, Any]
    discriminator: dict[str, Any]
    noise: str
    """The generator's Input node id."""
    images: str
    """The discriminator's Input node id."""


def _upstream(output: str, edges: Sequence[dict[str, Any]]) -> set[str]:
    feeding: dict[str, list[str]] = {}
    for edge in edges:
        feeding.setdefault(str(edge.get("target")), []).append(str(edge.get("source")))
    seen, todo = {output}, [output]
    while todo:
        for source in feeding.get(todo.pop(), []):
            if source not in seen:
                seen.add(source)
                todo.append(source)
    return seen


def _cut(graph: dict[str, Any], part: set[str], name: str) -> dict[str, Any]:
    cut = {k: v for k, v in graph.items() if k not in ("nodes", "edges", "name")}
    cut["name"] = f"{graph.get('name') or 'GAN'} {name}"
    cut["nodes"] = [n for n in graph.get("nodes", []) if n.get("id") in part]
    cut["edges"] = [e for e in graph.get("edges", []) if e.get("source") in part and e.get("target") in part]
    return cut


def part_graphs(graph: dict[str, Any], spec: GanSpec) -> PartGraphs:
    """Cut the generator and the discriminator out of ``graph`` (a valid graph JSON); GanError names the field."""
    nodes = {str(n.get("id")): str(n.get("type")) for n in graph.get("nodes", [])}
    outputs = sorted(i for i, t in nodes.items() if t == "Output")
    edges = graph.get("edges", [])
    parts: dict[str, set[str]] = {}
    inputs: dict[str, str] = {}
    for role in ("generator", "discriminator"):
        node_id = getattr(spec, role)
        if node_id not in nodes:
            raise GanError(f"the graph has no node '{node_id}'; name the {role}'s Output node "
                           f"(Output nodes: {', '.join(outputs) or 'none'})", role)
        if nodes[node_id] != "Output":
            raise GanError(f"'{node_id}' is a {nodes[node_id]} node; name the {role}'s Output node "
                           f"(Output nodes: {', '.join(outputs)})", role, node_id)
        parts[role] = _upstream(node_id, edges)
    if spec.generator == spec.discriminator:
        raise GanError(f"the generator and the discriminator are both '{spec.generator}'; name two Outputs",
                       "discriminator", spec.generator)
    shared = sorted(parts["generator"] & parts["discriminator"])
    if shared:
        raise GanError(f"the generator and the discriminator overlap: {', '.join(shared[:5])} lead(s) to both "
                       f"'{spec.generator}' and '{spec.discriminator}'; the two parts must not share a node",
                       "discriminator", shared[0])
    for role in ("generator", "discriminator"):
        node_id = getattr(spec, role)
        starts = sorted(i for i in parts[role] if nodes[i] == "Input")
        if len(starts) != 1:
            what = "no Input" if not starts else f"{len(starts)} Inputs ({', '.join(starts)})"
            raise GanError(f"the {role} (the nodes that lead to '{node_id}') has {what}; it needs exactly one, "
                           f"taking {'noise' if role == 'generator' else 'images'}", role, node_id)
        inputs[role] = starts[0]
    stray = [i for i in nodes if i not in parts["generator"] | parts["discriminator"]]
    if stray:
        raise GanError(f"node '{stray[0]}' belongs to neither the generator nor the discriminator; a GAN graph "
                       "has just these two parts", "generator", stray[0])
    return PartGraphs(_cut(graph, parts["generator"], "generator"),
                      _cut(graph, parts["discriminator"], "discriminator"),
                      inputs["generator"], inputs["discriminator"])


Shape = Sequence[int | None]


def shape_problem(cut: PartGraphs, spec: GanSpec, shape_of: Callable[[str], Shape | None],
                  dtype_of: Callable[[str], str | None]) -> GanError | None:
    """Whether the parts fit together: fixed-size float noise, generated samples shaped as the discriminator's
    input, one score per sample. ``shape_of`` gives a node's output shape."""
    noise = shape_of(cut.noise)
    if noise is None or any(d is None for d in noise) or dtype_of(cut.noise) != "float32":
        return GanError(f"the generator's Input '{cut.noise}' takes the noise: give it a fixed float32 shape "
                        "such as [64]", "generator", cut.noise)
    fake, real = shape_of(spec.generator), shape_of(cut.images)
    if fake is not None and real is not None and list(fake) != list(real):
        return GanError(f"the generator makes {_fmt(fake)} samples but the discriminator's Input '{cut.images}' "
                        f"takes {_fmt(real)}; they must be the same shape", "generator", spec.generator)
    score = shape_of(spec.discriminator)
    if score is not None and math.prod(d or 2 for d in score) != 1:
        return GanError(f"the discriminator's Output '{spec.discriminator}' gives {_fmt(score)} per sample; it "
                        "must give one score (e.g. a Linear with 1 output)", "discriminator", spec.discriminator)
    return None


def _fmt(shape: Shape) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


@dataclass
class GanParts:
    """The two parts, compiled."""

    generator: CompiledGraph
    discriminator: CompiledGraph
    noise: str
    images: str

    @property
    def data_signature(self) -> CompiledGraph:
        """The discriminator as data binding sees it: its image Input only (a GAN has no targets)."""
        return replace(self.discriminator, output_names=[], outputs={})

    def state(self) -> dict[str, torch.Tensor]:
        """Both parts' weights keyed by node id (CPU copies)."""
        from ..weights import node_state_dict

        return {**node_state_dict(self.generator), **node_state_dict(self.discriminator)}


def split_gan(graph: dict[str, Any], spec: GanSpec) -> GanParts:
    """Cut and compile both parts (call ``torch.manual_seed`` first for reproducible weights)."""
    cut = part_graphs(graph, spec)
    generator, discriminator = compile_graph(cut.generator), compile_graph(cut.discriminator)

    def shape_of(node: str) -> Shape | None:
        for part in (generator, discriminator):
            if node in part.shapes and part.shapes[node].outputs:
                return part.shapes[node].outputs[0].shape  # type: ignore[index]
        return None

    def dtype_of(node: str) -> str | None:
        spec_ = generator.inputs.get(node)
        return spec_.dtype if spec_ is not None else None

    if problem := shape_problem(cut, spec, shape_of, dtype_of):
        raise problem
    return GanParts(generator, discriminator, cut.noise, cut.images)


def generator_graph(graph: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The graph a run exports and predicts with: the generator alone for a GAN run, else the graph itself."""
    if config.get("kind") != "gan" or not isinstance(config.get("gan"), dict):
        return graph
    return part_graphs(graph, GanSpec.model_validate(config["gan"])).generator


# ---- the sample grid --------------------------------------------------------------------------------


def sample_grid(images: torch.Tensor, low: float, high: float, cols: int = 8) -> tuple[str, int, int] | None:
    """Images [N, C, H, W] (C 1 or 3) or [N, H, W] as a base64 PNG grid with 1-pixel gaps, scaled from the data's
    range [low, high]; with its rows and columns. None for samples that are not images."""
    from PIL import Image

    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        return None
    n, c, h, w = images.shape
    n = max(1, min(n, MAX_GRID_PIXELS // (h * w)))
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    scaled = ((images[:n].float() - low) / max(high - low, 1e-8)).clamp(0, 1).mul(255).round().to(torch.uint8)
    grid = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1, c), 255, dtype=np.uint8)
    for i, image in enumerate(scaled.permute(0, 2, 3, 1).numpy()):
        r, k = divmod(i, cols)
        grid[r * (h + 1):r * (h + 1) + h, k * (w + 1):k * (w + 1) + w] = image
    buffer = io.BytesIO()
    Image.fromarray(grid[:, :, 0] if c == 1 else grid, "L" if c == 1 else "RGB").save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii"), rows, cols


# ---- training ---------------------------------------------------------------------------------------


def train_gan(parts: GanParts, data: PreparedData, config: TrainConfig, emit: Emit,
              should_stop: Callable[[], bool] = lambda: False,
              checkpoint: NodeCheckpoint | None = None, pause: Pause | None = None) -> TrainResult:
    """Train both parts in place, emitting events; never raises for a failed run (it ends ``failed`` with an
    error event). Ends with a ``done`` event, or, paused (``pause``, as the ordinary loop's), with a ``status``
    event ``paused`` and no test metrics. The result's states are keyed by node id (both parts)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(config.num_threads)
    result = TrainResult(status="failed")
    trainer: _Trainer | None = None
    try:
        device = devices.resolve(config.device)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(config.seed)
            trainer = _Trainer(parts, data, config, emit, device, result)
            trainer.run(should_stop, checkpoint, pause)
        if result.status not in ("failed", "paused") and trainer is not None and data.test is not None:
            result.test_metrics = {f"test_{k}": v for k, v in trainer.evaluate(data.test).items()}
    except TrainingError as e:
        result.status, result.error, result.node = "failed", str(e), e.node
    except (ValueError, KeyError) as e:
        result.status, result.error = "failed", str(e).strip("'\"")
    except Exception as e:  # a bug of ours or of a layer: a failed run with a message, never a hang
        result.status, result.error = "failed", f"{type(e).__name__}: {torch_message(e)}"
    finally:
        torch.set_num_threads(threads)
    for part in (parts.generator, parts.discriminator):
        part.module.eval()
        part.module.to("cpu")
    if result.last_state is None:
        result.last_state = parts.state()
    result.best_state = result.best_state or result.last_state
    if result.status == "paused":  # its status event is sent; no done: the run goes on later
        return result
    if result.status == "failed":
        emit(ErrorEvent(message=result.error or "training failed", node=result.node))
    emit(DoneEvent(status=result.status, metrics=result.metrics, test_metrics=result.test_metrics,
                   best_epoch=result.best_epoch, runtime=result.runtime))
    return result


class _Trainer:
    def __init__(self, parts: GanParts, data: PreparedData, config: TrainConfig, emit: Emit,
                 device: torch.device, result: TrainResult):
        assert config.gan is not None
        self.parts, self.data, self.config, self.spec, self.emit = parts, data, config, config.gan, emit
        self.device, self.result = device, result
        self.wgan = self.spec.loss == "wgan_gp"
        self.generator = parts.generator.module.to(device)
        parts.discriminator.module.to(device)
        # The discriminator's raw score: a final Sigmoid is read through, the loss applies it stably.
        name = parts.discriminator.output_names[0]
        head = Head(name, "binary_crossentropy", 1.0, (), parts.discriminator.final_activation.get(name))
        self.critic = training_module(parts.discriminator, [head])
        self.random = torch.Generator().manual_seed(config.seed)
        self.noise_shape = tuple(int(d) for d in parts.generator.inputs[parts.noise].shape)  # type: ignore[arg-type]
        real = data.train[data.binding.inputs[parts.images]]
        self.low, self.high = float(real.min()), float(real.max())
        self.fixed_noise = self.noise(self.spec.samples)

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn((n, *self.noise_shape), generator=self.random).to(self.device)

    def score(self, images: torch.Tensor) -> torch.Tensor:
        return self.critic(images).reshape(len(images))

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        real_score, fake_score = self.score(real), self.score(fake)
        if self.wgan:
            loss = fake_score.mean() - real_score.mean()
            if self.spec.gp_weight:
                loss = loss + self.spec.gp_weight * self.gradient_penalty(real, fake)
        else:
            loss = (F.binary_cross_entropy_with_logits(real_score, torch.ones_like(real_score))
                    + F.binary_cross_entropy_with_logits(fake_score, torch.zeros_like(fake_score)))
        return loss, real_score.detach(), fake_score.detach()

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """(||grad D(x)|| - 1)^2 at points between real and generated samples (Gulrajani et al., 2017)."""
        alpha = torch.rand((len(real),) + (1,) * (real.dim() - 1), generator=self.random).to(self.device)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.score(mixed).sum(), mixed, create_graph=True)
        return ((grad.reshape(len(real), -1).norm(2, dim=1) - 1) ** 2).mean()

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        score = self.score(fake)
        if self.wgan:
            return -score.mean()
        return F.binary_cross_entropy_with_logits(score, torch.ones_like(score))  # -log D(G(z)): non-saturating

    def stats(self, real_score: torch.Tensor, fake_score: torch.Tensor) -> dict[str, float]:
        """Mean score of real and generated samples (a probability for the non-saturating loss, the critic's
        score for wgan_gp) and how often the discriminator tells them apart."""
        if self.wgan:
            return {"d_real": float(real_score.mean()), "d_fake": float(fake_score.mean())}
        correct = (real_score > 0).float().sum() + (fake_score < 0).float().sum()
        return {"d_real": float(torch.sigmoid(real_score).mean()), "d_fake": float(torch.sigmoid(fake_score).mean()),
                "d_accuracy": float(correct) / (len(real_score) + len(fake_score))}

    def evaluate(self, split: dict[str, torch.Tensor]) -> dict[str, float]:
        """Scores of the discriminator on ``split``'s real images and as many fresh generated ones, in eval mode."""
        real = split[self.data.binding.inputs[self.parts.images]]
        self.generator.eval()
        self.critic.eval()
        reals, fakes = [], []
        with torch.no_grad():
            for start in range(0, len(real), EVAL_BATCH):
                batch = real[start:start + EVAL_BATCH].to(self.device)
                reals.append(self.score(batch).cpu())
                fakes.append(self.score(self.generator(self.noise(len(batch)))).cpu())
        return self.stats(torch.cat(reals), torch.cat(fakes))

    def samples(self, epoch: int) -> None:
        self.generator.eval()
        with torch.no_grad():
            images = self.generator(self.fixed_noise).cpu()
        grid = sample_grid(images, self.low, self.high)
        if grid is not None:
            png, rows, cols = grid
            self.emit(SamplesEvent(epoch=epoch, rows=rows, cols=cols, width=int(images.shape[-1]),
                                   height=int(images.shape[-2]), png=png))

    def check(self, value: torch.Tensor, what: str, epoch: int, step: int, steps: int) -> float:
        number = float(value)
        if not math.isfinite(number):
            raise TrainingError(f"the {what} loss became {number} at epoch {epoch}, step {step} of {steps}; "
                                "try lower learning rates")
        return number

    def run(self, should_stop: Callable[[], bool], checkpoint: NodeCheckpoint | None,
            pause: Pause | None = None) -> None:
        config, spec, data, result = self.config, self.spec, self.data, self.result
        g_opt = make_optimizer(spec.g_optimizer, self.generator.parameters(), self.device)
        d_opt = make_optimizer(spec.d_optimizer, self.parts.discriminator.module.parameters(), self.device)
        train = devices.place(data.train, self.device)[data.binding.inputs[self.parts.images]]
        n = len(train)
        steps = max(1, math.ceil(n / config.batch_size))
        result.runtime = Runtime(device=devices.device_label(self.device), device_name=devices.describe(self.device),
                                 precision="32", optimizer=implementation_of(d_opt), compiled=False,
                                 peak_memory_bytes=0, peak_memory_of=devices.peak_memory(self.device)[1])
        self.emit(StatusEvent(status="running"))
        unused = [name for name, off in (("early_stopping", config.early_stopping is None),
                                         ("schedule", config.schedule is None), ("compile", not config.compile),
                                         ("precision", config.precision == "32"),
                                         ("regularization", not (config.regularization.l1 or config.regularization.l2)))
                  if not off]
        if unused:
            self.emit(LogEvent(level="warning", message=f"a GAN run does not use {', '.join(unused)}; "
                                                        "it trains in float32 for all its epochs"))
        self.first_step()
        self.emit(LogEvent(message=f"GAN ({spec.loss}) on {result.runtime.device}: {n} real images, {steps} steps "
                                   f"per epoch, {spec.d_steps} discriminator step(s) per generator step"))
        resumed = pause.resume if pause is not None else None
        if resumed is not None:  # after the first step's probe: it draws noise and moves BatchNorm statistics
            self.restore(resumed, steps, g_opt, d_opt)
            self.emit(LogEvent(message=f"resumed at {resumed.describe()}"))
        last_event = 0.0
        for epoch in range(resumed.epoch if resumed is not None else 1, config.epochs + 1):
            started = time.perf_counter()
            self.generator.train()
            self.critic.train()
            first = 0
            if resumed is not None and epoch == resumed.epoch:  # the paused epoch goes on where it paused
                order, first, started = resumed.order, resumed.step, started - resumed.elapsed
                sums = {"d_loss": float(resumed.total[0]), "g_loss": float(resumed.total[1])}
                scores = [(real_score.to(self.device), fake_score.to(self.device))
                          for real_score, fake_score in resumed.outs]
                resumed.rng.restore()  # last: nothing before the next step may draw from them
            else:
                order = torch.randperm(n, generator=self.random) if config.shuffle else torch.arange(n)
                sums = {"d_loss": 0.0, "g_loss": 0.0}
                scores = []
            for step in range(first, steps):
                if should_stop():
                    result.status = "stopped"
                    self.emit(LogEvent(message=f"stopped during epoch {epoch}"))
                    return
                if pause is not None and pause.requested():
                    paused = PausedState(
                        epoch=epoch, step=step, steps=steps, elapsed=time.perf_counter() - started,
                        model={**{f"generator.{k}": v for k, v in self.generator.state_dict().items()},
                               **{f"discriminator.{k}": v
                                  for k, v in self.parts.discriminator.module.state_dict().items()}},
                        optimizer={"generator": g_opt.state_dict(), "discriminator": d_opt.state_dict()},
                        scheduler=None, scaler=None, tracker={}, best_state=None, best_epoch=result.best_epoch,
                        history=result.history, metrics=result.metrics, order=order,
                        outs=[[real_score, fake_score] for real_score, fake_score in scores],
                        total=torch.tensor([sums["d_loss"], sums["g_loss"]], dtype=torch.float64),
                        generator=self.random.get_state(), rng=RandomStates.capture(self.device),
                        extra={"kind": "gan"})
                    if self.save(pause, paused):
                        return
                    pause = None
                real = train[order[step * config.batch_size:(step + 1) * config.batch_size].to(train.device)]
                real = real.to(self.device)
                for _ in range(spec.d_steps):
                    with torch.no_grad():
                        fake = self.generator(self.noise(len(real)))
                    d_loss, real_score, fake_score = self.d_loss(real, fake)
                    d_opt.zero_grad(set_to_none=True)
                    d_loss.backward()
                    self.clip(self.parts.discriminator.module)
                    d_opt.step()
                scores.append((real_score, fake_score))
                g_loss = self.g_loss(self.generator(self.noise(len(real))))
                g_opt.zero_grad(set_to_none=True)
                g_loss.backward()
                self.clip(self.generator)
                g_opt.step()
                sums["d_loss"] += self.check(d_loss.detach(), "discriminator", epoch, step + 1, steps)
                g_value = self.check(g_loss.detach(), "generator", epoch, step + 1, steps)
                sums["g_loss"] += g_value
                now = time.perf_counter()
                if now - last_event >= 1 / BATCH_EVENTS_PER_SECOND:
                    last_event = now
                    self.emit(BatchEvent(epoch=epoch, step=step + 1, steps=steps, loss=g_value))
            metrics = {k: v / steps for k, v in sums.items()}
            metrics.update(self.stats(torch.cat([s[0] for s in scores]), torch.cat([s[1] for s in scores])))
            if data.val is not None:
                metrics.update({f"val_{k}": v for k, v in self.evaluate(data.val).items()})
            seconds = time.perf_counter() - started
            result.history.append({"epoch": epoch, "metrics": metrics, "lr": self.lr(g_opt), "seconds": seconds})
            result.metrics, result.best_epoch = metrics, epoch
            result.best_state = result.last_state = None
            if checkpoint is not None:
                checkpoint(self.parts.state(), True)
            self.samples(epoch)
            self.emit(EpochEvent(epoch=epoch, epochs=config.epochs, metrics=metrics, lr=self.lr(g_opt),
                                 seconds=seconds))
        result.status = "completed"

    def save(self, pause: Pause, paused: PausedState) -> bool:
        """Hand the paused state to ``pause.save`` and end the run ``paused``: True. A checkpoint that cannot be
        written is a warning and training goes on: False."""
        try:
            pause.save(paused)
        except OSError as e:
            self.emit(LogEvent(level="warning", message=f"could not write the pause checkpoint ({e}); "
                                                        "training goes on"))
            return False
        self.result.status = "paused"
        self.emit(StatusEvent(status="paused", message=f"paused at {paused.describe()}"))
        return True

    def restore(self, state: PausedState, steps: int, g_opt: torch.optim.Optimizer,
                d_opt: torch.optim.Optimizer) -> None:
        """Bring a paused GAN run's state back; the random states are restored when its epoch starts."""
        if state.extra.get("kind") != "gan":
            raise TrainingError("the pause checkpoint is not a GAN run's: it does not fit this run")
        if state.steps != steps:
            raise TrainingError(f"the pause checkpoint was made with {state.steps} steps per epoch but this run "
                                f"has {steps}: its data or batch size changed")
        try:
            for prefix, module in (("generator.", self.generator),
                                   ("discriminator.", self.parts.discriminator.module)):
                module.load_state_dict({k[len(prefix):]: v for k, v in state.model.items() if k.startswith(prefix)})
            g_opt.load_state_dict(state.optimizer["generator"])
            d_opt.load_state_dict(state.optimizer["discriminator"])
            self.random.set_state(state.generator)
            if state.total.shape != (2,) or any(len(s) != 2 for s in state.outs):
                raise ValueError("its loss sums or scores are not a GAN's")
        except (RuntimeError, ValueError, KeyError, TypeError) as e:
            raise TrainingError(f"the pause checkpoint does not fit this run: {torch_message(e)}") from e
        self.result.history, self.result.metrics = state.history, state.metrics
        self.result.best_epoch = state.best_epoch

    def first_step(self) -> None:
        """Noise through the generator and two real images through the discriminator before training, so that
        a failing layer is named."""
        probe = self.noise(2)
        try:
            with torch.no_grad():
                self.generator(probe)
        except Exception as e:
            raise locate_failure(self.parts.generator, [probe], e) from e
        real = self.data.train[self.data.binding.inputs[self.parts.images]][:2].to(self.device)
        try:
            with torch.no_grad():
                self.critic(real)
        except Exception as e:
            raise locate_failure(self.parts.discriminator, [real], e) from e

    def clip(self, module: nn.Module) -> None:
        if self.config.grad_clip:
            nn.utils.clip_grad_norm_(module.parameters(), self.config.grad_clip)

    @staticmethod
    def lr(optimizer: torch.optim.Optimizer) -> float:
        return float(optimizer.param_groups[0]["lr"])
