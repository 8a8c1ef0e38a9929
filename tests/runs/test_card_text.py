"""The model card's selection section: new run files say how surely KD won; old ones (no confidence) still render."""

from __future__ import annotations

from distilkit.data.task_types import MULTI
from distilkit.runs.card_text import selection

OLD = {
    "shipped": "kd",
    "metric": "micro_f1",
    "kd_validation": 0.9448,
    "no_kd_validation": 0.9437,
    "kd_gain_points": 0.11,
    "teacher_validation": 0.96,
    "message": "KD +0.11 points of validation micro_f1 over the fair no-KD twin (0.9448 vs 0.9437): shipped the distilled student",
}


def card(sel: dict) -> str | None:
    return selection({"info": {"selection": sel}, "task_type": MULTI})


def test_a_run_file_from_before_the_paired_rule_renders_without_a_confidence():
    text = card(OLD)
    assert text is not None and "this folder holds the distilled model" in text
    assert "paired" not in text and "Rule:" not in text


def test_the_confidence_and_rule_are_said():
    new = {
        **OLD,
        "shipped": "no-kd",
        "confidence": 0.8996,
        "resamples": 1000,
        "validation_rows": 200,
        "rule": "KD ships when it beats the twin on validation in >= 90% of 1000 paired bootstrap resamples",
        "message": "KD +0.11 points ... but only in 89.9% of paired resamples (< 90%): shipped the no-KD twin",
    }
    text = card(new)
    assert "this folder holds the no-KD model" in text
    assert "KD was better in 89.9% of 1000 paired bootstrap resamples of the 200 validation rows." in text
    assert "Rule: KD ships when it beats the twin on validation in >= 90% of 1000 paired bootstrap resamples." in text
    assert card({**new, "confidence": None}).count("paired bootstrap resamples of") == 0  # --select-confidence 0: not measured
