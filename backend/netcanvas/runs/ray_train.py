"""Data-parallel runs (``"workers": N`` > 1) on Ray Train's ``TorchTrainer`` (DDP; gloo on CPUs, NCCL on GPUs).

The run's Ray task (``train_parallel``, no CPU of its own) starts a ``TorchTrainer`` with N workers and waits for
it. Every worker runs the same ``execute`` as a single run: it compiles the graph with the run's seed (the same
weights everywhere, and DDP broadcasts rank 0's anyway), prepares the same splits, and trains on its shard of the
training split: the split in a seeded order, padded by repeating its first samples to a multiple of N, every N-th
sample from the worker's rank on. Every shard has as many samples, so every worker takes as many steps, and the
epoch count is the config's. The training loop's hooks (``training.loop.Parallel``) wrap the module the steps run
with ``ray.train.torch.prepare_model`` and average each epoch's metrics over the workers (each evaluates the
whole validation split), so every worker sees the same metrics and takes the same early-stopping and schedule
decisions; the stop request is a collective too (rank 0 asks the channel, every worker learns the answer before
the same step).

Rank 0 is the run: its events go to the run's channel as a single Ray run's do (with the world size in a log
line and in the ``done`` event's ``runtime.workers``), each epoch is reported to Ray Train (``ray.train.report``,
on every worker), and its run directory's files and ``done`` event are left on the channel, which the task
returns like ``ray_executor.train_task``. A worker that fails (its loss became NaN on its shard) or is lost makes
``fit`` raise ``TrainingFailedError`` (``FailureConfig(max_failures=0)``: a run is not restarted); unless rank 0
finished the run, the task then ends it ``failed`` with the reason.
"""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data import PreparedData
from ..training.events import DoneEvent, ErrorEvent, Event, LogEvent
from .ray_executor import Outbox
from .worker import WorkerSpec

START_TIMEOUT_S = 300
"""How long the workers of a run may take to start (Ray Train's default is 60 s)."""


class WorkerFailed(RuntimeError):
    """A worker's run ended ``failed``: raised so that Ray Train stops the others (which would wait for it)."""


class PeerLost(RuntimeError):
    """A collective failed because another worker went away: the lost worker is the reason, not this error."""


PEER_LOST = ("Connection reset by peer", "Connection closed by peer", "Broken pipe")
"""What gloo (and NCCL) say in the surviving workers when a peer process dies mid-collective."""


def peer_lost(message: str) -> bool:
    return any(sign in message for sign in PEER_LOST)


class Shard:
    """One worker's part of a data-parallel run: its shard of the training split and the loop's hooks."""

    def __init__(self, rank: int, world: int, seed: int, device: torch.device):
        self.rank, self.world, self.seed, self.device = rank, world, seed, device

    def indices(self, n: int) -> torch.Tensor:
        """This worker's samples of a split of ``n``: as many for every worker, each sample at least once."""
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed))
        padded = order.repeat(math.ceil(self.world / n) + 1)[:math.ceil(n / self.world) * self.world]
        return padded[self.rank::self.world]

    def shard(self, data: PreparedData) -> PreparedData:
        idx = self.indices(len(next(iter(data.train.values()))))
        return dataclasses.replace(data, train={k: v[idx] for k, v in data.train.items()})

    def wrap(self, module: nn.Module) -> nn.Module:
        from ray.train.torch import prepare_model

        return prepare_model(module, move_to_device=False)  # the loop has placed it; DDP

    def reduce(self, metrics: dict[str, float]) -> dict[str, float]:
        import torch.distributed as dist

        values = torch.tensor(list(metrics.values()), dtype=torch.float64, device=self.device)
        dist.all_reduce(values)
        return dict(zip(metrics, (values / self.world).tolist(), strict=True))

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any worker (every worker must ask, in the same order)."""
        import torch.distributed as dist

        value = torch.tensor([int(flag)], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())


def worker_loop(config: dict[str, Any]) -> None:
    """What each Ray Train worker runs: ``execute`` on its shard; rank 0 reports the run to the channel."""
    import ray.train
    import torch.distributed as dist
    from ray.train.torch import get_device

    from .execute import execute

    spec: WorkerSpec = config["spec"]
    channel = config["channel"]
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = get_device() if config["use_gpu"] else torch.device("cpu")
    cfg = spec.config if device.type == "cpu" else spec.config.model_copy(update={"device": str(device)})
    shard = Shard(rank, world, cfg.seed, device)
    outbox = Outbox(channel) if rank == 0 else None
    where: list[Any] = [None] * world
    dist.all_gather_object(where, f"{socket.gethostname()} pid {os.getpid()}")
    if outbox is not None:
        outbox.send(LogEvent(message=f"data-parallel training on {world} Ray Train workers "
                                     f"({dist.get_backend()}, {cfg.batch_size} samples per worker and step): "
                                     + ", ".join(f"rank {r} on {w}" for r, w in enumerate(where))))

    lost: list[str] = []  # rank 0's error when a peer went away: Ray Train names the lost worker instead

    def emit(event: Event) -> None:
        if event.type == "epoch":
            ray.train.report({"epoch": event.epoch, **event.metrics})  # type: ignore[attr-defined]
        if outbox is None:
            return
        if isinstance(event, ErrorEvent) and peer_lost(event.message):
            lost.append(event.message)
        if lost and isinstance(event, ErrorEvent | DoneEvent):
            return
        if isinstance(event, DoneEvent) and event.runtime is not None:
            event = event.model_copy(update={"runtime": event.runtime.model_copy(update={"workers": world})})
        outbox.send(event)

    def should_stop() -> bool:
        return shard.any(outbox.should_stop() if outbox is not None else False)

    created = datetime.fromisoformat(spec.created_at) if spec.created_at else None
    with tempfile.TemporaryDirectory(prefix="netcanvas-ray-train-") as tmp:
        run_dir = Path(tmp) / spec.run_id
        outcome = execute(spec.graph, spec.dataset, cfg, run_dir, emit, should_stop, run_id=spec.run_id,
                          threads=spec.threads, created_at=created, datasets_dir=spec.datasets_dir,
                          runs_dir=Path(spec.run_dir).parent, parallel=shard)
        if outbox is not None and lost:
            outbox.flush()  # the events so far; the driver ends the run with the lost worker's reason
        elif outbox is not None:
            ray.get(channel.finish.remote(outbox.result(run_dir)))
    if outcome.status == "failed":
        if lost or peer_lost(outcome.error or ""):
            raise PeerLost(f"worker {rank} of {world}: {outcome.error}")
        raise WorkerFailed(f"worker {rank} of {world}: {outcome.error}")


def use_gpu(device: str) -> bool:
    """Whether a run's workers each take a GPU: ``cuda``/``cuda:N``, or ``auto`` on a cluster with GPUs."""
    import ray

    if device.startswith("cuda"):
        return True
    return device == "auto" and ray.cluster_resources().get("GPU", 0) > 0


