"""Transfer learning: weights matched by node id and shape, frozen nodes untouched, a gentler lr for the loaded part."""

from typing import Any

import pytest
import torch

from helpers import chain
from netcanvas import data
from netcanvas.compiler import compile_graph
from netcanvas.training import TrainConfig, train
from netcanvas.training.config import Init
from netcanvas.training.transfer import check_freeze, match_weights, parameter_groups
from netcanvas.weights import node_state_dict


def cnn(classes: int, width: int = 8) -> dict[str, Any]:
    """A small CNN on 1×8×8 digits: conv + BatchNorm trunk, linear head."""
    return chain([1, 8, 8], ("Conv2d", {"out_channels": width, "kernel_size": 3, "padding": 1}),
                 ("BatchNorm2d", {}), ("ReLU", {}), ("MaxPool2d", {"kernel_size": 2}), ("Flatten", {}),
                 ("Linear", {"out_features": classes}))


def snapshot(compiled: Any) -> dict[str, Any]:
    """A copy of the weights by node id (node_state_dict shares the live tensors on the CPU)."""
    return {k: v.clone() for k, v in node_state_dict(compiled).items()}


def node_ids(graph: dict[str, Any]) -> dict[str, str]:
    return {n["type"]: n["id"] for n in graph["nodes"]}


def fit(graph: dict[str, Any], dataset: str, loaded: list[str] | None = None, **config: Any) -> Any:
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    cfg = TrainConfig.model_validate({"epochs": 2, "batch_size": 32, "optimizer": {"type": "adam", "lr": 0.01},
                                      **config})
    prepared = data.prepare(data.load(dataset), compiled, seed=0, validation_split=cfg.validation_split)
    return compiled, prepared, cfg


def test_frozen_weights_and_batchnorm_statistics_do_not_move() -> None:
    graph = cnn(5)
    ids = node_ids(graph)
    conv, bn, head = ids["Conv2d"], ids["BatchNorm2d"], ids["Linear"]
    source, prepared, cfg = fit(graph, "digits_0_4")
    assert train(source, prepared, cfg, lambda e: None).status == "completed"
    trained = node_state_dict(source)

    target, prepared, cfg = fit(graph, "digits_5_9", init={"freeze": [conv, bn]})
    matched = match_weights(target, trained)
    assert sorted(matched.loaded) == sorted([conv, bn, head]) and not matched.mismatched
    before = snapshot(target)
    result = train(target, prepared, cfg, lambda e: None, loaded=matched.loaded)
    assert result.status == "completed"
    after = node_state_dict(target)
    for key, value in before.items():
        if key.startswith((conv + ".", bn + ".")):  # weights, running mean/var and the batch count
            assert torch.equal(value, after[key]), key
    assert not torch.equal(before[f"{head}.weight"], after[f"{head}.weight"])
    for state in (result.best_state, result.last_state):
        assert state is not None
        assert torch.equal(state[f"{target.module_names[bn]}.running_mean"], before[f"{bn}.running_mean"])
    # freezing belongs to the training: the module is trainable again afterwards
    assert all(p.requires_grad for p in target.module.parameters())


def test_without_freezing_batchnorm_statistics_move() -> None:
    """The control for the test above: the same training does change an unfrozen BatchNorm's statistics."""
    graph = cnn(5)
    bn = node_ids(graph)["BatchNorm2d"]
    target, prepared, cfg = fit(graph, "digits_5_9")
    before = snapshot(target)
    train(target, prepared, cfg, lambda e: None)
    assert not torch.equal(before[f"{bn}.running_mean"], node_state_dict(target)[f"{bn}.running_mean"])


def test_mismatched_nodes_are_listed_and_left_fresh() -> None:
    source = compile_graph(cnn(10, width=8))
    torch.manual_seed(1)
    target = compile_graph(chain([1, 8, 8], ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}),
                                 ("BatchNorm2d", {}), ("ReLU", {}), ("MaxPool2d", {"kernel_size": 2}),
                                 ("Flatten", {}), ("Linear", {"out_features": 5}),
                                 ("Linear", {"out_features": 5})))
    ids = [n.id for n in target.graph.nodes]
    fresh_head = snapshot(target)[f"{ids[6]}.weight"]
    matched = match_weights(target, node_state_dict(source))
    assert matched.loaded == [ids[1], ids[2]]
    assert [m.node for m in matched.mismatched] == [ids[6]]
    assert matched.mismatched[0].reason == "weight is 5×128 here but 10×128 in the run"
    assert matched.fresh == [ids[7]]
    assert torch.equal(node_state_dict(target)[f"{ids[6]}.weight"], fresh_head)
    assert torch.equal(node_state_dict(target)[f"{ids[1]}.weight"], node_state_dict(source)[f"{ids[1]}.weight"])


def test_loaded_nodes_get_the_scaled_learning_rate() -> None:
    graph = cnn(5)
    ids = node_ids(graph)
    compiled = compile_graph(graph)
    groups = parameter_groups(compiled, Init(lr_scale=0.1), [ids["Conv2d"], ids["BatchNorm2d"]], 0.01)
    assert [g["lr"] for g in groups] == [0.01, pytest.approx(0.001)]
    assert sum(p.numel() for p in groups[1]["params"]) == 8 * 9 + 8 + 8 + 8
    assert len(parameter_groups(compiled, Init(), [ids["Conv2d"]], 0.01)) == 1


def test_freezing_everything_or_an_unknown_node_is_refused() -> None:
    graph = cnn(5)
    ids = node_ids(graph)
    compiled, prepared, cfg = fit(graph, "digits_5_9", init={"freeze": [ids["Conv2d"], ids["BatchNorm2d"],
                                                                        ids["Linear"]]})
    result = train(compiled, prepared, cfg, lambda e: None)
    assert result.status == "failed" and "config.init.freeze" in (result.error or "")
    with pytest.raises(ValueError, match=r"config\.init\.freeze\[1\]: the graph has no node 'nope'"):
        check_freeze(Init(freeze=[ids["Conv2d"], "nope"]), ids.values())


def test_lr_scale_must_be_in_range() -> None:
    with pytest.raises(ValueError, match="lr_scale"):
        TrainConfig.model_validate({"init": {"run": "x", "lr_scale": 0}})
    assert TrainConfig.model_validate({"init": {"freeze": ["a", "a"]}}).init == Init(freeze=["a"])
