"""A run whose training diverged is never exported silently: every check fails it and says why."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.torch import load_file

from exporthelpers import hand_made_run
from helpers import chain
from netcanvas.artifacts import RunDir
from netcanvas.export import FORMATS, ExportError, export_run
from netcanvas.export.checks import MAX_ABS_DIFF, agree

GRAPH = chain([16], ("Linear", {"out_features": 32}), ("ReLU", {}), ("Linear", {"out_features": 32}),
              ("Linear", {"out_features": 4}))


def run_with_weights(run_id: str, change: dict[str, float]) -> RunDir:
    """The graph's initial weights, with each tensor named in ``change`` filled with (or multiplied by) a value."""
    run = hand_made_run(run_id, GRAPH)
    weights = run.weights_path()
    assert weights is not None
    tensors = load_file(str(weights))
    for key, value in change.items():
        if np.isfinite(value):
            tensors[key] = tensors[key] * value
        else:
            tensors[key].view(-1)[0] = value
    run.write_weights(tensors)
    return run


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_weights_that_are_not_finite_are_refused_in_every_format_naming_the_nodes(fmt: str) -> None:
    run = run_with_weights("nanweights", {"n0.bias": float("nan"), "n3.weight": float("inf")})
    with pytest.raises(ExportError) as error:
        export_run(run, fmt)
    assert str(error.value).startswith("cannot export: the weights of Linear 'n0', Linear 'n3' are not finite "
                                       "(NaN or infinite); training has probably diverged")
    assert error.value.node == "n0"
    assert not list((run.path / "exports").glob("model*"))  # no file, not even a cached one


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "pytorch"])
def test_outputs_of_huge_weights_fail_the_check_and_say_why(fmt: str) -> None:
    run = run_with_weights("hugeweights", {"n0.weight": 1e6, "n2.weight": 1e6, "n3.weight": 1e6})
    with pytest.raises(ExportError, match=r"output 'y' of the model reaches [0-9.]+e\+\d+ at batch 1 \(more than "
                                          r"1e\+12\); training has probably diverged"):
        export_run(run, fmt)


def test_weights_so_large_that_outputs_overflow_are_named_as_such() -> None:
    run = run_with_weights("overflowweights", {"n0.weight": 1e30, "n3.weight": 1e30})
    with pytest.raises(ExportError, match="output 'y' of PyTorch holds NaN or infinite values at batch 1"):
        export_run(run, "torchscript")


def test_a_difference_of_1e20_fails_even_where_it_is_small_relative_to_the_outputs() -> None:
    want = np.full((2, 3), 1e24)
    with pytest.raises(ExportError, match="reaches 1e\\+24 at batch 1"):
        agree("y", want, want + 1.5e20, "batch 1")
    # below the output limit, a difference the relative rule accepts still fails past MAX_ABS_DIFF
    want = np.full((2, 3), 1e10)
    with pytest.raises(ExportError, match=r"ONNX Runtime differs from PyTorch by 50 at batch 7 \(more than 1\) on "
                                          r"outputs as large as 1e\+10; training has probably diverged"):
        agree("y", want, want + 50, "batch 7", "ONNX Runtime")
    assert MAX_ABS_DIFF == 1.0


def test_what_the_check_accepts_and_what_it_does_not() -> None:
    want = np.array([[1.0, -2.0, 300.0]])
    assert agree("y", want, want + 1e-5, "batch 1") == pytest.approx((1e-5, 1e-5 / (1 + 1e-6)), rel=1e-3)
    with pytest.raises(ExportError, match=r"output 'y': the export disagrees with PyTorch at batch 1 \(max abs diff "
                                          r"0\.1, allowed 1e-05 \+ 0\.0001 x \|value\|\)"):
        agree("y", want, want + [[0.0, 0.0, 0.1]], "batch 1")
    with pytest.raises(ExportError, match=r"output 'y' of TorchScript holds NaN or infinite values at batch 7"):
        agree("y", want, want * np.nan, "batch 7", "TorchScript")
    with pytest.raises(ExportError, match=r"output 'y': the export returned shape \[3\], PyTorch \[1, 3\]"):
        agree("y", want, want[0], "batch 1")
