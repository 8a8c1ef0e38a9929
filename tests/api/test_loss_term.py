"""A user-registered loss term: the decorator, the registry, the objective's weighted sum, the refusals."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

import distilkit
from distilkit.config import DistillConfig
from distilkit.distillation.presets import build_objective
from distilkit.distillation.terms import BUILTIN_TERMS, TERMS, Needs, positionwise_terms
from distilkit.errors import DistilkitError


@pytest.fixture
def soft_l1():
    """``sum_c |softmax(student)_c - target_c|``, mean over rows, registered for one test."""

    @distilkit.loss_term("soft_l1_test", needs=["soft_targets"])
    def term(x):
        return (x.student_logits.softmax(-1) - x.targets).abs().sum(-1).mean()

    yield term
    TERMS.pop("soft_l1_test", None)


def test_the_decorator_registers_the_term_and_returns_the_function(soft_l1):
    assert TERMS["soft_l1_test"].fn is soft_l1
    assert TERMS["soft_l1_test"].needs == Needs(soft_targets=True)
    assert "soft_l1_test" not in BUILTIN_TERMS


def test_a_recipe_uses_it_by_name_with_a_hand_computed_value(soft_l1):
    # logits (0, ln 3) -> softmax (0.25, 0.75); target (0.5, 0.5): |0.25-0.5| + |0.75-0.5| = 0.5.
    # Row 2: logits (0, 0) -> (0.5, 0.5); target (0.2, 0.8): 0.3 + 0.3 = 0.6. Mean 0.55; weight 2 -> 1.1.
    objective = build_objective(DistillConfig(data="x", loss_terms={"soft_l1_test": 2.0}))
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0]])
    targets = torch.tensor([[0.5, 0.5], [0.2, 0.8]])
    total, parts = objective(1.0, student_outputs=SimpleNamespace(logits=logits), targets=targets, labels=torch.tensor([0, 1]))
    assert parts["soft_l1_test"] == pytest.approx(0.55, abs=1e-6)
    assert float(total) == pytest.approx(1.1, abs=1e-6)
    assert objective.needs.soft_targets and not objective.needs.teacher_online


def test_positionwise_needs_reach_the_registry():
    @distilkit.loss_term("token_term_test", needs=Needs(hidden=True, positionwise=True))
    def term(x):
        return x.student.hidden(1).pow(2).mean()

    try:
        assert (
            "token_term_test" in positionwise_terms()
            and build_objective(DistillConfig(data="x", loss_terms={"token_term_test": 1.0})).needs.teacher_online
        )
    finally:
        TERMS.pop("token_term_test")


def test_refusals_are_one_line():
    with pytest.raises(DistilkitError, match="'kd' is a built-in term"):
        distilkit.loss_term("kd")(lambda x: x.student_logits.sum())
    with pytest.raises(DistilkitError, match=r"unknown need\(s\) \['targets'\]"):
        distilkit.loss_term("bad_need_test", needs=["targets"])(lambda x: x.student_logits.sum())
    with pytest.raises(DistilkitError, match="must be a word"):
        distilkit.loss_term("has space")(lambda x: x.student_logits.sum())
    with pytest.raises(DistilkitError, match=r"unknown loss_terms term\(s\) \['not_registered'\]"):
        build_objective(DistillConfig(data="x", loss_terms={"not_registered": 1.0}))
    assert "bad_need_test" not in TERMS and "has space" not in TERMS


def test_registering_again_replaces_a_users_term(soft_l1):
    @distilkit.loss_term("soft_l1_test")
    def again(x):
        return x.student_logits.sum() * 0

    assert TERMS["soft_l1_test"].fn is again
