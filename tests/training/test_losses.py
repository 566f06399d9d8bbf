"""Losses against PyTorch's own, with and without a final activation, and their stability."""

import pytest
import torch
import torch.nn.functional as F

from netcanvas.training.config import LOSS_ALIASES, LossSpec
from netcanvas.training.losses import LOSS_DOCS, Head, class_axis, make_loss

torch.manual_seed(0)
SCORES = torch.randn(16, 5, dtype=torch.float64)
LABELS = torch.randint(0, 5, (16,))


@pytest.mark.parametrize("final", [None, "Softmax", "LogSoftmax"])
def test_sparse_categorical_crossentropy_reads_scores_before_the_final_activation(final: str | None) -> None:
    loss = make_loss("sparse_categorical_crossentropy", final)(SCORES, LABELS)
    assert loss.item() == pytest.approx(F.cross_entropy(SCORES, LABELS).item())


@pytest.mark.parametrize("final", [None, "Softmax"])
def test_categorical_crossentropy_takes_one_hot_and_integer_targets(final: str | None) -> None:
    fn = make_loss("categorical_crossentropy", final)
    expected = F.cross_entropy(SCORES, LABELS).item()
    assert fn(SCORES, F.one_hot(LABELS, 5).double()).item() == pytest.approx(expected)
    assert fn(SCORES, LABELS).item() == pytest.approx(expected)
    soft = torch.softmax(torch.randn(16, 5, dtype=torch.float64), -1)
    assert fn(SCORES, soft).item() == pytest.approx(F.cross_entropy(SCORES, soft).item())


@pytest.mark.parametrize("final", [None, "Sigmoid"])
def test_binary_crossentropy_on_scores_and_integer_or_float_targets(final: str | None) -> None:
    scores = torch.randn(16, 1, dtype=torch.float64)
    targets = torch.randint(0, 2, (16,))
    expected = F.binary_cross_entropy_with_logits(scores, targets[:, None].double()).item()
    assert make_loss("binary_crossentropy", final)(scores, targets).item() == pytest.approx(expected)
    as_float = make_loss("binary_crossentropy", final)(scores, targets.double()[:, None])
    assert as_float.item() == pytest.approx(expected)


def test_regression_losses_match_pytorch_and_align_a_flat_target() -> None:
    out, y = torch.randn(16, 1), torch.randn(16)
    assert make_loss("mse")(out, y).item() == pytest.approx(F.mse_loss(out[:, 0], y).item())
    assert make_loss("mae")(out, y).item() == pytest.approx(F.l1_loss(out[:, 0], y).item())
    assert make_loss("huber")(out * 3, y).item() == pytest.approx(F.huber_loss(out[:, 0] * 3, y).item())


def test_a_confidently_wrong_softmax_still_gets_a_gradient() -> None:
    # log(clamp(softmax)) would be flat here: the true class's probability is e^-60.
    scores = torch.tensor([[60.0, 0.0, 0.0]], requires_grad=True)
    loss = make_loss("sparse_categorical_crossentropy", "Softmax")(scores, torch.tensor([1]))
    loss.backward()
    assert loss.item() == pytest.approx(60.0, rel=1e-4)
    assert scores.grad is not None and scores.grad.abs().sum() > 1.0


def test_classes_on_axis_one_are_recognised_for_sequences() -> None:
    scores, labels = torch.randn(4, 5, 7), torch.randint(0, 5, (4, 7))  # [B, C, T], PyTorch layout
    assert class_axis(scores, labels) == 1
    expected = F.cross_entropy(scores, labels).item()
    sparse = make_loss("sparse_categorical_crossentropy")
    assert sparse(scores, labels).item() == pytest.approx(expected, rel=1e-5)
    last = scores.transpose(1, 2).contiguous()  # [B, T, C], Keras layout
    assert sparse(last, labels).item() == pytest.approx(expected, rel=1e-5)
    softmax_dim1 = make_loss("sparse_categorical_crossentropy", "Softmax", dim=1)
    assert softmax_dim1(scores, labels).item() == pytest.approx(expected, rel=1e-5)


