"""Pre-flight: what can be known about a training run before it starts, for the canvas and for POST /api/runs.

One owner for each rule: the memory estimate is ``limits.training_bytes``, the class-count check is
``class_problems`` here. POST /api/runs refuses a run with a 422 on them; POST /api/graphs/validate, given the same
dataset and config, reports them as warnings on the nodes they concern (they never block anything there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import Field, ValidationError, model_validator

from ..catalog import TensorSpec
from ..data import LOADERS, DataError, Dataset, bind, load
from ..data.errors import UploadError
from ..data.options import DatasetOptions
from ..graph import Problem, field_errors
from ..settings import Settings
from ..shapes import Estimates, NodeInfo, ValidationReport, parsed_graph
from ..training import TrainConfig
from ..training.gan import GanError
from .gan import gan_data_signature
from .limits import DYNAMIC_AXIS, OPTIMIZER_STATE, size_problem, training_bytes


class DatasetRef(DatasetOptions):
    """A built-in dataset by name, or an upload by id with how to read it (target, features, test split,
    preprocessing, augmentation: uploads only)."""

    name: str | None = Field(default=None, description="A built-in dataset (see GET /api/catalog)")
    id: str | None = Field(default=None, description="An uploaded dataset")
    binding: dict[str, str] | None = Field(default=None,
                                           description="Graph Input/Output name -> dataset field, where the "
                                                       "automatic binding (docs/graph-format.md) is not what you want")

    @model_validator(mode="after")
    def _one(self) -> DatasetRef:
        if (self.name is None) == (self.id is None):
            raise ValueError('give the dataset as {"name": ...} (built-in) or {"id": ...} (uploaded)')
        if self.name is not None and (options := self.model_fields_set & set(DatasetOptions.model_fields)):
            raise ValueError(f"{', '.join(sorted(options))}: only for uploaded datasets (a built-in one is read as "
                             "it is)")
        return self


@dataclass
class GraphSignature:
    """A validated graph's Inputs and Outputs as binding needs them, read from its report (no module is built)."""

    input_names: list[str]
    output_names: list[str]
    inputs: dict[str, TensorSpec]
    outputs: dict[str, TensorSpec]
    output_nodes: dict[str, str]
    """Output name -> node id."""


def signature(graph: dict[str, Any], report: ValidationReport) -> GraphSignature:
    parsed = report.parsed_graph() or parsed_graph(graph)

    def spec(node_id: str) -> TensorSpec:
        info = report.nodes[node_id]
        return TensorSpec(tuple(info.output_shape or ()), info.dtype or "float32")  # type: ignore[arg-type]

    inputs = [n for n in parsed.order if n in parsed.live and parsed.node(n).type == "Input"]
    outputs = {n.output_name: n.id for n in parsed.graph.nodes if n.type == "Output"}
    return GraphSignature(input_names=inputs, output_names=list(outputs), inputs={n: spec(n) for n in inputs},
                          outputs={name: spec(node) for name, node in outputs.items()}, output_nodes=outputs)


def class_problems(sig: GraphSignature, targets: dict[str, str], dataset: Dataset,
                   config: TrainConfig) -> list[Problem]:
    """An Output trained with sparse_categorical_crossentropy against a class field gives one score per class."""
    problems = []
    for name, field_name in targets.items():
        target, shape = dataset.field(field_name), sig.outputs[name].shape
        loss = config.loss_for(name, sig.output_names).type
        if loss != "sparse_categorical_crossentropy" or not target.classes or target.shape or len(shape) != 1:
            continue
        scores, classes, node = shape[0], len(target.classes), sig.output_nodes[name]
        if scores != classes:
            problems.append(Problem(node=node, message=f"Output '{node}' gives {scores:,} class scores but dataset "
                                                       f"'{dataset.name}' field '{field_name}' has {classes} "
                                                       f"classes; give the layer before it {classes} outputs"))
    return problems


def dataset_of(ref: DatasetRef, settings: Settings) -> Dataset:
    """The dataset a run names (an upload's fields only, no data). Raises UploadError or KeyError with the reason."""
    if ref.id is not None:
        from ..data.uploads import DatasetStore  # pyarrow, only for an upload

        return DatasetStore.of(settings).fields_of(ref.model_dump(exclude_unset=True))
    if ref.name not in LOADERS:
        raise KeyError(f"unknown dataset '{ref.name}'; built-in datasets: {', '.join(LOADERS)}")
    return load(str(ref.name))


# ---- hints ---------------------------------------------------------------------------------------------------------


def linear_hints(report: ValidationReport) -> list[Problem]:
    """A Linear fed a tensor of several axes acts on the last one (legal, as in PyTorch); after a convolution or an
    image that is usually a forgotten Flatten. A sequence ([time, features], its first axis dynamic or fed through a
    recurrent or attention layer) is left alone: a Linear per step is what it wants."""
    hints = []
    upstream: dict[str, str] | None = None
    for edge in report.edges:
        node = report.nodes.get(edge.target)
        if node is None or node.type != "Linear" or edge.shape is None or len(edge.shape) < 2:
            continue
        if upstream is None:  # once, not per Linear: a 5,000-node graph has thousands
            upstream = {e.target: e.source for e in report.edges}
        if len(edge.shape) == 2 and not _spatial(report, upstream, edge.source):
            continue
        shape = "×".join("?" if axis is None else str(axis) for axis in edge.shape)
        hints.append(Problem(node=edge.target, edge=edge, message=(
            f"Linear '{edge.target}' gets a {shape} tensor and acts on its last axis ({edge.shape[-1]} features) "
            f"only; to see the whole tensor, put a Flatten before it")))
    return hints


