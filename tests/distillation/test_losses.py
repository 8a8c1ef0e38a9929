"""Loss values against numbers worked out by hand."""

import math

import pytest
import torch

from distilkit.distillation import losses
from distilkit.teacher.targets import soft_targets

# KL([0.9, 0.1] || [0.8, 0.2]) = 0.9 ln(0.9/0.8) + 0.1 ln(0.1/0.2) = 0.106005 - 0.069315 = 0.036690 nats
KL_WORKED = 0.036690


def logits_of(*probs: float, temperature: float = 1.0) -> torch.Tensor:
    """Logits whose softmax at ``temperature`` is ``probs`` (one row)."""
    return torch.tensor([[temperature * math.log(p) for p in probs]])


def soft_kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """The live soft-label term: T^2 KL(softmax(t/T) || softmax(s/T)), batch mean."""
    return losses.kl_to_target(student, soft_targets(teacher, temperature), temperature)


def test_kl_worked_example_nats_and_bits():
    kl = soft_kl(logits_of(0.8, 0.2), logits_of(0.9, 0.1), temperature=1.0)
    assert kl.item() == pytest.approx(KL_WORKED, abs=1e-5)
    assert kl.item() / math.log(2) == pytest.approx(0.0529, abs=1e-4)


def test_temperature_squared_scaling():
    # Same softened distributions at T=2, so KL is unchanged and the term is 2^2 = 4 times larger.
    kl = soft_kl(logits_of(0.8, 0.2, temperature=2.0), logits_of(0.9, 0.1, temperature=2.0), temperature=2.0)
    assert kl.item() == pytest.approx(4 * KL_WORKED, abs=1e-5)


def test_batch_mean_divides_by_rows_not_classes():
    student = torch.cat([logits_of(0.8, 0.2), logits_of(0.5, 0.5)])
    teacher = torch.cat([logits_of(0.9, 0.1), logits_of(0.5, 0.5)])
    kl = soft_kl(student, teacher, temperature=1.0)
    assert kl.item() == pytest.approx(KL_WORKED / 2, abs=1e-5)  # (0.036690 + 0) / 2 rows, not / 4 elements


def test_identical_distributions_give_zero():
    x = torch.tensor([[1.0, -2.0, 0.5]])
    assert soft_kl(x, x, temperature=3.0).item() == pytest.approx(0.0, abs=1e-6)


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


def test_objective_mixes_soft_and_hard_terms_on_a_labelled_row():
    from distilkit.distillation.objective import Objective

    student, targets, labels = logits_of(0.8, 0.2), soft_targets(logits_of(0.9, 0.1)), torch.tensor([0])
    for alpha in (0.0, 0.25, 1.0):
        total, _ = Objective({"kd": alpha, "ce": 1 - alpha})(0.0, student_outputs=_Out(student), labels=labels, targets=targets)
        assert total.item() == pytest.approx(alpha * KL_WORKED + (1 - alpha) * 0.223144, abs=1e-5)


def test_soft_term_gradient_points_student_towards_teacher():
    student = logits_of(0.8, 0.2).requires_grad_()
    soft_kl(student, logits_of(0.9, 0.1), temperature=1.0).backward()
    # d KL / d s = q - p = [0.8 - 0.9, 0.2 - 0.1]: gradient descent raises class 0
    assert student.grad[0].tolist() == pytest.approx([-0.1, 0.1], abs=1e-6)


# -- task types (issue 15): values worked out by hand -------------------------------------------


def test_temperature_on_a_teacher_given_as_probabilities_by_hand():
    # softmax(log p / T) = p^(1/T) renormalised. [0.9, 0.1] at T = 2: sqrt -> ratio 3 : 1 -> [0.75, 0.25]
    out = soft_targets(torch.log(torch.tensor([[0.9, 0.1]])), 2.0)
    assert out.tolist()[0] == pytest.approx([0.75, 0.25], abs=1e-6)
    # T = 1 leaves probabilities as they are
    assert soft_targets(torch.log(torch.tensor([[0.7, 0.3]])), 1.0).tolist()[0] == pytest.approx([0.7, 0.3], abs=1e-6)


class _Out:
    """A model output holding only ``logits``."""

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits


def _logit(p: float, temperature: float = 1.0) -> float:
    return temperature * math.log(p / (1 - p))


def test_binary_kl_by_hand():
    # label 1: teacher 0.8, student 0.6: 0.8 ln(0.8/0.6) + 0.2 ln(0.2/0.4) = 0.230146 - 0.138629 = 0.091516
    # label 2: teacher 0.5, student 0.5: 0. Mean over the 2 labels: 0.045758
    student = torch.tensor([[_logit(0.6), _logit(0.5)]])
    target = torch.tensor([[0.8, 0.5]])
    assert losses.binary_kl_to_target(student, target, 1.0).item() == pytest.approx(0.045758, abs=1e-5)
    # T = 2, same softened probabilities: T^2 = 4 times the value
    student_t2 = torch.tensor([[_logit(0.6, 2.0), _logit(0.5, 2.0)]])
    assert losses.binary_kl_to_target(student_t2, target, 2.0).item() == pytest.approx(4 * 0.045758, abs=1e-5)
    assert losses.binary_kl_to_target(torch.tensor([[_logit(0.8)]]), torch.tensor([[0.8]])).item() == pytest.approx(0.0, abs=1e-7)