def test_shape_mismatch_says_what_the_model_gives_and_what_the_target_is() -> None:
    with pytest.raises(ValueError, match=r"outputs \[3\] per sample but the target is \[2\]"):
        make_loss("mse")(torch.randn(4, 3), torch.randn(4, 2))


def test_every_alias_names_a_documented_loss() -> None:
    assert set(LOSS_ALIASES.values()) == set(LOSS_DOCS)
    for alias in ("MSELoss", "L1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
                  "NLLLoss"):
        assert LossSpec(type=alias).type in LOSS_DOCS


def test_head_probabilities_have_classes_last() -> None:
    head = Head("y", "sparse_categorical_crossentropy", 1.0, ("accuracy",), "Softmax", 1)
    scores = torch.randn(2, 3, 4)
    probs = head.probabilities(scores, head.axis(scores, torch.zeros(2, 4, dtype=torch.int64)))
    assert probs.shape == (2, 4, 3) and torch.allclose(probs.sum(-1), torch.ones(2, 4))
    binary = Head("y", "binary_crossentropy", 1.0, (), "Sigmoid")
    assert torch.allclose(binary.probabilities(torch.zeros(3, 1), -1), torch.full((3, 1), 0.5))


def test_margin_loss_matches_capsnets_formula() -> None:
    lengths = torch.tensor([[0.95, 0.05, 0.3], [0.2, 0.6, 0.05]])
    labels = torch.tensor([0, 2])
    expected = ((0.0 + 0.5 * 0.0 + 0.5 * 0.2 ** 2)  # sample 0: the target reaches 0.9; class 2 is 0.2 over 0.1
                + (0.5 * 0.1 ** 2 + 0.5 * 0.5 ** 2 + 0.85 ** 2)) / 2  # sample 1: the target is 0.85 short
    loss = make_loss("margin")(lengths, labels)
    assert float(loss) == pytest.approx(expected)
    one_hot = torch.nn.functional.one_hot(labels, 3).float()
    assert float(make_loss("margin")(lengths, one_hot)) == pytest.approx(expected)
    stricter = make_loss("margin", options=(0.99, 0.0, 1.0))(lengths, labels)
    assert float(stricter) > expected


def test_margin_loss_options_are_config_fields_of_the_margin_loss_only() -> None:
    spec = LossSpec.model_validate({"type": "margin_loss", "m_plus": 0.8})
    assert spec.type == "margin" and spec.options() == (0.8, 0.1, 0.5)
    with pytest.raises(ValueError, match="m_plus: only for the margin loss"):
        LossSpec.model_validate({"type": "mse", "m_plus": 0.8})
    with pytest.raises(ValueError, match="less than or equal to 1"):
        LossSpec.model_validate({"type": "margin", "m_minus": 2})


def test_margin_loss_trains_a_capsule_network_and_reports_accuracy() -> None:
    from helpers import chain
    from netcanvas import data
    from netcanvas.compiler import compile_graph
    from netcanvas.training import TrainConfig, train

    graph = chain([1, 8, 8], ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
                  ("PrimaryCapsules", {"capsules": 4, "capsule_dim": 4, "kernel_size": 3, "stride": 2}),
                  ("RoutingCapsules", {"capsules": 10, "capsule_dim": 4}), ("CapsuleLength", {}))
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    prepared = data.prepare(data.load("digits"), compiled, seed=0)
    config = TrainConfig.model_validate({"loss": "margin", "optimizer": {"type": "adam", "lr": 0.01}, "epochs": 3})
    result = train(compiled, prepared, config, lambda e: None)
    assert result.status == "completed", result.error
    assert result.history[-1]["metrics"]["loss"] < result.history[0]["metrics"]["loss"]
    assert result.history[-1]["metrics"]["val_accuracy"] > 0.8
