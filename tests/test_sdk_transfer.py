"""The Python API's transfer learning: Model.load_weights(run_dir_or_file) and model.freeze([...])."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from helpers import trunk_cnn
from netcanvas import Model
from netcanvas.weights import node_state_dict


def weights(model: Model) -> dict[str, torch.Tensor]:
    assert model.compiled is not None
    return {k: v.clone() for k, v in node_state_dict(model.compiled).items()}


def test_reuse_a_trained_trunk_on_other_digits(tmp_path: Path) -> None:
    first = Model(trunk_cnn(5))
    first.compile(optimizer={"type": "adam", "lr": 0.01}, metrics=["accuracy"])
    first.fit("digits_0_4", epochs=2, verbose=0)
    run_dir = first.save(tmp_path / "digits_0_4")
    trained = weights(first)

    second = Model(trunk_cnn(5))
    second.compile(optimizer={"type": "adam", "lr": 0.01}, metrics=["accuracy"], init={"lr_scale": 0.5})
    matched = second.load_weights(run_dir)
    assert sorted(matched.loaded) == ["bn1", "c1", "fc"] and matched.mismatched == []
    second.freeze(["c1", "bn1"])
    second.fit("digits_5_9", epochs=2, verbose=0)
    after = weights(second)
    for key in ("c1.weight", "c1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"):
        assert torch.equal(trained[key], after[key]), key
    assert not torch.equal(trained["fc.weight"], after["fc.weight"])  # fine-tuned at half the lr

    ten = Model(trunk_cnn(10))
    matched = ten.load_weights(run_dir / "best.safetensors")
    assert sorted(matched.loaded) == ["bn1", "c1"]
    assert [(m.node, m.reason) for m in matched.mismatched] == [("fc", "weight is 10×256 here but 5×256 in the run")]


def test_mistakes_are_named(tmp_path: Path) -> None:
    model = Model(trunk_cnn(5))
    with pytest.raises(ValueError, match="no run or weights file"):
        model.load_weights(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="has no weights"):
        model.load_weights(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"freeze\[1\]: the graph has no node 'conv9'"):
        model.freeze(["c1", "conv9"])
    with pytest.raises(ValueError, match=r"init\.run: in the Python API, load weights with model\.load_weights"):
        model.compile(init={"run": "abc"})