def test_multi_label_bce_skips_unlabelled_rows_by_hand():
    # row 1: labels [1, 0], probabilities [0.8, 0.4]: -(ln 0.8 + ln 0.6) / 2 = (0.223144 + 0.510826) / 2 = 0.366985
    student = torch.tensor([[_logit(0.8), _logit(0.4)], [5.0, -5.0]])
    labels = torch.tensor([[1.0, 0.0], [-100.0, -100.0]])
    assert losses.multi_label_bce(student, labels).item() == pytest.approx(0.366985, abs=1e-5)
    only_unlabelled = losses.multi_label_bce(student[1:], labels[1:])
    assert only_unlabelled.item() == 0.0


def test_regression_terms_by_hand():
    # KD: student [1, 3], teacher [0, 1]: (1 + 4) / 2 = 2.5
    assert losses.mse_to_target(torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [1.0]])).item() == pytest.approx(2.5)
    # gold: NaN rows are unlabelled: student [1, 3, 5], labels [0, NaN, 4]: (1 + 1) / 2 = 1
    assert losses.regression_mse(torch.tensor([[1.0], [3.0], [5.0]]), torch.tensor([0.0, float("nan"), 4.0])).item() == pytest.approx(1.0)
    assert losses.regression_mse(torch.tensor([[1.0]]), torch.tensor([float("nan")])).item() == 0.0


def test_gold_loss_dispatches_on_the_task_type():
    logits = torch.tensor([[_logit(0.8), _logit(0.4)]])
    assert losses.gold_loss("multi_label_classification", logits, torch.tensor([[1.0, 0.0]])).item() == pytest.approx(0.366985, abs=1e-5)
    assert losses.gold_loss("regression", torch.tensor([[2.0]]), torch.tensor([0.0])).item() == pytest.approx(4.0)
    ce = losses.gold_loss("single_label_classification", logits_of(0.8, 0.2), torch.tensor([0]))
    assert ce.item() == pytest.approx(-math.log(0.8), abs=1e-6)


def _unlabelled_case(task_type: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float, float]:
    """Two rows, row 0 labelled and row 1 not: (student outputs, labels, teacher targets, row 0's gold
    loss, each row's soft loss), worked by hand. Both rows have the same student and teacher outputs."""
    if task_type == "multi_label_classification":
        # student sigmoids [0.6, 0.5], teacher [0.8, 0.5]: binary KL 0.045758 (see test_binary_kl_by_hand);
        # row 0 labels [1, 0]: BCE (-ln 0.6 - ln 0.5) / 2 = (0.510826 + 0.693147) / 2 = 0.601986
        student = torch.tensor([[_logit(0.6), _logit(0.5)]] * 2)
        return student, torch.tensor([[1.0, 0.0], [-100.0, -100.0]]), torch.tensor([[0.8, 0.5]] * 2), 0.601986, 0.045758
    if task_type == "regression":
        # student 1 and 1, teacher 0 and 0 (standardised): soft (1 - 0)^2 = 1; row 0 gold 0.5: (1 - 0.5)^2 = 0.25
        return torch.tensor([[1.0], [1.0]]), torch.tensor([0.5, float("nan")]), torch.tensor([[0.0], [0.0]]), 0.25, 1.0
    # student [0.8, 0.2], teacher [0.9, 0.1]: KL 0.036690; row 0 class 0: CE -ln 0.8 = 0.223144
    student = torch.cat([logits_of(0.8, 0.2), logits_of(0.8, 0.2)])
    return student, torch.tensor([0, -100]), soft_targets(torch.cat([logits_of(0.9, 0.1)] * 2)), 0.223144, KL_WORKED


@pytest.mark.parametrize("task_type", ["single_label_classification", "multi_label_classification", "regression"])
def test_unlabelled_rows_weigh_one_on_the_soft_label(task_type):
    """One rule for every task type. Per row: labelled = alpha soft + (1 - alpha) gold, unlabelled =
    soft alone (weight 1, whatever alpha is); the loss is the mean over the batch's rows."""
    from distilkit.distillation.objective import Objective

    student, labels, targets, gold0, soft = _unlabelled_case(task_type)
    for alpha in (0.0, 0.25, 0.5, 1.0):
        objective = Objective({"kd": alpha, "ce": 1 - alpha})
        objective.use_task(task_type)
        total, _ = objective(0.0, student_outputs=_Out(student), labels=labels, targets=targets)
        expected = ((alpha * soft + (1 - alpha) * gold0) + soft) / 2
        assert total.item() == pytest.approx(expected, abs=1e-5), alpha
    no_targets = losses.gold_or_soft(task_type, student, labels, None)  # without a teacher: labelled rows only
    assert no_targets.item() == pytest.approx(gold0, abs=1e-5)
