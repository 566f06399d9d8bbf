"""Pausing a training run at a step and resuming it later, in another process, as if it had never paused.

A paused run's checkpoint (``PausedState``) holds everything the rest of the run depends on: the module's
weights and buffers, the optimizer's, scheduler's and gradient scaler's states, the best-epoch tracker (early
stopping), the best weights so far, the history, the epoch and the next step in it, that epoch's shuffle order,
the outputs the epoch has accumulated for its training metrics, the shuffle generator's state, and the torch
(CPU and accelerator), NumPy and Python random states (dropout, augmentation). Restored before the next step,
the run goes on bit for bit as the uninterrupted one would have. A GAN run's (training/gan.py) holds both parts
and both optimizers in the same fields, its loss sums in ``total`` and ``extra["kind"] == "gan"``.

The file is written by the training process into its own run directory and read back with
``torch.load(weights_only=True)``: tensors, numbers, strings and containers only, never code. A missing,
truncated or foreign file is a ``CheckpointError`` whose message names the file.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

PAUSE_FILE = "pause.pt"
"""The checkpoint's name in a run directory."""
FORMAT = "netcanvas.pause/1"


class CheckpointError(ValueError):
    """A pause checkpoint that cannot be read or does not fit the run; the message names the file."""


@dataclass
class RandomStates:
    """The process-wide random generators a training step may draw from."""

    torch_cpu: torch.Tensor
    torch_cuda: list[torch.Tensor] | None
    numpy: dict[str, Any]
    python: tuple[Any, ...]

    @classmethod
    def capture(cls, device: torch.device) -> RandomStates:
        kind, keys, pos, has_gauss, gauss = np.random.get_state(legacy=True)  # type: ignore[misc]
        cuda = torch.cuda.get_rng_state_all() if device.type == "cuda" else None
        return cls(torch_cpu=torch.get_rng_state(), torch_cuda=cuda,
                   numpy={"kind": kind, "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": pos,
                          "has_gauss": has_gauss, "gauss": gauss},
                   python=random.getstate())

    def restore(self) -> None:
        torch.set_rng_state(self.torch_cpu)
        if self.torch_cuda is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(self.torch_cuda)
        n = self.numpy
        np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
        random.setstate(self.python)


@dataclass
class PausedState:
    """Where a run paused: before step ``step`` (counted from 0) of epoch ``epoch`` (counted from 1)."""

    epoch: int
    step: int
    steps: int
    elapsed: float
    """Seconds the paused epoch had run."""
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any] | None
    scaler: dict[str, Any] | None
    tracker: dict[str, Any]
    """The BestTracker's best, best_epoch and waited."""
    best_state: dict[str, torch.Tensor] | None
    best_epoch: int | None
    history: list[dict[str, Any]]
    metrics: dict[str, float]
    order: torch.Tensor
    """The paused epoch's sample order."""
    outs: list[list[torch.Tensor]]
    """The outputs of the epoch's steps so far (its training metrics are computed from them)."""
    total: torch.Tensor
    generator: torch.Tensor
    """The shuffle generator's state (after drawing the paused epoch's order)."""
    rng: RandomStates
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return f"epoch {self.epoch}, step {self.step + 1} of {self.steps}"


@dataclass
class Pause:
    """What the training loop needs to pause and resume: ``requested`` is asked before each step; when it is
    True the loop hands its state to ``save`` and ends ``paused``. ``resume`` is the state to start from."""

    requested: Callable[[], bool]
    save: Callable[[PausedState], None]
    resume: PausedState | None = None


def _cpu(value: Any) -> Any:
    """Tensors to the CPU (a checkpoint loads anywhere), containers kept."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _cpu(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cpu(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_cpu(v) for v in value)
    return value


def save_paused(path: str | Path, state: PausedState) -> None:
    """Write ``state`` atomically (a crash mid-write leaves the previous file, or none)."""
    path = Path(path)
    rng = state.rng
    payload = {
        "format": FORMAT, "epoch": state.epoch, "step": state.step, "steps": state.steps, "elapsed": state.elapsed,
        "model": _cpu(state.model), "optimizer": _cpu(state.optimizer), "scheduler": state.scheduler,
        "scaler": state.scaler, "tracker": state.tracker, "best_state": _cpu(state.best_state),
        "best_epoch": state.best_epoch, "history": state.history, "metrics": state.metrics,
        "order": _cpu(state.order), "outs": _cpu(state.outs), "total": _cpu(state.total),
        "generator": state.generator, "extra": state.extra,
        "rng": {"torch_cpu": rng.torch_cpu, "torch_cuda": rng.torch_cuda, "numpy": rng.numpy,
                "python": rng.python},
    }
    part = path.with_name(f".{path.name}.part")
    torch.save(payload, part)
    part.replace(path)


def load_paused(path: str | Path) -> PausedState:
    """Read a checkpoint written by ``save_paused``; a CheckpointError naming the file when it cannot be."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"the pause checkpoint {path.name} is missing from the run directory")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated zip, a foreign pickle, a file that is not torch's at all
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"the pause checkpoint {path.name} cannot be read ({first})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"the pause checkpoint {path.name} is not a NetCanvas pause checkpoint")
    try:
        rng = data["rng"]
        state = PausedState(
            epoch=int(data["epoch"]), step=int(data["step"]), steps=int(data["steps"]),
            elapsed=float(data["elapsed"]), model=dict(data["model"]), optimizer=dict(data["optimizer"]),
            scheduler=data["scheduler"], scaler=data["scaler"], tracker=dict(data["tracker"]),
            best_state=data["best_state"], best_epoch=data["best_epoch"], history=list(data["history"]),
            metrics=dict(data["metrics"]), order=data["order"], outs=[list(o) for o in data["outs"]],
            total=data["total"], generator=data["generator"], extra=dict(data.get("extra") or {}),
            rng=RandomStates(torch_cpu=rng["torch_cpu"], torch_cuda=rng["torch_cuda"], numpy=dict(rng["numpy"]),
                             python=tuple(rng["python"])))
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"the pause checkpoint {path.name} is incomplete ({type(e).__name__}: {e})") from None
    if state.epoch < 1 or not 0 <= state.step < max(1, state.steps) or not math.isfinite(state.elapsed):
        raise CheckpointError(f"the pause checkpoint {path.name} names no step of the run "
                              f"(epoch {state.epoch}, step {state.step})")
    return state
