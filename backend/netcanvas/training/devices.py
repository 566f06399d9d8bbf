"""Where training runs: the devices this machine has, what each can do, and how a run's data reaches it.

A config names ``device`` ("auto", "cpu", "cuda", "cuda:N" or "mps") and ``precision`` ("32",
"bf16-mixed" or "16-mixed"). The config checks the spelling; ``device_problem`` checks them against
this machine (a run is refused at submission, the CLI and ``Model.fit`` stop before training), and
``resolve`` turns them into a ``torch.device`` inside the worker. Auto picks the first CUDA device
when there is one, else the CPU.

Mixed precision runs the forward pass and the loss under ``torch.autocast``; "16-mixed" scales the
loss with a ``GradScaler``. The CPU does "bf16-mixed" but not "16-mixed": torch emulates float16
convolutions on the CPU (a small CNN trained about 20x slower here), so it is refused with a pointer
to bf16.
"""

from __future__ import annotations

import os
import re
import resource
import sys
from dataclasses import dataclass
from typing import Literal

import torch

Precision = Literal["32", "bf16-mixed", "16-mixed"]
DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:[0-9]{1,3})?")
DEVICE_CHOICES = '"auto", "cpu", "cuda", "cuda:N" (N: a device index) or "mps"'
FIT_SHARE = 0.5
"""A split moves to an accelerator whole when it takes at most this share of the device's free memory."""


@dataclass(frozen=True)
class DeviceInfo:
    name: str
    """What a config names: "cpu", "cuda:0", "mps"."""
    description: str
    precisions: list[str]
    memory_bytes: int | None
    """Total memory of an accelerator; None for the CPU (it shares the machine's memory)."""


def cpu_description() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        model = ""
    return f"{model or 'CPU'} ({os.cpu_count() or 1} cores)"


def cuda_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def mps_available() -> bool:
    return sys.platform == "darwin" and torch.backends.mps.is_available()


def precisions(device: torch.device) -> list[str]:
    """The precisions a device can train in."""
    if device.type == "cuda":
        return ["32", "bf16-mixed", "16-mixed"] if torch.cuda.is_bf16_supported() else ["32", "16-mixed"]
    if device.type == "mps":
        return ["32", "16-mixed", "bf16-mixed"]
    return ["32", "bf16-mixed"]


def available_devices() -> list[DeviceInfo]:
    """Every device this process can train on, the CPU first."""
    found = [DeviceInfo("cpu", cpu_description(), precisions(torch.device("cpu")), None)]
    for i in range(cuda_count()):
        props = torch.cuda.get_device_properties(i)
        found.append(DeviceInfo(f"cuda:{i}", props.name, precisions(torch.device("cuda", i)), props.total_memory))
    if mps_available():
        found.append(DeviceInfo("mps", "Apple GPU (Metal)", precisions(torch.device("mps")), None))
    return found


def check_spelling(device: str) -> str:
    """The config's check of ``device``: a ValueError naming the choices for anything else."""
    if not DEVICE_PATTERN.fullmatch(device):
        raise ValueError(f"unknown device '{device}'; choose {DEVICE_CHOICES}")
    return device


def device_problem(device: str, precision: str) -> tuple[Literal["device", "precision"], str] | None:
    """Why this machine cannot train with ``device`` and ``precision`` (the config field at fault and a
    message), or None when it can."""
    try:
        chosen = resolve(device)
    except ValueError as e:
        return "device", str(e)
    if precision not in precisions(chosen):
        hint = "; use bf16-mixed on the CPU" if chosen.type == "cpu" and precision == "16-mixed" else ""
        return "precision", (f"precision '{precision}' is not available on {device_label(chosen)} (it can do "
                             f"{', '.join(precisions(chosen))}){hint}")
    return None


def resolve(device: str) -> torch.device:
    """The torch device a config's ``device`` names on this machine; a ValueError says why there is none."""
    check_spelling(device)
    if device == "auto":
        return torch.device("cuda", 0) if cuda_count() else torch.device("cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "mps":
        if not mps_available():
            raise ValueError("device 'mps' is not available on this server (it has no Apple GPU); "
                             f"available: {', '.join(d.name for d in available_devices())}")
        return torch.device("mps")
    count = cuda_count()
    index = int(device.split(":")[1]) if ":" in device else 0
    if index >= count:
        where = f"it has {count} CUDA device(s)" if count else "it has no CUDA GPU"
        raise ValueError(f"device '{device}' is not available on this server ({where}); "
                         f"available: {', '.join(d.name for d in available_devices())}")
    return torch.device("cuda", index)


def device_label(device: torch.device) -> str:
    """"cpu", "cuda:0", "mps": the name a config would use."""
    return f"cuda:{device.index or 0}" if device.type == "cuda" else device.type


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "Apple GPU (Metal)" if device.type == "mps" else cpu_description()


def autocast_dtype(precision: str) -> torch.dtype | None:
    return {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision)


def fits(split: dict[str, torch.Tensor], device: torch.device) -> bool:
    """Whether a split can live on ``device`` for the whole run (the CPU and MPS share the machine's memory)."""
    if device.type != "cuda":
        return True
    size = sum(t.numel() * t.element_size() for t in split.values())
    free, _ = torch.cuda.mem_get_info(device)
    return size <= FIT_SHARE * free


def place(split: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """The split on ``device`` when it fits there (moved once, not per batch); otherwise it stays in host memory
    and the training loop gathers each batch into pinned memory, which copies to the device without blocking."""
    if device.type == "cpu" or not fits(split, device):
        return split
    return {k: v.to(device) for k, v in split.items()}


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> tuple[int, Literal["device", "process"]]:
    """The most memory training used: the accelerator's peak allocation, or on the CPU the process's peak
    resident set size (everything the process ever held, data and imports included)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device), "device"
    if device.type == "mps":
        return torch.mps.driver_allocated_memory(), "device"
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale, "process"
