"""Pausing the training loop in tests (tests/training/test_loop_pause.py, test_gan_pause.py): a Pause asked at a
given step, one that resumes from a file, a 'new process' for the random generators, and pausing twice."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from netcanvas.training.loop import TrainResult
from netcanvas.training.pause import Pause, load_paused, save_paused


def pause_at(step: int, file: Path) -> Pause:
    """A Pause that asks to pause before the ``step``-th step of the run (counted from 0), saving to ``file``."""
    asked = iter(range(10**9))
    return Pause(requested=lambda: next(asked) == step, save=lambda state: save_paused(file, state))


def resuming(file: Path) -> Pause:
    """A Pause that resumes from ``file`` and is never asked to pause again."""
    return Pause(requested=lambda: False, save=lambda state: None, resume=load_paused(file))


def scramble() -> None:
    """As a new process would be: its random generators wherever they are, not where the paused run left them."""
    torch.manual_seed(12345)
    np.random.seed(54321)
    random.seed(999)


def paused_twice_then_resumed(fit: Callable[[Pause], tuple[TrainResult, Any, Any]], file: Path, first: int,
                              second: int) -> tuple[TrainResult, Any, Any]:
    """Pause a run before step ``first``, resume it and pause it again before its ``second`` step, then resume it
    to its end, each time in a 'new process': what ``fit`` returns for that last part."""
    fit(pause_at(first, file))
    scramble()
    again = pause_at(second, file)
    again.resume = load_paused(file)
    paused = fit(again)[0]
    assert paused.status == "paused"
    scramble()
    return fit(resuming(file))
