"""Training events (docs/api.md, "Run events"): a discriminated union on ``type``, each with a ``seq``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.json_schema import JsonDict


def _seq_is_sent(schema: JsonDict) -> None:
    """Every event the server sends carries the seq it was stored with: required in the answer's schema."""
    required = schema.get("required")
    schema["required"] = ["seq", *(required if isinstance(required, list) else [])]


class EventBase(BaseModel):
    model_config = ConfigDict(json_schema_extra=_seq_is_sent)

    seq: int = Field(default=0, description="Monotonically increasing per run; set when stored")


class StatusEvent(EventBase):
    type: Literal["status"] = "status"
    status: Literal["queued", "running", "paused", "completed", "failed", "stopped"]
    message: str | None = None


class BatchEvent(EventBase):
    type: Literal["batch"] = "batch"
    epoch: int
    step: int
    steps: int
    loss: float


class Best(BaseModel):
    """The best epoch so far by the monitored metric: the epoch whose weights a run keeps as its best."""

    name: str = Field(description="The monitored metric (early stopping's, else val_loss, else loss)")
    value: float
    epoch: int


class EpochEvent(EventBase):
    type: Literal["epoch"] = "epoch"
    epoch: int
    epochs: int
    metrics: dict[str, float]
    lr: float
    seconds: float
    best: Best | None = Field(default=None, description="The best epoch so far, as training decided it; its "
                                                        "weights are on disk when this event is sent")


class LogEvent(EventBase):
    type: Literal["log"] = "log"
    level: Literal["info", "warning", "error"] = "info"
    message: str


class ErrorEvent(EventBase):
    type: Literal["error"] = "error"
    message: str
    node: str | None = None


class NodeHealth(BaseModel):
    """One node's health at a probed step (docs/api.md, "Run events"); null where it does not apply."""

    mean: float | None = Field(default=None, description="Mean of the node's output over the batch")
    std: float | None = Field(default=None, description="Standard deviation of the node's output over the batch")
    dead: float | None = Field(default=None, description="ReLU/ReLU6: fraction of units that are 0 for every sample")
    grad_norm: float | None = Field(default=None, description="L2 norm of the gradient of the node's weights (of its "
                                                              "output for a layer without weights)")
    update_ratio: float | None = Field(default=None, description="How much the step changed the node's weights: "
                                                                 "norm of the change / norm of the weights")
    flag: Literal["dead", "vanishing", "exploding"] | None = Field(default=None,
                                                                  description="A problem, shown in amber")
    message: str | None = Field(default=None, description="The flag explained in one line")


class HealthEvent(EventBase):
    """Per-layer health, sampled every ``health.every`` steps (docs/training-config.md, "Layer health")."""

    type: Literal["health"] = "health"
    epoch: int
    step: int
    steps: int
    nodes: dict[str, NodeHealth] = Field(description="Node id -> its health at this step")


class InitMismatch(BaseModel):
    node: str
    reason: str = Field(description="Why its weights were not loaded: `fc.weight is 5×64 here but 10×64 in the run`")


class InitEvent(EventBase):
    """What starting from another run loaded (config.init, docs/training-config.md#starting-from-a-run); sent
    before training starts."""

    type: Literal["init"] = "init"
    run: str | None = Field(description="The run (or file) the weights came from; null when only freezing")
    loaded: list[str] = Field(description="Nodes whose weights were loaded")
    mismatched: list[InitMismatch] = Field(description="Nodes the run has with other shapes: left fresh")
    fresh: list[str] = Field(description="Nodes with weights the run does not have: left fresh")
    frozen: list[str] = Field(description="Nodes that are not trained")
    lr_scale: float = Field(description="Learning-rate factor of the loaded nodes that are not frozen")


class Runtime(BaseModel):
    """How a run trained: where, in which precision, with which optimizer implementation, and its memory peak."""

    device: str = Field(description="The device as a config names it: cpu, cuda:0, mps")
    device_name: str = Field(description="The processor or GPU model")
    precision: str = Field(description="32, bf16-mixed or 16-mixed")
    optimizer: str = Field(description="The optimizer implementation: fused, foreach or for-loop")
    compiled: bool = Field(description="Whether the torch.compile'd module trained (false after a fallback)")
    peak_memory_bytes: int = Field(description="The accelerator's peak allocation, or on the CPU the training "
                                               "process's peak resident memory")
    peak_memory_of: Literal["device", "process"]
    workers: int = Field(default=1, description="Data-parallel workers that trained the run (config.workers)")


class SamplesEvent(EventBase):
    """A GAN's generated images after an epoch, from the same fixed noise each time: one PNG grid."""

    type: Literal["samples"] = "samples"
    epoch: int
    rows: int
    cols: int
    width: int = Field(description="Width of one sample in pixels (the grid has a 1-pixel gap between samples)")
    height: int = Field(description="Height of one sample in pixels")
    png: str = Field(description="The grid as a base64-encoded PNG (grey or RGB)")


class DoneEvent(EventBase):
    type: Literal["done"] = "done"
    status: Literal["completed", "failed", "stopped"]
    metrics: dict[str, float] = Field(default_factory=dict)
    test_metrics: dict[str, float] = Field(default_factory=dict)
    best_epoch: int | None = Field(default=None, description="The epoch whose weights the run keeps as its best")
    runtime: Runtime | None = Field(default=None, description="Device, precision, optimizer implementation and "
                                                              "memory peak (absent when training never started)")


Event = Annotated[StatusEvent | BatchEvent | EpochEvent | LogEvent | ErrorEvent | DoneEvent | InitEvent | HealthEvent
                  | SamplesEvent, Field(discriminator="type")]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
