"""Objectives: presets, stages, temperature schedules, and layer terms wired to tiny BERTs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from distilkit.config import DistillConfig
from distilkit.distillation import layer_losses as L
from distilkit.distillation.objective import Objective
from distilkit.distillation.presets import PRESETS, build_objective
from distilkit.distillation.terms import TERMS, Needs
from distilkit.errors import DistilkitError
from distilkit.teacher.targets import soft_targets


def tiny(layers: int, hidden: int, heads: int, seed: int) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=40,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=2 * hidden,
        max_position_embeddings=32,
        num_labels=2,
        attn_implementation="eager",
    )
    return BertForSequenceClassification(cfg).eval()


def cfg(**kw) -> DistillConfig:
    return DistillConfig(**kw)


def run(objective, student, teacher, progress: float = 1.0, seq: int = 6):
    """One step as the trainer does it: both models run for what the active terms need."""
    torch.manual_seed(1)
    ids = torch.randint(5, 40, (3, seq))
    mask = torch.ones_like(ids)
    mask[0, -2:] = 0
    inputs = {"input_ids": ids, "attention_mask": mask}
    needs = objective.needs_at(progress)
    s_out = student(**inputs, output_hidden_states=True, output_attentions=needs.attentions or None)
    with torch.no_grad():
        t_out = teacher(**inputs, output_hidden_states=True, output_attentions=needs.attentions or None)
    targets = soft_targets(t_out.logits, objective.temperature_at(progress))
    step = SimpleNamespace(inputs=inputs, student_outputs=s_out, teacher_outputs=t_out)
    return step, objective(
        progress, student_outputs=s_out, teacher_outputs=t_out, labels=torch.tensor([0, 1, 1]), targets=targets, mask=mask
    )


def test_presets_are_data() -> None:
    assert PRESETS["logits"].final(0.7) == {"kd": 0.7, "ce": pytest.approx(0.3)}
    assert PRESETS["distilbert"].final(0.5) == {"kd": 0.5, "ce": 0.5, "hidden_cos": 1.0}
    assert set(PRESETS["minilmv2"].final(0.5)) == {"kd", "ce", "qq_relation", "kk_relation", "vv_relation"}
    assert {"logits", "distilbert", "tinybert", "minilm", "pkd"} <= set(PRESETS)
    with pytest.raises(DistilkitError, match="unknown preset"):
        build_objective(cfg(preset="nope"))


def test_logits_preset_stays_offline() -> None:
    obj = build_objective(cfg())
    assert obj.weights == {"kd": 0.5, "ce": 0.5}
    assert obj.needs == Needs(soft_targets=True, labels=True) and not obj.needs.teacher_online


def test_tinybert_two_stages_and_online() -> None:
    obj = build_objective(cfg(preset="tinybert"))
    assert obj.needs.teacher_online and not obj.needs.attentions
    assert obj.weights_at(0.0) == {"embedding_mse": 1.0, "hidden_mse": 1.0, "attention_mse": 1.0}
    assert obj.weights_at(0.5) == {"kd": 0.5, "ce": 0.5}
    assert obj.needs_at(0.0).teacher_online and not obj.needs_at(0.5).teacher_online  # stage 2 reads cached logits
    one_stage = build_objective(cfg(preset="tinybert", stage1_fraction=0.0))
    assert one_stage.weights_at(0.0) == {"kd": 0.5, "ce": 0.5} and not one_stage.needs.teacher_online


def test_every_term_declares_what_it_needs() -> None:
    assert TERMS["kd"].needs.soft_targets and not TERMS["kd"].needs.teacher_online
    assert TERMS["attention_kl"].needs.attentions and TERMS["attention_mse"].needs.qkv == frozenset("qk")
    assert not TERMS["pkd"].needs.positionwise and TERMS["hidden_mse"].needs.positionwise
    assert all(t.doc for t in TERMS.values())


def test_recipe_terms_override_the_preset() -> None:
    obj = build_objective(cfg(preset="minilm", loss_terms={"kd": 1.0, "hidden_mse": 2.0}, layer_map="last"))
    assert obj.final_weights == {"kd": 1.0, "hidden_mse": 2.0} and obj.map_kind == "last"
    with pytest.raises(DistilkitError, match="unknown loss_terms"):
        build_objective(cfg(loss_terms={"kdd": 1.0}))
    with pytest.raises(DistilkitError, match="stage1_fraction"):
        cfg(data="d.csv", stage1_terms={"hidden_mse": 1.0}, stage1_fraction=1.5).validate()


def test_temperature_schedules() -> None:
    linear = build_objective(cfg(temperature=4.0, temperature_schedule="linear", temperature_end=1.0))
    assert [linear.temperature_at(p) for p in (0.0, 0.5, 1.0)] == [4.0, 2.5, 1.0]
    assert build_objective(cfg(temperature=3.0)).temperature_at(0.7) == 3.0


def test_hidden_mse_term_uses_mapped_layers_and_projection() -> None:
    teacher, student = tiny(4, 48, 4, 0), tiny(2, 32, 4, 1)
    obj = build_objective(cfg(loss_terms={"hidden_mse": 1.0, "embedding_mse": 1.0, "kd": 1.0}))
    obj.bind(student, teacher)
    assert obj.pairs == [(0, 1), (1, 3)] and sorted(obj.projections) == ["embedding_mse", "hidden_mse"]
    step, (total, parts) = run(obj, student, teacher)
    mask = step.inputs["attention_mask"]
    t_hidden = teacher(**step.inputs, output_hidden_states=True).hidden_states
    s_hidden = step.student_outputs.hidden_states
    proj = obj.projections["hidden_mse"]
    expected = (L.hidden_mse(s_hidden[1], t_hidden[2], mask, proj) + L.hidden_mse(s_hidden[2], t_hidden[4], mask, proj)) / 2
    assert parts["hidden_mse"] == pytest.approx(expected.item(), rel=1e-5)
    assert set(parts) == {"hidden_mse", "embedding_mse", "kd"}
    assert total.item() == pytest.approx(sum(parts.values()), rel=1e-5)
    total.backward()
    assert proj.weight.grad is not None and proj.weight.grad.abs().sum() > 0
    assert all(p.requires_grad for p in obj.projections.parameters())


def test_every_layer_term_runs_and_backpropagates() -> None:
    teacher, student = tiny(4, 32, 4, 0), tiny(2, 32, 4, 1)
    layer_terms = {
        "hidden_mse",
        "hidden_cos",
        "embedding_mse",
        "attention_mse",
        "attention_kl",
        "minilm_attention",
        "minilm_value",
        "qq_relation",
        "kk_relation",
        "vv_relation",
        "pkd",
    }
    assert layer_terms <= set(TERMS)
    obj = build_objective(cfg(loss_terms=dict.fromkeys(layer_terms, 1.0)))
    obj.bind(student, teacher)
    assert obj.needs.attentions and not obj.projections  # same width: no projection
    _, (total, parts) = run(obj, student, teacher)
    assert set(parts) == layer_terms and all(v >= 0 for v in parts.values())
    total.backward()
    assert student.bert.encoder.layer[1].attention.self.value.weight.grad.abs().sum() > 0
    obj.remove_hooks()


def test_student_equal_to_teacher_gives_zero_layer_losses() -> None:
    teacher = tiny(2, 32, 4, 0)
    student = tiny(2, 32, 4, 0)
    names = ["hidden_mse", "attention_mse", "attention_kl", "minilm_value", "qq_relation", "pkd"]
    obj = build_objective(cfg(loss_terms=dict.fromkeys(names, 1.0)))
    obj.bind(student, teacher)
    _, (_, parts) = run(obj, student, teacher)
    assert all(abs(parts[n]) < 1e-5 for n in names), parts


def test_captured_queries_are_the_query_layer_outputs() -> None:
    teacher, student = tiny(2, 32, 4, 0), tiny(2, 32, 4, 1)
    obj = build_objective(cfg(loss_terms={"qq_relation": 1.0}))
    obj.bind(student, teacher)
    ids = torch.randint(5, 40, (2, 5))
    out = student(input_ids=ids, output_hidden_states=True)
    q = obj._captures["student"].get(1, "q")
    expected = student.bert.encoder.layer[1].attention.self.query(out.hidden_states[1])
    assert torch.allclose(q, expected, atol=1e-6)
    obj.remove_hooks()


def test_head_count_mismatch_points_to_minilmv2() -> None:
    teacher, student = tiny(2, 48, 4, 0), tiny(2, 32, 2, 1)
    with pytest.raises(DistilkitError, match="qq_relation"):
        build_objective(cfg(preset="minilm")).bind(student, teacher)
    obj = build_objective(cfg(preset="minilmv2", relation_heads=4))
    obj.bind(student, teacher)
    _, (_, parts) = run(obj, student, teacher)
    assert parts["qq_relation"] > 0 and parts["vv_relation"] > 0
    with pytest.raises(DistilkitError, match="relation_heads=5"):
        build_objective(cfg(preset="minilmv2", relation_heads=5)).bind(student, teacher)


def test_misaligned_sequence_lengths_fail_with_the_terms() -> None:
    teacher, student = tiny(2, 32, 4, 0), tiny(2, 32, 4, 1)
    obj = build_objective(cfg(loss_terms={"hidden_mse": 1.0}))
    obj.bind(student, teacher)
    s_out = student(input_ids=torch.randint(5, 40, (1, 4)), output_hidden_states=True)
    with torch.no_grad():
        t_out = teacher(input_ids=torch.randint(5, 40, (1, 6)), output_hidden_states=True)
    with pytest.raises(DistilkitError, match="hidden_mse"):
        obj(1.0, student_outputs=s_out, teacher_outputs=t_out, labels=torch.tensor([0]), mask=torch.ones(1, 4, dtype=torch.long))


def test_logits_only_objective_by_hand() -> None:
    """kd = T^2 KL(teacher || student): teacher [0.9, 0.1], student [0.8, 0.2] at T = 1 gives 0.0367 nats."""
    import math

    obj = Objective({"kd": 0.5, "ce": 0.5}, temperature=1.0)
    student = SimpleNamespace(logits=torch.log(torch.tensor([[0.8, 0.2]])))
    total, parts = obj(1.0, student_outputs=student, labels=torch.tensor([0]), targets=torch.tensor([[0.9, 0.1]]))
    assert parts["kd"] == pytest.approx(0.9 * math.log(0.9 / 0.8) + 0.1 * math.log(0.1 / 0.2), abs=1e-6)
    assert parts["ce"] == pytest.approx(-math.log(0.8), abs=1e-6)
    assert total.item() == pytest.approx(0.5 * parts["kd"] + 0.5 * parts["ce"], abs=1e-6)
    with pytest.raises(DistilkitError, match="unknown loss_terms"):
        Objective({"kdd": 1.0})


def test_attention_maps_of_a_training_student_are_real_distributions_once_dropout_is_off() -> None:
    from distilkit.distillation.capture import disable_attention_dropout

    student = tiny(2, 16, 2, seed=0)
    student.config.attention_probs_dropout_prob = 0.5
    for module in student.modules():  # make the attention dropout large, as a config could
        if type(module).__name__ == "BertSelfAttention":
            module.dropout.p = 0.5
    student.set_attn_implementation("eager")
    student.train()
    ids = torch.randint(5, 40, (2, 6))

    def row_sums() -> torch.Tensor:
        torch.manual_seed(0)
        return torch.stack(student(input_ids=ids, output_attentions=True).attentions).sum(-1)

    assert not torch.allclose(row_sums(), torch.ones(1))  # HF returns the maps after dropout
    assert disable_attention_dropout(student) == 2  # one attention dropout per block
    assert torch.allclose(row_sums(), torch.ones(1), atol=1e-5)
    hidden_dropouts = [m.p for n, m in student.named_modules() if isinstance(m, torch.nn.Dropout) and "output" in n]
    assert hidden_dropouts and all(p > 0 for p in hidden_dropouts)  # hidden dropout is left alone
    assert student.config.attention_probs_dropout_prob == 0.5  # the saved config is untouched