_SPATIAL = ("Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool1d", "AvgPool1d", "MaxPool2d", "AvgPool2d",
            "AdaptiveAvgPool2d", "BatchNorm2d", "InstanceNorm2d", "Upsample", "Dropout2d", "PrimaryCapsules")
"""Layers whose output axes are channels and positions: a Linear after them (directly or through an
activation) most likely wanted a Flatten."""
_PASS_THROUGH = ("ReLU", "ReLU6", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "ELU", "SiLU", "Hardswish", "Dropout",
                 "Identity", "BatchNorm1d", "GroupNorm")


def _spatial(report: ValidationReport, upstream: dict[str, str], node_id: str) -> bool:
    """Does a 2-D tensor come from a convolution (through activations and the like), or from a 2-D Input?
    ``upstream``: each node's source (the last edge into it)."""
    for _ in range(len(report.nodes)):
        node = report.nodes.get(node_id)
        if node is None:
            return False
        if node.type in _SPATIAL:
            return True
        if node.type == "Input":
            return bool(node.output_shape) and None not in (node.output_shape or [])
        if node.type not in _PASS_THROUGH or node_id not in upstream:
            return False
        node_id = upstream[node_id]
    return False


# ---- estimates and the pre-flight warnings -------------------------------------------------------------------------


def _node_bytes(node: NodeInfo, optimizer: str, batch_size: int) -> int:
    """One node's share of ``training_bytes``: its weights with their state, its outputs for a batch."""
    values = sum(math.prod(DYNAMIC_AXIS if axis is None else axis for axis in shape)
                 for shape in node.output_shapes.values() if shape is not None)
    return 4 * (node.params * (2 + OPTIMIZER_STATE.get(optimizer, 2)) + 2 * batch_size * values)


def estimates(report: ValidationReport, optimizer: str, batch_size: int, settings: Settings) -> Estimates:
    return Estimates(batch_size=batch_size, optimizer=optimizer, parameter_bytes=4 * report.total_params,
                     training_bytes=training_bytes(report, optimizer, batch_size),
                     training_limit_bytes=int(settings.max_training_memory_mb * 1_000_000),
                     max_params=settings.max_params)


def size_warning(report: ValidationReport, optimizer: str, batch_size: int, settings: Settings) -> Problem | None:
    """Past the parameter or memory limit: the refusal POST /api/runs would give, on the node that weighs most."""
    problem = size_problem(report, optimizer, batch_size, settings)
    if problem is None or not report.nodes:
        return None
    heaviest, node = max(report.nodes.items(), key=lambda item: _node_bytes(item[1], optimizer, batch_size))
    share = _node_bytes(node, optimizer, batch_size) / 1e6
    return Problem(node=heaviest, message=f"{problem}. {node.type} '{heaviest}' takes the most: about "
                                          f"{share:,.0f} MB ({node.params:,} parameters)")


def training_context(body: dict[str, Any]) -> tuple[DatasetRef | None, TrainConfig, list[Problem]]:
    """The dataset and config of a pre-flight body, or the defaults, with what could not be read of them."""
    problems: list[Problem] = []
    ref, config = None, TrainConfig()
    if body.get("dataset") is not None:
        try:
            ref = DatasetRef.model_validate(body["dataset"])
        except ValidationError as e:
            problems += [Problem(field=f"dataset{'.' + where if where else ''}",
                                 message=f"the training dataset{' ' + where if where else ''}: {message}")
                         for where, message in field_errors(e)]
    if body.get("config") is not None:
        try:
            config = TrainConfig.model_validate(body["config"])
        except ValidationError as e:
            problems += [Problem(field=f"config{'.' + where if where else ''}",
                                 message=f"the training config{' ' + where if where else ''}: {message}")
                         for where, message in field_errors(e)]
    return ref, config, problems


def preflight(graph: dict[str, Any], report: ValidationReport, ref: DatasetRef | None, config: TrainConfig,
              settings: Settings) -> ValidationReport:
    """The report with the estimates for this batch size and optimizer, the size and dataset warnings, and the
    hints. Never raises: whatever stands in the way is a warning."""
    optimizer, batch = config.optimizer.type, config.batch_size
    warnings = list(report.warnings)
    if too_big := size_warning(report, optimizer, batch, settings):
        warnings.append(too_big)
    if ref is not None and report.valid:
        try:
            dataset = dataset_of(ref, settings)
            sig = signature(graph, report)
            if config.gan is not None:  # a GAN binds its discriminator's image Input only
                sig = gan_data_signature(graph, report, config.gan, sig)
            warnings += class_problems(sig, bind(sig, dataset, ref.binding).targets, dataset, config)
        except GanError as e:
            warnings.append(Problem(node=e.node, message=str(e), field=f"config.gan.{e.field}"))
        except (UploadError, KeyError, DataError) as e:
            warnings.append(Problem(message=str(e.args[0]) if e.args else str(e), field="dataset"))
    return report.model_copy(update={"warnings": warnings, "hints": linear_hints(report),
                                     "estimates": estimates(report, optimizer, batch, settings)})
