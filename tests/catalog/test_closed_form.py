"""Every layer's closed form (``Layer.closed_form``) against the module its ``build`` really makes.

Shape inference trusts a closed form instead of building and running the module, so for random params and input
shapes the two must agree: the same output shapes (a dynamic axis included), the same parameter count, or the same
ShapeError message.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcanvas import shapes
from netcanvas.catalog import REGISTRY, Inputs, Layer, ShapeError, TensorSpec

WITH_CLOSED_FORM = sorted(name for name, spec in REGISTRY.items()
                          if spec.params.closed_form is not Layer.closed_form or spec.params.shape_preserving)


def params_strategy(layer_type: str) -> st.SearchStrategy[dict[str, Any]]:
    """Random values of the params that change shapes or parameter counts."""
    fields = REGISTRY[layer_type].params.model_fields
    choices: dict[str, st.SearchStrategy[Any]] = {}
    for name, field in fields.items():
        if field.annotation is bool:
            choices[name] = st.booleans()
        elif name == "start_dim":
            choices[name] = st.integers(1, 5)
        elif name in ("dim", "end_dim"):
            choices[name] = st.integers(-5, 5)
        elif name == "out_features":
            choices[name] = st.integers(1, 40)
    return st.fixed_dictionaries({}, optional=choices)


AXIS = st.one_of(st.integers(1, 6), st.none())
SHAPES = st.lists(AXIS, min_size=1, max_size=4).map(tuple)


def variants(shape: tuple[int | None, ...]) -> st.SearchStrategy[tuple[int | None, ...]]:
    """A shape like ``shape`` that may differ in one axis (or be dynamic there): merges' inputs."""
    return st.tuples(st.integers(0, len(shape) - 1), AXIS, st.booleans()).map(
        lambda t: shape if t[2] else (*shape[:t[0]], t[1], *shape[t[0] + 1:]))


def by_building(layer: Layer, inputs: Inputs) -> tuple[list[tuple[int | None, ...]] | None, int | str]:
    """Output shapes and parameter count, or the error message, from the module ``build`` makes."""
    try:
        module = layer.build(inputs)
        outputs = shapes._run(layer, module, inputs, "cpu")
    except ShapeError as e:
        return None, str(e)
    except Exception as e:  # torch's own checks: the closed form must then say it has no answer
        return None, "torch: " + shapes.torch_message(e)
    return [o.shape for o in outputs], sum(p.numel() for p in module.parameters())


def by_closed_form(layer: Layer, inputs: Inputs) -> tuple[list[tuple[int | None, ...]] | None, int | str] | None:
    try:
        closed = layer.closed_form(inputs)
    except ShapeError as e:
        return None, str(e)
    return None if closed is None else (list(closed[0]), closed[1])


@pytest.mark.parametrize("layer_type", WITH_CLOSED_FORM)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_closed_form_matches_the_built_module(layer_type: str, data: st.DataObject) -> None:
    spec = REGISTRY[layer_type]
    layer = spec.params.model_validate(data.draw(params_strategy(layer_type)))
    first = data.draw(SHAPES)
    port = spec.inputs[0]
    count = data.draw(st.integers(1, 3)) if port.variadic else 1
    input_shapes = [first] + [data.draw(variants(first)) for _ in range(count - 1)]
    inputs = Inputs(layer_type, {port.name: [TensorSpec(s) for s in input_shapes]},
                    frozenset(p.name for p in spec.outputs))
    closed = by_closed_form(layer, inputs)
    built = by_building(layer, inputs)
    if closed is None:  # no closed form for these inputs: shape inference builds the module
        return
    assert not str(built[1]).startswith("torch: "), f"the closed form {closed} hides torch's {built[1]}"
    assert closed == built


def test_the_common_layers_have_closed_forms() -> None:
    assert {"Linear", "ReLU", "Add", "Concat", "Flatten", "Dropout", "BatchNorm1d", "BatchNorm2d",
            "LayerNorm", "Softmax"} <= set(WITH_CLOSED_FORM)


def test_shape_inference_uses_the_closed_form(monkeypatch: pytest.MonkeyPatch) -> None:
    shapes.clear_caches()
    linear = REGISTRY["Linear"].params
    monkeypatch.setattr(linear, "build", lambda self, inputs: pytest.fail("a Linear was built"))
    report = shapes.validate_graph({
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [3, 20]}},
                  {"id": "fc", "type": "Linear", "params": {"out_features": 7}}, {"id": "y", "type": "Output"}],
        "edges": [{"source": "x", "target": "fc"}, {"source": "fc", "target": "y"}]})
    assert report.valid
    assert report.nodes["fc"].output_shape == [3, 7]
    assert report.nodes["fc"].params == 20 * 7 + 7
