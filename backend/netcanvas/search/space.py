"""A search space (docs/search.md): which node params and training settings a study varies, and how.

Keys name what varies: ``nodes.<node id>.<param>`` (a layer param; ``nodes.<id>.type`` swaps the layer type)
or ``config.<path>`` (the training config: ``config.optimizer.lr``, ``config.batch_size``, ...). Each value is
a float or int range (``low``, ``high``, optional ``log`` or ``step``) or a list of ``choices``.

``check_space`` finds every problem before anything is queued, each naming its key; ``apply`` writes one
trial's values into a copy of the graph and the config.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..catalog import REGISTRY
from ..graph import field_errors
from ..training import TrainConfig

MAX_DIMENSIONS = 32
MAX_CHOICES = 100
OPTIMIZER_KEPT = ("lr", "weight_decay")
"""What a new optimizer type keeps from the one it replaces (the other options belong to one optimizer)."""

Choice = str | bool | int | float


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class FloatRange(Strict):
    """Any number from low to high; log samples evenly in log space; step makes it a grid of values."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = Field(default=None, gt=0.0)


class IntRange(Strict):
    """Any integer from low to high (both included), in steps of step."""

    type: Literal["int"]
    low: int = Field(ge=-(2**31), le=2**31)
    high: int = Field(ge=-(2**31), le=2**31)
    log: bool = False
    step: int = Field(default=1, ge=1)


class Categorical(Strict):
    """One of the choices (strings, numbers or booleans)."""

    type: Literal["categorical"]
    choices: list[Choice] = Field(max_length=MAX_CHOICES)


Dimension = Annotated[FloatRange | IntRange | Categorical, Field(discriminator="type")]
Space = dict[str, Dimension]


@dataclass
class SpaceProblem:
    key: str
    """The space key at fault, or "" for the space as a whole."""
    message: str


@dataclass(frozen=True)
class Target:
    """What a key points at: a node's param (``node``, ``param``) or a config path (``path``)."""

    key: str
    node: str | None = None
    param: str | None = None
    path: tuple[str, ...] = ()


def parse_key(key: str, node_ids: list[str]) -> Target | str:
    """The target of a key, or why it names nothing. Node ids may hold dots: the longest id that fits wins."""
    if key.startswith("config."):
        path = tuple(key.removeprefix("config.").split("."))
        if not all(path):
            return f"'{key}' is not a config path such as config.optimizer.lr"
        return Target(key, path=path)
    if key.startswith("nodes."):
        rest = key.removeprefix("nodes.")
        for node_id in sorted(node_ids, key=len, reverse=True):
            if rest.startswith(node_id + ".") and len(rest) > len(node_id) + 1:
                return Target(key, node=node_id, param=rest[len(node_id) + 1:])
        node_part = rest.rsplit(".", 1)[0] if "." in rest else rest
        return f"the graph has no node '{node_part}' (keys look like nodes.<node id>.<param>)"
    return f"'{key}' names neither a node param (nodes.<id>.<param>) nor a training setting (config.<path>)"


def values_to_try(dim: FloatRange | IntRange | Categorical) -> list[Any]:
    """The values that stand for a dimension when it is checked: its ends, or every choice."""
    if isinstance(dim, Categorical):
        return list(dim.choices)
    return [dim.low, dim.high]


def range_problem(dim: FloatRange | IntRange | Categorical) -> str | None:
    if isinstance(dim, Categorical):
        if not dim.choices:
            return "a categorical dimension needs at least one choice"
        if len({repr(c) for c in dim.choices}) != len(dim.choices):
            return "the choices repeat a value"
        return None
    if dim.low > dim.high:
        return f"low ({dim.low:g}) is greater than high ({dim.high:g})"
    if dim.log and dim.low <= 0:
        return f"a log range needs low > 0 (low is {dim.low:g})"
    if dim.log and dim.step not in (None, 1):
        return "a log range cannot also have a step"
    if isinstance(dim, FloatRange) and dim.step is not None and dim.step > dim.high - dim.low and dim.high > dim.low:
        return f"step ({dim.step:g}) is larger than the range ({dim.low:g} to {dim.high:g})"
    return None


