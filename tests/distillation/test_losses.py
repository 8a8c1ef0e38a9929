"""Loss values against numbers worked out by hand."""

import math

import pytest
import torch

from distilkit.distillation import losses

# KL([0.9, 0.1] || [0.8, 0.2]) = 0.9 ln(0.9/0.8) + 0.1 ln(0.1/0.2) = 0.106005 - 0.069315 = 0.036690 nats
KL_WORKED = 0.036690


def logits_of(*probs: float, temperature: float = 1.0) -> torch.Tensor:
    """Logits whose softmax at ``temperature`` is ``probs`` (one row)."""
    return torch.tensor([[temperature * math.log(p) for p in probs]])


def test_kl_worked_example_nats_and_bits():
    kl = losses.soft_label_kl(logits_of(0.8, 0.2), logits_of(0.9, 0.1), temperature=1.0)
    assert kl.item() == pytest.approx(KL_WORKED, abs=1e-5)
    assert kl.item() / math.log(2) == pytest.approx(0.0529, abs=1e-4)


def test_temperature_squared_scaling():
    # Same softened distributions at T=2, so KL is unchanged and the term is 2^2 = 4 times larger.
    kl = losses.soft_label_kl(logits_of(0.8, 0.2, temperature=2.0), logits_of(0.9, 0.1, temperature=2.0), temperature=2.0)
    assert kl.item() == pytest.approx(4 * KL_WORKED, abs=1e-5)


def test_batch_mean_divides_by_rows_not_classes():
    student = torch.cat([logits_of(0.8, 0.2), logits_of(0.5, 0.5)])
    teacher = torch.cat([logits_of(0.9, 0.1), logits_of(0.5, 0.5)])
    kl = losses.soft_label_kl(student, teacher, temperature=1.0)
    assert kl.item() == pytest.approx(KL_WORKED / 2, abs=1e-5)  # (0.036690 + 0) / 2 rows, not / 4 elements


def test_identical_distributions_give_zero():
    x = torch.tensor([[1.0, -2.0, 0.5]])
    assert losses.soft_label_kl(x, x, temperature=3.0).item() == pytest.approx(0.0, abs=1e-6)


def test_hard_label_ce_skips_unlabelled_rows():
    student = torch.cat([logits_of(0.8, 0.2), logits_of(0.3, 0.7), logits_of(0.5, 0.5)])
    labels = torch.tensor([0, 1, -100])
    # mean of -ln 0.8 = 0.223144 and -ln 0.7 = 0.356675 over the 2 labelled rows
    assert losses.hard_label_ce(student, labels).item() == pytest.approx((0.223144 + 0.356675) / 2, abs=1e-5)


def test_hard_label_ce_with_no_labels_is_zero_not_nan():
    student = logits_of(0.8, 0.2).requires_grad_()
    ce = losses.hard_label_ce(student, torch.tensor([-100]))
    assert ce.item() == 0.0
    ce.backward()
    assert student.grad is not None


def test_kd_loss_mixes_soft_and_hard_terms():
    student, teacher, labels = logits_of(0.8, 0.2), logits_of(0.9, 0.1), torch.tensor([0])
    for alpha in (0.0, 0.25, 1.0):
        total = losses.kd_loss(student, teacher, labels, temperature=1.0, alpha=alpha)
        assert total.item() == pytest.approx(alpha * KL_WORKED + (1 - alpha) * 0.223144, abs=1e-5)


def test_soft_term_gradient_points_student_towards_teacher():
    student = logits_of(0.8, 0.2).requires_grad_()
    losses.soft_label_kl(student, logits_of(0.9, 0.1), temperature=1.0).backward()
    # d KL / d s = q - p = [0.8 - 0.9, 0.2 - 0.1]: gradient descent raises class 0
    assert student.grad[0].tolist() == pytest.approx([-0.1, 0.1], abs=1e-6)


def test_unlabelled_rows_weigh_one_on_the_soft_label():
    """Per row: labelled = alpha KD + (1 - alpha) CE, unlabelled = KD alone, batch mean. Worked by hand:
    both rows have student [0.8, 0.2] and teacher [0.9, 0.1]; row 0 is labelled class 0 (CE = -ln 0.8)."""
    from distilkit.distillation.objective import Objective
    from distilkit.teacher.targets import soft_targets

    student = torch.cat([logits_of(0.8, 0.2), logits_of(0.8, 0.2)])
    targets = soft_targets(torch.cat([logits_of(0.9, 0.1), logits_of(0.9, 0.1)]), 1.0)
    labels = torch.tensor([0, -100])
    ce0 = -math.log(0.8)
    for alpha in (0.25, 0.5, 1.0):
        objective = Objective({"kd": alpha, "ce": 1 - alpha})
        total, _ = objective(0.0, student_outputs=type("O", (), {"logits": student})(), labels=labels, targets=targets)
        expected = ((alpha * KL_WORKED + (1 - alpha) * ce0) + KL_WORKED) / 2
        assert total.item() == pytest.approx(expected, abs=1e-5), alpha
    assert losses.hard_or_soft_ce(student, labels, None, 1.0).item() == pytest.approx(ce0, abs=1e-5)  # no targets: labelled rows only
