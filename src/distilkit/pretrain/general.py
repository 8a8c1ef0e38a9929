"""``distilkit general-distill``: task-agnostic distillation on raw text (TinyBERT's general stage).

The student's embedding output, hidden states and attention distributions learn to match the
teacher's on unlabelled text, with the pure terms of :mod:`distilkit.distillation.layer_losses`
(MSE through learned projections when widths differ; attention KL per head) and the uniform layer map
of :mod:`distilkit.distillation.layer_maps`. The result is a plain encoder dir (no head) that
``distilkit distill --student DIR`` then distils on the task. Multi-process runs write from rank 0 only.
"""

from __future__ import annotations

import copy
import logging
from collections import defaultdict
from dataclasses import asdict
from typing import Any

import datasets
import torch
from torch import nn
from transformers import AutoModel, PreTrainedModel, PreTrainedTokenizerBase

from distilkit.distillation import layer_losses as L
from distilkit.distillation.capture import disable_attention_dropout
from distilkit.distillation.layer_maps import layer_map as pair_layers
from distilkit.distributed import main_process_first
from distilkit.errors import DistilkitError, require
from distilkit.modeling.loading import load_tokenizer
from distilkit.modeling.student import count_parameters, select_layers, student_from_teacher_layers
from distilkit.pretrain.collate import PretrainCollator
from distilkit.pretrain.config import GeneralDistillConfig
from distilkit.pretrain.data import ExampleStream, held_out_examples
from distilkit.pretrain.examples import mlm_examples
from distilkit.pretrain.run import begin_steps_run
from distilkit.provenance import run_info
from distilkit.resume import ResumableTrainer
from distilkit.training import clear_output_dir, save_run
from distilkit.zoo import hub_error, resolve_model

log = logging.getLogger(__name__)
MIN_VOCAB_COVERAGE = 0.99  # share of the student's word pieces the teacher's vocabulary must know


def load_encoder(name: str, cfg: GeneralDistillConfig) -> PreTrainedModel:
    """The bare encoder of ``name`` (a classifier's or pre-training model's heads are dropped)."""
    path = resolve_model(name, allow_pickle=cfg.allow_pickle)
    try:
        return AutoModel.from_pretrained(path, dtype=torch.float32, use_safetensors=None if cfg.allow_pickle else True,
                                         trust_remote_code=cfg.trust_remote_code)
    except (OSError, ValueError) as exc:
        raise hub_error(name, exc) from None


def hidden_state_map(num_student: int, num_teacher: int) -> list[int]:
    """Teacher ``hidden_states`` index for student layers 1..M under the uniform map
    (TinyBERT's g(m) = m * N / M, rounded: 4 of 12 gives [3, 6, 9, 12]); index 0 is the embeddings."""
    return [t + 1 for _, t in pair_layers("uniform", num_student, num_teacher)]


class Projections(nn.Module):
    """Learned maps from the student's width to the teacher's (identity when equal): one for the
    embedding output (W_e) and one shared by every hidden layer (W_h), as in TinyBERT. Trained with
    the student, never saved into it."""

    def __init__(self, student_width: int, teacher_width: int) -> None:
        super().__init__()
        same = student_width == teacher_width
        self.embedding = nn.Identity() if same else nn.Linear(student_width, teacher_width)
        self.hidden = nn.Identity() if same else nn.Linear(student_width, teacher_width)