def set_config(config: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Write one value into a config dict (``config`` is changed); a new optimizer type keeps lr and weight decay."""
    if path == ("optimizer", "type"):
        old = config.get("optimizer") or {}
        config["optimizer"] = {"type": value, **{k: old[k] for k in OPTIMIZER_KEPT if k in old}}
        return
    where = config
    for part in path[:-1]:
        nested = where.get(part)
        if not isinstance(nested, dict):
            nested = {}
            where[part] = nested
        where = nested
    where[path[-1]] = value


def apply(graph: dict[str, Any], config: dict[str, Any], values: dict[str, Any],
          targets: dict[str, Target]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Copies of the graph and config with a trial's values written in (layer types before their params,
    the optimizer type before its options)."""
    graph, config = copy.deepcopy(graph), copy.deepcopy(config)
    nodes = {n["id"]: n for n in graph.get("nodes", [])}
    ordered = sorted(values, key=lambda k: 0 if targets[k].param == "type" or targets[k].path[-1:] == ("type",) else 1)
    for key in ordered:
        target, value = targets[key], values[key]
        if target.node is not None and target.param is not None:
            node = nodes[target.node]
            if target.param == "type":
                node["type"] = value
            else:
                node["params"] = {**(node.get("params") or {}), target.param: value}
        else:
            set_config(config, target.path, value)
    return graph, config


def node_problem(target: Target, dim: FloatRange | IntRange | Categorical, node: dict[str, Any]) -> str | None:
    """Whether every value to try is a valid value of the node's param (with its other params as they are)."""
    assert target.param is not None
    params = node.get("params") or {}
    if target.param == "type":
        if not isinstance(dim, Categorical):
            return "a layer type varies over a list of choices"
        unknown = [str(c) for c in dim.choices if not isinstance(c, str) or c not in REGISTRY]
        if unknown:
            return f"unknown layer type {', '.join(unknown)}"
        for choice in dim.choices:
            try:
                REGISTRY[str(choice)].params.model_validate(params)
            except ValidationError as e:
                loc, msg = field_errors(e)[0]
                return f"{choice} does not take the node's params ({loc}: {msg})"
        return None
    spec = REGISTRY.get(str(node.get("type")))
    if spec is None:
        return f"node '{target.node}' has an unknown layer type"
    fields = spec.params.model_fields
    if target.param not in fields:
        return (f"{spec.type_name} has no param '{target.param}'; its params: "
                f"{', '.join(fields) or '(none)'}")
    for value in values_to_try(dim):
        try:
            spec.params.model_validate({**params, target.param: value})
        except ValidationError as e:
            msg = next((m for loc, m in field_errors(e) if loc.split(".")[0] == target.param), field_errors(e)[0][1])
            return f"{value!r} is not a valid {target.param} of {spec.type_name}: {msg}"
    return None


def config_problem(target: Target, dim: FloatRange | IntRange | Categorical, config: dict[str, Any]) -> str | None:
    """Whether the config stays valid with each value to try written at the path."""
    for value in values_to_try(dim):
        trial = copy.deepcopy(config)
        set_config(trial, target.path, value)
        try:
            TrainConfig.model_validate(trial)
        except ValidationError as e:
            loc, msg = field_errors(e)[0]
            if "Extra inputs" in msg:
                return f"the training config has no setting {'.'.join(target.path)}"
            return f"{value!r} does not fit config.{loc}: {msg}"
    return None


def check_space(space: Space, graph: dict[str, Any], config: dict[str, Any]) -> tuple[dict[str, Target],
                                                                                     list[SpaceProblem]]:
    """Every key's target, and every problem of the space (each naming its key)."""
    problems: list[SpaceProblem] = []
    if not space:
        problems.append(SpaceProblem("", "the search space is empty: mark at least one param or setting to tune"))
    if len(space) > MAX_DIMENSIONS:
        problems.append(SpaceProblem("", f"the search space has {len(space)} dimensions; at most {MAX_DIMENSIONS}"))
    nodes = {n["id"]: n for n in graph.get("nodes", []) if isinstance(n, dict) and isinstance(n.get("id"), str)}
    targets: dict[str, Target] = {}
    for key, dim in space.items():
        target = parse_key(key, list(nodes))
        if isinstance(target, str):
            problems.append(SpaceProblem(key, target))
            continue
        problem = range_problem(dim)
        if problem is None:
            problem = (node_problem(target, dim, nodes[target.node]) if target.node is not None
                       else config_problem(target, dim, config))
        if problem is not None:
            problems.append(SpaceProblem(key, problem))
        else:
            targets[key] = target
    return targets, problems


def grid_values(dim: FloatRange | IntRange | Categorical) -> list[Any] | None:
    """A grid dimension's points, or None for a float range without a step (it has no finite grid)."""
    if isinstance(dim, Categorical):
        return list(dim.choices)
    if isinstance(dim, IntRange):
        return list(range(dim.low, dim.high + 1, dim.step))
    if dim.step is None:
        return None if dim.high > dim.low else [dim.low]
    count = int(math.floor((dim.high - dim.low) / dim.step + 1e-9)) + 1
    return [round(dim.low + i * dim.step, 12) for i in range(count)]


def grid_size(space: Space) -> int:
    size = 1
    for dim in space.values():
        points = grid_values(dim)
        size *= len(points) if points is not None else 0
    return size