def _lines(error: BaseException) -> list[str]:
    return [line.strip() for line in str(error).splitlines() if line.strip()]


def failure_reason(error: Exception) -> str:
    """One line from Ray Train's ``TrainingFailedError``: a worker's own message when one failed (``WorkerFailed``),
    else the worker that was lost (its process or node), else the first error; ranks in order."""
    from ray.exceptions import RayError
    from ray.train.v2._internal.exceptions import RayTrainError, UserExceptionWithTraceback

    failures: dict[int, Exception] = getattr(error, "worker_failures", {}) or {}
    for rank in sorted(failures):
        ours = [line for line in _lines(failures[rank]) if "WorkerFailed: " in line]
        if ours:
            return ours[-1].split("WorkerFailed: ", 1)[1]
    lost = [rank for rank in sorted(failures) if isinstance(failures[rank], RayError | RayTrainError)
            and not isinstance(failures[rank], UserExceptionWithTraceback)]
    for rank in lost:
        lines = _lines(failures[rank]) or [""]
        return f"worker {rank} was lost: {type(failures[rank]).__name__}: {lines[0]}"[:2000]
    for rank in sorted(failures):
        lines = _lines(failures[rank]) or [type(failures[rank]).__name__]
        return f"worker {rank} failed: {lines[-1]}"[:2000]  # a traceback's last line is the error
    return f"{type(error).__name__}: {(_lines(error) or [''])[0]}"[:2000]


def train_parallel(spec: WorkerSpec, channel: Any) -> dict[str, Any]:
    """The run's Ray task: train on ``spec.config.workers`` Ray Train workers; return rank 0's files and ``done``
    event, or a failed ``done`` with the reason."""
    import ray
    from ray.train import FailureConfig, RunConfig, ScalingConfig, TrainingFailedError
    from ray.train.torch import TorchTrainer

    gpu = use_gpu(spec.config.device)
    # Ray Train gives its workers 60 s to start, and fails the run after; a loaded machine needs more (each
    # worker imports torch). The controller takes this from the environment of the process that calls fit.
    os.environ.setdefault("RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S", str(START_TIMEOUT_S))
    with tempfile.TemporaryDirectory(prefix="netcanvas-ray-train-") as storage:
        trainer = TorchTrainer(
            worker_loop, train_loop_config={"spec": spec, "channel": channel, "use_gpu": gpu},
            scaling_config=ScalingConfig(num_workers=spec.config.workers, use_gpu=gpu),
            run_config=RunConfig(name=f"netcanvas-{spec.run_id}", storage_path=storage,
                                 failure_config=FailureConfig(max_failures=0)))
        failure: str | None = None
        try:
            trainer.fit()
        except TrainingFailedError as e:
            failure = failure_reason(e)
    finished = ray.get(channel.finished.remote())
    if finished is not None and finished["done"] is not None:
        return finished  # rank 0 ended the run (its error, if it failed, is among its events)
    outbox = Outbox(channel)
    outbox.send(ErrorEvent(message=f"data-parallel training failed: {failure or 'rank 0 ended without a result'}"))
    outbox.send(DoneEvent(status="failed"))
    return {"files": {}, "done": outbox.done[-1]}
