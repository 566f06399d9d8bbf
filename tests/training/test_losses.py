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