def general_distill_loss(student_states: tuple[torch.Tensor, ...], teacher_states: tuple[torch.Tensor, ...], mask: torch.Tensor,
                         projections: Projections, layer_map: list[int], weights: dict[str, float],
                         student_attentions: tuple[torch.Tensor, ...] | None = None,
                         teacher_attentions: tuple[torch.Tensor, ...] | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """w_e * MSE(W_e s_0, t_0) + w_h * sum_m MSE(W_h s_m, t_g(m)) + w_a * sum_m KL(A^t_g(m) || A^s_m).

    ``student_states``/``teacher_states``: the models' ``hidden_states`` (M+1 / N+1 tensors of
    (B, L, D), index 0 = embedding output); ``layer_map[m - 1]`` = g(m), the teacher index of student
    layer m; attentions (M / N tensors of (B, H, L, L) probabilities, equal head counts) are used when
    ``weights["attention"]`` > 0. MSE per hidden unit over real tokens; KL in nats per head and real
    query. Returns the loss and its terms as floats (for logging).
    """
    emb = L.embedding_mse(student_states[0], teacher_states[0], mask, projections.embedding)
    hidden = sum(L.hidden_mse(student_states[m], teacher_states[t], mask, projections.hidden) for m, t in enumerate(layer_map, start=1))
    loss = weights["embedding"] * emb + weights["hidden"] * hidden
    parts = {"embedding": float(emb.detach()), "hidden": float(hidden.detach())}
    if weights.get("attention", 0.0) > 0:
        require(student_attentions is not None and teacher_attentions is not None, "the attention term needs both models' attentions")
        attention = sum(L.attention_kl(student_attentions[m - 1], teacher_attentions[t - 1], mask) for m, t in enumerate(layer_map, start=1))
        loss = loss + weights["attention"] * attention
        parts["attention"] = float(attention.detach())
    return loss, parts


def token_id_map(student_tok: PreTrainedTokenizerBase, teacher_tok: PreTrainedTokenizerBase) -> torch.Tensor:
    """(student vocab,) teacher id of each student word piece; special tokens map by role
    ([CLS] -> <s> etc.). Position-wise hidden-state losses need both models to see the same pieces,
    so a teacher that knows under ``MIN_VOCAB_COVERAGE`` of the student's pieces is refused."""
    s_vocab, t_vocab = student_tok.get_vocab(), teacher_tok.get_vocab()
    t_unk = teacher_tok.unk_token_id if teacher_tok.unk_token_id is not None else 0
    table = torch.full((max(s_vocab.values()) + 1,), t_unk, dtype=torch.long)
    special = set(student_tok.all_special_tokens)
    pieces = [p for p in s_vocab if p not in special]
    known = 0
    for piece, sid in s_vocab.items():
        if piece in t_vocab:
            table[sid] = t_vocab[piece]
            known += piece not in special
    for role in ("cls_token_id", "sep_token_id", "pad_token_id", "mask_token_id", "unk_token_id"):
        sid, tid = getattr(student_tok, role), getattr(teacher_tok, role)
        if sid is not None and tid is not None:
            table[sid] = tid
    coverage = known / max(1, len(pieces))
    if coverage < MIN_VOCAB_COVERAGE:
        raise DistilkitError(f"teacher and student tokenise differently (the teacher knows {coverage:.1%} of the student's word pieces): "
                             "hidden-state distillation compares token positions, so give a student with the teacher's tokenizer")
    return table


def build_general_student(teacher: PreTrainedModel, teacher_tok: PreTrainedTokenizerBase, cfg: GeneralDistillConfig
                          ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, dict[str, Any]]:
    """The student encoder: a checkpoint, a fresh config of the teacher's kind, or the teacher's own layers."""
    if cfg.student:
        return load_encoder(cfg.student, cfg), load_tokenizer(cfg.student, cfg.trust_remote_code), {"init": "checkpoint", "source": cfg.student}
    if cfg.student_hidden_size:
        heads = cfg.student_num_heads or teacher.config.num_attention_heads
        require(cfg.student_hidden_size % heads == 0, f"student_hidden_size={cfg.student_hidden_size} must be divisible by {heads} heads")
        config = copy.deepcopy(teacher.config)
        config.update({"hidden_size": cfg.student_hidden_size, "num_attention_heads": heads, "num_hidden_layers": cfg.student_layers,
                       "intermediate_size": cfg.student_intermediate_size or 4 * cfg.student_hidden_size})
        torch.manual_seed(cfg.seed)
        return AutoModel.from_config(config), teacher_tok, {"init": "fresh"}
    ids = select_layers(teacher.config.num_hidden_layers, cfg.student_layers, "uniform")
    return student_from_teacher_layers(teacher, ids), teacher_tok, {"init": "teacher-layers", "copied_layers": ids}


class StudentWithProjections(nn.Module):
    """What the Trainer trains and checkpoints: the student plus its projections (B, L, Hs) -> (B, L, Ht)."""

    def __init__(self, student: PreTrainedModel, teacher_width: int, attentions: bool = False) -> None:
        super().__init__()
        self.student = student
        self.projections = Projections(student.config.hidden_size, teacher_width)
        self.attentions = attentions

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> Any:
        kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        return self.student(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True,
                            output_attentions=self.attentions, **kwargs)


class GeneralDistillTrainer(ResumableTrainer):
    """Loss = :func:`general_distill_loss` against a frozen teacher run online (not wrapped, not saved).
    Evaluation reports the same loss on the held-out slice, with its terms."""

    def __init__(self, *args: Any, teacher: PreTrainedModel, id_map: torch.Tensor, layer_map: list[int], weights: dict[str, float],
                 teacher_takes_types: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.teacher = teacher.eval().requires_grad_(False).to(self.args.device)
        self.id_map, self.layer_map, self.weights, self.teacher_takes_types = id_map.to(self.args.device), layer_map, weights, teacher_takes_types
        self._sums: dict[str, dict[str, float]] = {"train": defaultdict(float), "eval": defaultdict(float)}
        self._counts = {"train": 0, "eval": 0}

    def compute_loss(self, model: nn.Module, inputs: dict[str, torch.Tensor], return_outputs: bool = False, num_items_in_batch: Any = None) -> Any:
        inputs = {k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        t_inputs = {"input_ids": self.id_map[inputs["input_ids"]], "attention_mask": inputs["attention_mask"]}
        if self.teacher_takes_types and "token_type_ids" in inputs:
            t_inputs["token_type_ids"] = inputs["token_type_ids"]
        attentions = self.weights.get("attention", 0.0) > 0
        with torch.no_grad():  # not inference_mode: the attention KL saves the teacher's maps for backward
            t_out = self.teacher(**t_inputs, output_hidden_states=True, output_attentions=attentions)
        t_states, t_attn = t_out.hidden_states, (t_out.attentions if attentions else None)
        outputs = model(**inputs)
        unwrapped = self.accelerator.unwrap_model(model)
        loss, parts = general_distill_loss(outputs.hidden_states, t_states, inputs["attention_mask"], unwrapped.projections,
                                           self.layer_map, self.weights, outputs.attentions if attentions else None, t_attn)
        mode = "train" if model.training else "eval"
        for name, value in parts.items():
            self._sums[mode][name] += value
        self._counts[mode] += 1
        return (loss, outputs) if return_outputs else loss

    def prediction_step(self, model: nn.Module, inputs: dict[str, Any], prediction_loss_only: bool, ignore_keys: Any = None) -> Any:
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None

    def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        prefix = next((k[: -len("_loss")] for k in logs if k.endswith("_loss") and k != "loss"), None)
        mode, key = ("train", "loss_{}") if "loss" in logs else ("eval", f"{prefix}_{{}}") if prefix else (None, "")
        if mode and self._counts[mode]:
            logs.update({key.format(name): round(v / self._counts[mode], 6) for name, v in self._sums[mode].items()})
            self._sums[mode].clear()
            self._counts[mode] = 0
        super().log(logs, *args, **kwargs)


def general_distill(cfg: GeneralDistillConfig) -> dict[str, Any]:
    """Distil ``cfg.teacher`` into a task-agnostic student on ``cfg.corpus``; returns the run facts."""
    out, resume_from, args = begin_steps_run(cfg)
    teacher = load_encoder(cfg.teacher, cfg)
    teacher_tok = load_tokenizer(cfg.teacher, cfg.trust_remote_code)
    student, student_tok, init = build_general_student(teacher, teacher_tok, cfg)
    id_map = token_id_map(student_tok, teacher_tok)
    layer_map = hidden_state_map(student.config.num_hidden_layers, teacher.config.num_hidden_layers)
    attentions = cfg.attention_weight > 0
    if attentions:
        s_heads, t_heads = student.config.num_attention_heads, teacher.config.num_attention_heads
        require(s_heads == t_heads, f"the attention term compares heads one to one: the student has {s_heads} heads, the teacher "
                                    f"{t_heads}; give --student-num-heads {t_heads} or --attention-weight 0")
        for m in (teacher, student):
            m.set_attn_implementation("eager")  # SDPA kernels return no attention maps
        disable_attention_dropout(student)  # the returned maps are post-dropout: the KL needs the real ones
    model = StudentWithProjections(student, teacher.config.hidden_size, attentions)
    with main_process_first() as main:  # every input checked: only now may an old output dir go
        if main:
            clear_output_dir(cfg, out)
    make = lambda docs, rng: mlm_examples(docs, student_tok, cfg.max_length)  # noqa: E731
    collator = PretrainCollator(student_tok, mlm=False)
    held_out = [{"input_ids": e["input_ids"], "token_type_ids": e["token_type_ids"]} for e in held_out_examples(cfg, student_tok, make)]
    trainer = GeneralDistillTrainer(
        model=model, args=args, train_dataset=ExampleStream(cfg, student_tok, make),
        eval_dataset=datasets.Dataset.from_list(held_out), data_collator=collator, teacher=teacher, id_map=id_map, layer_map=layer_map,
        weights={"embedding": cfg.embedding_weight, "hidden": cfg.hidden_weight, "attention": cfg.attention_weight},
        teacher_takes_types="token_type_ids" in teacher_tok.model_input_names)
    initial = trainer.evaluate(metric_key_prefix="initial")
    trainer.train(resume_from_checkpoint=resume_from)
    final = trainer.evaluate()
    info = run_info("general-distill", asdict(cfg), student_init=init, layer_map=layer_map, student_parameters=count_parameters(student),
                    global_step=trainer.state.global_step, resumed_from=resume_from, initial_metrics=initial, validation_metrics=final,
                    world_size=args.world_size)
    save_run(trainer, student, student_tok, out, info)
    log.info("general student saved to %s (held-out loss %.4f -> %.4f)", out, initial.get("initial_loss", float("nan")),
             final.get("eval_loss", float("nan")))
    return info
