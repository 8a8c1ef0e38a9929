"""Teacher outputs given as data: the formats, the temperature on probabilities, and the checks."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
import torch

from distilkit.errors import DistilkitError
from distilkit.teacher.external import ExternalTeacher, external_label_names
from distilkit.teacher.targets import task_targets


def _csv(tmp_path, rows: dict, name: str = "out.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_probabilities_soften_as_p_to_the_one_over_t(tmp_path):
    path = _csv(tmp_path, {"text": ["a", "b"], "p_pos": [0.9, 0.2], "p_neg": [0.1, 0.8]})
    teacher = ExternalTeacher(str(path))
    assert teacher.label_names == ["neg", "pos"] and teacher.kind == "probabilities"
    out = teacher.lookup(["b", "a"])
    # softmax(log p / 2) = p^(1/2) renormalised: [0.1, 0.9] -> [0.316228, 0.948683] / 1.264911 = [0.25, 0.75]
    assert task_targets(torch.tensor(out[1:]), 2.0).tolist()[0] == pytest.approx([0.25, 0.75], abs=1e-5)
    assert task_targets(torch.tensor(out[:1]), 1.0).tolist()[0] == pytest.approx([0.8, 0.2], abs=1e-5)


def test_multi_label_probabilities_soften_per_label(tmp_path):
    path = _csv(tmp_path, {"text": ["a"], "p_x": [0.8], "p_y": [0.5]})
    teacher = ExternalTeacher(str(path), task_type="multi_label_classification")
    # sigmoid(logit(0.8) / 2) = sqrt(0.8) / (sqrt(0.8) + sqrt(0.2)) = 0.894427 / 1.341641 = 2/3
    got = task_targets(torch.tensor(teacher.lookup(["a"])), 2.0, "multi_label_classification").tolist()[0]
    assert got == pytest.approx([2 / 3, 0.5], abs=1e-5)


def test_logits_hard_labels_and_regression(tmp_path):
    logits = ExternalTeacher(str(_csv(tmp_path, {"text": ["a"], "logits": [json.dumps([2.0, -1.0])]}, "l.csv")))
    assert logits.kind == "logits" and logits.lookup(["a"]).tolist() == [[2.0, -1.0]]
    hard = ExternalTeacher(str(_csv(tmp_path, {"text": ["a", "b"], "label": ["pos", "pos"]}, "h.csv")))
    assert hard.kind == "hard labels" and hard.label_names == ["pos"]
    hard.align(["neg", "pos"])  # a label the teacher never gave gets probability ~0
    probs = torch.softmax(torch.tensor(hard.lookup(["a"])), -1).tolist()[0]
    assert probs == pytest.approx([0.0, 1.0], abs=1e-6)
    reg = ExternalTeacher(str(_csv(tmp_path, {"text": ["a"], "prediction": [3.5]}, "r.csv")), task_type="regression")
    assert reg.lookup(["a"]).tolist() == [[3.5]]


def test_pairs_are_matched_on_both_texts(tmp_path):
    path = _csv(tmp_path, {"s1": ["a", "a"], "s2": ["b", "c"], "p_no": [0.1, 0.7], "p_yes": [0.9, 0.3]})
    teacher = ExternalTeacher(str(path), "s1", "s2")
    assert teacher.lookup(["a", "a"], ["c", "b"])[:, 1].tolist() == pytest.approx(np.log([0.3, 0.9]).tolist(), abs=1e-6)


def test_probabilities_must_sum_to_one_unless_normalised(tmp_path, caplog):
    path = _csv(tmp_path, {"text": ["a", "b"], "p_x": [0.5, 0.6], "p_y": [0.5, 0.6]})
    with pytest.raises(DistilkitError, match=r"1 row\(s\) have probabilities that do not sum to 1 \(first at row 2: sum 1.2000\)"):
        ExternalTeacher(str(path))
    with caplog.at_level(logging.WARNING):
        teacher = ExternalTeacher(str(path), normalise=True)
    assert "normalised" in caplog.text
    assert np.exp(teacher.lookup(["b"])).tolist()[0] == pytest.approx([0.5, 0.5])


@pytest.mark.parametrize(
    "rows, message",
    [
        ({"text": ["a"], "p_x": [1.5], "p_y": [-0.5]}, "outside [0, 1]"),
        ({"text": ["a", "b"], "p_x": [0.5, None], "p_y": [0.5, 0.5]}, "no number in 'p_x' (first at row 2"),
        ({"text": ["a"], "score": [1]}, "no teacher outputs found"),
        ({"review": ["a"], "p_x": [1.0]}, "no column 'text'"),
    ],
)
def test_bad_outputs_files(tmp_path, rows, message):
    with pytest.raises(DistilkitError, match=message.replace("(", r"\(").replace("[", r"\[")):
        ExternalTeacher(str(_csv(tmp_path, rows)))


def test_missing_texts_are_counted_with_the_first_example(tmp_path):
    teacher = ExternalTeacher(str(_csv(tmp_path, {"text": ["a"], "p_x": [0.5], "p_y": [0.5]})))
    with pytest.raises(DistilkitError, match=r"2 text\(s\) of the data are not in the teacher outputs .* \(first: 'b'\)"):
        teacher.lookup(["a", "b", "c"])


def test_label_sets_must_match_the_data(tmp_path):
    teacher = ExternalTeacher(str(_csv(tmp_path, {"text": ["a"], "p_x": [0.5], "p_y": [0.5]})))
    with pytest.raises(DistilkitError, match=r"label\(s\) \['y'\] in the teacher outputs are not in the data's labels"):
        external_label_names(teacher.config, ["x", "z"])
    assert external_label_names(teacher.config, ["x", "y"]) == ["x", "y"]


def test_outputs_go_through_the_cache(tmp_path):
    teacher = ExternalTeacher(str(_csv(tmp_path, {"text": ["a", "b"], "p_x": [0.5, 0.1], "p_y": [0.5, 0.9]})))
    first = teacher.logits_for(["b", "a"], None, 32, str(tmp_path / "cache"))
    second = teacher.logits_for(["b", "a"], None, 32, str(tmp_path / "cache"))
    assert (first.hit, second.hit) == (False, True) and np.array_equal(first.logits, second.logits)
