"""Objectives: presets, stages, temperature schedules, and layer terms wired to tiny BERTs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from distilkit.config import DistillConfig
from distilkit.distillation import layer_losses as L
from distilkit.distillation.objectives import TERMS, LossContext, Objective, preset_weights
from distilkit.distillation.presets import PRESETS, build_objective
from distilkit.errors import DistilkitError


def tiny(layers: int, hidden: int, heads: int, seed: int) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=40, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                     intermediate_size=2 * hidden, max_position_embeddings=32, num_labels=2, attn_implementation="eager")
    return BertForSequenceClassification(cfg).eval()


def cfg(**kw) -> DistillConfig:
    return DistillConfig(**kw)


def run(objective, student, teacher, progress: float = 1.0, seq: int = 6):
    torch.manual_seed(1)
    ids = torch.randint(5, 40, (3, seq))
    mask = torch.ones_like(ids)
    mask[0, -2:] = 0
    inputs = {"input_ids": ids, "attention_mask": mask}
    want_att = objective.needs_attentions
    s_out = student(**inputs, output_hidden_states=True, output_attentions=want_att)
    with torch.inference_mode():
        t_out = teacher(**inputs, output_hidden_states=True, output_attentions=want_att)
    ctx = LossContext(student_logits=s_out.logits, labels=torch.tensor([0, 1, 1]), temperature=2.0,
                      teacher_logits=t_out.logits.clone(), student_outputs=s_out, teacher_outputs=t_out,
                      student_inputs=inputs, progress=progress)
    return ctx, objective(ctx)


def test_presets_known_to_preset_weights() -> None:
    assert preset_weights("logits", 0.7) == {"kd": 0.7, "ce": pytest.approx(0.3)}
    assert preset_weights("distilbert", 0.5) == {"kd": 0.5, "ce": 0.5, "hidden_cos": 1.0}
    assert set(preset_weights("minilmv2", 0.5)) == {"kd", "ce", "qq_relation", "kk_relation", "vv_relation"}
    assert {"logits", "distilbert", "tinybert", "minilm", "pkd"} <= set(PRESETS)
    with pytest.raises(DistilkitError, match="unknown preset"):
        build_objective(SimpleNamespace(preset="nope", alpha=0.5))


def test_logits_preset_stays_offline() -> None:
    obj = build_objective(cfg())
    assert obj.weights == {"kd": 0.5, "ce": 0.5}
    assert not obj.needs_teacher_online and not obj.needs_attentions


def test_tinybert_two_stages_and_online() -> None:
    obj = build_objective(cfg(preset="tinybert"))
    assert obj.needs_teacher_online and not obj.needs_attentions
    assert obj.weights_at(0.0) == {"embedding_mse": 1.0, "hidden_mse": 1.0, "attention_mse": 1.0}
    assert obj.weights_at(0.5) == {"kd": 0.5, "ce": 0.5}
    one_stage = build_objective(cfg(preset="tinybert", stage1_fraction=0.0))
    assert one_stage.weights_at(0.0) == {"kd": 0.5, "ce": 0.5} and not one_stage.needs_teacher_online


def test_recipe_terms_override_the_preset() -> None:
    obj = build_objective(cfg(preset="minilm", loss_terms={"kd": 1.0, "hidden_mse": 2.0}, layer_map="last"))
    assert obj.final_weights == {"kd": 1.0, "hidden_mse": 2.0} and obj.map_kind == "last"
    with pytest.raises(DistilkitError, match="unknown loss_terms"):
        build_objective(cfg(loss_terms={"kdd": 1.0}))
    with pytest.raises(DistilkitError, match="stage1_fraction"):
        build_objective(cfg(stage1_terms={"hidden_mse": 1.0}, stage1_fraction=1.5))


def test_temperature_schedules() -> None:
    linear = build_objective(cfg(temperature=4.0, temperature_schedule="linear", temperature_end=1.0))
    assert [linear.temperature_at(p, 4.0) for p in (0.0, 0.5, 1.0)] == [4.0, 2.5, 1.0]
    assert build_objective(cfg()).temperature_at(0.7, 3.0) == 3.0


def test_hidden_mse_term_uses_mapped_layers_and_projection() -> None:
    teacher, student = tiny(4, 48, 4, 0), tiny(2, 32, 4, 1)
    obj = build_objective(cfg(loss_terms={"hidden_mse": 1.0, "embedding_mse": 1.0, "kd": 1.0}))
    obj.bind(student, teacher)
    assert obj.pairs == [(0, 1), (1, 3)] and sorted(obj.projections) == ["embedding_mse", "hidden_mse"]
    ctx, (total, parts) = run(obj, student, teacher)
    mask = ctx.student_inputs["attention_mask"]
    t_hidden = teacher(**ctx.student_inputs, output_hidden_states=True).hidden_states
    s_hidden = ctx.student_outputs.hidden_states
    proj = obj.projections["hidden_mse"]
    expected = (L.hidden_mse(s_hidden[1], t_hidden[2], mask, proj) + L.hidden_mse(s_hidden[2], t_hidden[4], mask, proj)) / 2
    assert parts["hidden_mse"] == pytest.approx(expected.item(), rel=1e-5)
    assert set(parts) == {"hidden_mse", "embedding_mse", "kd"}
    assert total.item() == pytest.approx(sum(parts.values()), rel=1e-5)
    total.backward()
    assert proj.weight.grad is not None and proj.weight.grad.abs().sum() > 0
    assert obj.parameters() and all(p.requires_grad for p in obj.parameters())
    # only the mapped teacher layers are kept
    kept = [i for i, h in enumerate(ctx.teacher_outputs.hidden_states) if h is not None]
    assert kept == [0, 2, 4]


def test_every_layer_term_runs_and_backpropagates() -> None:
    teacher, student = tiny(4, 32, 4, 0), tiny(2, 32, 4, 1)
    layer_terms = {"hidden_mse", "hidden_cos", "embedding_mse", "attention_mse", "attention_kl", "minilm_attention",
                   "minilm_value", "qq_relation", "kk_relation", "vv_relation", "pkd"}
    assert layer_terms <= set(TERMS)
    obj = build_objective(cfg(loss_terms={name: 1.0 for name in layer_terms}))
    obj.bind(student, teacher)
    assert obj.needs_attentions and not obj.projections  # same width: no projection
    _, (total, parts) = run(obj, student, teacher)
    assert set(parts) == layer_terms and all(v >= 0 for v in parts.values())
    total.backward()
    assert student.bert.encoder.layer[1].attention.self.value.weight.grad.abs().sum() > 0
    obj.remove_hooks()


def test_student_equal_to_teacher_gives_zero_layer_losses() -> None:
    teacher = tiny(2, 32, 4, 0)
    student = tiny(2, 32, 4, 0)
    names = ["hidden_mse", "attention_mse", "attention_kl", "minilm_value", "qq_relation", "pkd"]
    obj = build_objective(cfg(loss_terms={n: 1.0 for n in names}))
    obj.bind(student, teacher)
    _, (_, parts) = run(obj, student, teacher)
    assert all(abs(parts[n]) < 1e-5 for n in names), parts


def test_captured_queries_are_the_query_layer_outputs() -> None:
    teacher, student = tiny(2, 32, 4, 0), tiny(2, 32, 4, 1)
    obj = build_objective(cfg(loss_terms={"qq_relation": 1.0}))
    obj.bind(student, teacher)
    ids = torch.randint(5, 40, (2, 5))
    out = student(input_ids=ids, output_hidden_states=True)
    q = obj.qkv("student", 1, "q")
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
    with torch.inference_mode():
        t_out = teacher(input_ids=torch.randint(5, 40, (1, 6)), output_hidden_states=True)
    ctx = LossContext(student_logits=s_out.logits, labels=torch.tensor([0]), temperature=1.0, student_outputs=s_out,
                      teacher_outputs=t_out, student_inputs={"input_ids": torch.zeros(1, 4, dtype=torch.long)})
    with pytest.raises(DistilkitError, match="hidden_mse"):
        obj(ctx)


def test_plain_objective_still_works() -> None:
    obj = Objective({"kd": 1.0, "ce": 0.0})
    ctx = LossContext(student_logits=torch.tensor([[0.0, 0.0]]), labels=torch.tensor([0]), temperature=1.0,
                      teacher_logits=torch.tensor([[0.0, 0.0]]))
    total, parts = obj(ctx)
    assert parts == {"kd": pytest.approx(0.0, abs=1e-7)}


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
