"""Per-layer health: probed every N steps, flags dead, vanishing and exploding layers, leaves no hooks behind."""

from typing import Any

import pytest
import torch

from helpers import assert_sentence, chain, mlp
from netcanvas import data
from netcanvas.compiler import CompiledGraph, compile_graph
from netcanvas.training import TrainConfig, train
from netcanvas.training.events import EVENT_ADAPTER, Event, HealthEvent
from netcanvas.training.health import judge


def run(graph: dict[str, Any], dataset: str = "iris", prepare_module: Any = None,
        **config: Any) -> tuple[CompiledGraph, list[Event], Any]:
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    if prepare_module is not None:
        prepare_module(compiled)
    cfg = TrainConfig.model_validate({"epochs": 2, "batch_size": 16, **config})
    prepared = data.prepare(data.load(dataset), compiled, seed=0, validation_split=cfg.validation_split)
    events: list[Event] = []
    result = train(compiled, prepared, cfg, events.append)
    return compiled, events, result


def health(events: list[Event]) -> list[HealthEvent]:
    return [e for e in events if isinstance(e, HealthEvent)]


def test_every_nth_step_is_probed_with_every_layer() -> None:
    compiled, events, result = run(mlp(4, 3), health={"every": 5})
    assert result.status == "completed"
    steps = next(e for e in health(events)).steps  # 96 training samples / 16 = 6 steps per epoch
    probed = [(e.epoch, e.step) for e in health(events)]
    assert probed == [(1, 1), (1, 6), (2, 5)] and steps == 6  # global steps 0, 5 and 10 of 12
    first = health(events)[0]
    assert set(first.nodes) == {"n0", "n1", "n2"}  # every layer, not the Input or Output
    relu, linear = first.nodes["n1"], first.nodes["n0"]
    assert relu.dead is not None and 0.0 <= relu.dead <= 1.0 and linear.dead is None
    assert relu.mean is not None and relu.mean >= 0.0 and relu.std is not None and relu.std > 0.0
    assert linear.grad_norm is not None and linear.grad_norm > 0.0
    assert linear.update_ratio is not None and 0.0 < linear.update_ratio < 0.1 and relu.update_ratio is None
    assert relu.grad_norm is not None and relu.grad_norm > 0.0  # the gradient at a weightless layer's output
    assert all(n.flag is None for n in first.nodes.values())
    # the event survives the trip through JSON, as the manager stores and replays it
    assert EVENT_ADAPTER.validate_json(first.model_dump_json()) == first


def test_no_hooks_are_left_and_off_means_no_events() -> None:
    compiled, events, _ = run(mlp(4, 3), health={"every": 1})
    assert len(health(events)) == 12
    for module in compiled.module.modules():
        assert not module._forward_hooks and not module._backward_hooks
    _, events, result = run(mlp(4, 3), health=None)
    assert result.status == "completed" and not health(events)


def test_the_probed_step_trains_like_the_others() -> None:
    """Probing reads values; it does not change what training computes."""
    _, _, with_health = run(mlp(4, 3), health={"every": 1})
    _, _, without = run(mlp(4, 3), health=None)
    assert with_health.history[-1]["metrics"] == without.history[-1]["metrics"]


def test_a_dead_relu_is_flagged_with_a_sentence() -> None:
    def kill(compiled: CompiledGraph) -> None:
        with torch.no_grad():
            compiled.module.get_submodule("n0").bias.fill_(-100.0)  # every unit of the ReLU after it is 0

    _, events, _ = run(mlp(4, 3), prepare_module=kill, health={"every": 50})
    relu = health(events)[0].nodes["n1"]
    assert relu.flag == "dead" and relu.dead == 1.0
    assert relu.message is not None and "100%" in relu.message and "dead ReLU" in relu.message
    assert_sentence(relu.message)


def test_vanishing_gradients_in_a_deep_sigmoid_stack() -> None:
    layers: list[tuple[str, dict[str, Any]]] = []
    for _ in range(12):
        layers += [("Linear", {"out_features": 16}), ("Sigmoid", {})]
    layers.append(("Linear", {"out_features": 3}))
    _, events, _ = run(chain([4], *layers), epochs=1, health={"every": 100},
                       optimizer={"type": "sgd", "lr": 0.01})
    nodes = health(events)[0].nodes
    assert nodes["n0"].flag == "vanishing"  # the first layer, 12 sigmoids away from the loss
    assert nodes["n24"].flag is None  # the last one gets its gradient
    assert nodes["n0"].message is not None and "vanishing" in nodes["n0"].message
    assert_sentence(nodes["n0"].message)


def test_a_learning_rate_far_too_high_is_flagged_exploding() -> None:
    _, events, _ = run(mlp(4, 3), epochs=1, health={"every": 100}, optimizer={"type": "sgd", "lr": 8.0})
    flags = {node: h.flag for node, h in health(events)[0].nodes.items()}
    assert "exploding" in flags.values(), flags
    message = next(h.message for h in health(events)[0].nodes.values() if h.flag == "exploding")
    assert message is not None and "learning rate" in message


def test_adams_first_step_moves_small_layers_far_and_flags_nothing_for_it() -> None:
    """Adam's first step moves every weight by about the learning rate: a large share of a small layer's weights
    in a healthy run, which must not read as 'lower the learning rate'. Its later steps are judged."""
    _, events, result = run(mlp(4, 3), epochs=3, health={"every": 1}, optimizer={"type": "adam", "lr": 0.05})
    probes = health(events)
    first = probes[0].nodes["n0"]
    assert (probes[0].epoch, probes[0].step) == (1, 1)
    assert first.update_ratio is not None and first.update_ratio > 0.1  # reported, as large as it is
    assert first.flag is None
    assert result.history[-1]["metrics"]["accuracy"] > 0.6  # it was healthy
    later = [(p.step, node) for p in probes[1:] for node in p.nodes.values()]
    assert all(node.flag == "exploding" for _, node in later if node.update_ratio and node.update_ratio > 0.1)

    _, events, _ = run(mlp(4, 3), epochs=1, health={"every": 100}, optimizer={"type": "sgd", "lr": 8.0})
    assert "exploding" in {h.flag for h in health(events)[0].nodes.values()}  # SGD's first step is judged


def test_judge_leaves_the_update_ratio_unjudged_when_asked() -> None:
    found = judge("Linear", {"grad_norm": 0.1, "weight_norm": 2.0, "update_ratio": 0.5}, judge_updates=False)
    assert found.flag is None and found.update_ratio == 0.5


@pytest.mark.parametrize("stats,flag", [
    ({"grad_norm": 5e-9, "weight_norm": 2.0, "update_ratio": 1e-6}, "vanishing"),
    ({"grad_norm": 5e3, "weight_norm": 2.0, "update_ratio": 0.01}, "exploding"),
    ({"grad_norm": float("inf"), "weight_norm": 2.0}, "exploding"),
    ({"grad_norm": 0.1, "weight_norm": 2.0, "update_ratio": 0.5}, "exploding"),
    ({"grad_norm": 0.1, "weight_norm": 2.0, "update_ratio": 0.001}, None),
    ({"mean": 0.0, "std": 0.0}, "dead"),
    ({"mean": 0.2, "std": 0.3, "dead": 0.2}, None),
])
def test_judge(stats: dict[str, float], flag: str | None) -> None:
    found = judge("Linear", stats)
    assert found.flag == flag
    assert (found.message is None) == (flag is None)
    if found.message:
        assert_sentence(found.message)
