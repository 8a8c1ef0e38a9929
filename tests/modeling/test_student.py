"""Student construction: which teacher layers are copied, parameter counts, heads."""

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from distilkit.config import ModelAccessConfig, StudentConfig
from distilkit.errors import DistilkitError
from distilkit.modeling.student import build_student, count_parameters, select_layers, student_from_checkpoint, student_from_teacher_layers


def tiny_teacher(layers=6, hidden=32, labels=("neg", "pos")):
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=50,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=32,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={n: i for i, n in enumerate(labels)},
    )
    return BertForSequenceClassification(cfg)


@pytest.mark.parametrize(
    "n, k, how, expected",
    [
        (12, 3, "uniform", [0, 6, 11]),
        (12, 6, "uniform", [0, 2, 4, 7, 9, 11]),
        (6, 2, "uniform", [0, 5]),
        (6, 1, "uniform", [5]),
        (6, 2, "first", [0, 1]),
        (6, 2, "last", [4, 5]),
    ],
)
def test_select_layers(n, k, how, expected):
    assert select_layers(n, k, how) == expected


def test_select_explicit_and_errors():
    assert select_layers(12, 0, "explicit", [1, 4, 9]) == [1, 4, 9]
    with pytest.raises(DistilkitError, match="outside"):
        select_layers(6, 0, "explicit", [0, 6])
    with pytest.raises(DistilkitError, match="increasing"):
        select_layers(6, 0, "explicit", [3, 1])
    with pytest.raises(DistilkitError, match="1..6"):
        select_layers(6, 7, "uniform")


def test_copied_layers_equal_the_teachers():
    teacher = tiny_teacher()
    student = student_from_teacher_layers(teacher, [1, 4])
    assert student.config.num_hidden_layers == 2
    t, s = teacher.state_dict(), student.state_dict()
    for new, old in enumerate([1, 4]):
        for name in ("attention.self.query.weight", "intermediate.dense.weight", "output.LayerNorm.bias"):
            assert torch.equal(s[f"bert.encoder.layer.{new}.{name}"], t[f"bert.encoder.layer.{old}.{name}"])
    for name in ("bert.embeddings.word_embeddings.weight", "bert.pooler.dense.weight", "classifier.weight"):
        assert torch.equal(s[name], t[name])
    assert student.config.id2label == teacher.config.id2label


def test_parameter_counts():
    teacher = tiny_teacher(layers=6)
    student = student_from_teacher_layers(teacher, [0, 5])
    per_layer = sum(p.numel() for p in teacher.bert.encoder.layer[0].parameters())
    t, s = count_parameters(teacher), count_parameters(student)
    assert t["total"] - s["total"] == 4 * per_layer
    emb = sum(p.numel() for p in teacher.bert.embeddings.parameters())
    assert t["total"] - t["non_embedding"] == emb == s["total"] - s["non_embedding"]


class ConfigOnlyTeacher:
    """A teacher source whose weights must not be read (as for a student that is not cut from it)."""

    def __init__(self, teacher):
        self.config, self.tokenizer = teacher.config, None

    @property
    def model(self):
        raise AssertionError("the teacher's weights were read")


def test_fresh_student_has_requested_shape_and_never_reads_the_teachers_weights():
    teacher = tiny_teacher()
    cfg = StudentConfig(student_layers=2, student_hidden_size=16, student_num_heads=2)
    student, _, info = build_student(cfg, ConfigOnlyTeacher(teacher), ["neg", "pos"], ModelAccessConfig())
    assert info.init == "fresh"
    assert (student.config.num_hidden_layers, student.config.hidden_size, student.config.intermediate_size) == (2, 16, 64)
    assert student.config.id2label == teacher.config.id2label
    encoder, _, _ = build_student(cfg, ConfigOnlyTeacher(teacher), None, ModelAccessConfig())  # general distillation: no head
    assert type(encoder).__name__ == "BertModel" and encoder.config.hidden_size == 16
    with pytest.raises(AssertionError, match="weights were read"):  # cutting layers is the one case that needs them
        build_student(StudentConfig(student_layers=2), ConfigOnlyTeacher(teacher), ["neg", "pos"], ModelAccessConfig())


def test_student_cut_from_the_teacher_copies_its_layers():
    teacher = tiny_teacher()
    source = type("Source", (), {"config": teacher.config, "tokenizer": None, "model": teacher})()
    student, _, info = build_student(StudentConfig(student_layers=2, layer_selection="first"), source, ["neg", "pos"], ModelAccessConfig())
    assert info.init == "teacher-layers" and info.copied_layers == [0, 1]
    assert torch.equal(student.bert.encoder.layer[1].output.dense.weight, teacher.bert.encoder.layer[1].output.dense.weight)


def test_checkpoint_with_other_labels_needs_reinit(tmp_path):
    other = tiny_teacher(labels=("a", "b", "c"))
    other.save_pretrained(tmp_path / "other")
    with pytest.raises(DistilkitError, match="--reinit-head"):
        student_from_checkpoint(str(tmp_path / "other"), ["neg", "pos"])
    student = student_from_checkpoint(str(tmp_path / "other"), ["neg", "pos"], reinit_head=True)
    assert student.config.num_labels == 2 and student.classifier.out_features == 2
