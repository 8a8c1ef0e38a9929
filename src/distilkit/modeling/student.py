"""The one student builder (``distill`` and ``general-distill``): from the teacher's own layers, from
another checkpoint, or from a fresh config of the teacher's architecture; with a classification head
for the task's labels, or as a bare encoder (``label_names=None``)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from transformers import AutoModel, AutoModelForSequenceClassification, PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase

from distilkit.config import FreshStudentConfig, ModelAccessConfig, StudentConfig
from distilkit.errors import DistilkitError, require
from distilkit.modeling.loading import (
    is_classifier_checkpoint,
    label_maps,
    load_classifier,
    load_config,
    load_encoder,
    load_tokenizer,
    model_label_names,
)
from distilkit.modeling.static_build import build_static_student
from distilkit.modeling.static_model import is_static_name, static_encoder_of

_LAYER_KEY = re.compile(r"(?<=\.layer\.)(\d+)(?=\.)")


class TeacherSource(Protocol):
    """What the builder reads of the teacher: its config and tokenizer always, its weights only when
    the student is cut from its layers (a lazy ``model``, so other students never load them)."""

    config: PretrainedConfig
    tokenizer: PreTrainedTokenizerBase

    @property
    def model(self) -> PreTrainedModel: ...


@dataclass
class StudentInfo:
    """How a student was made (saved in its run file)."""

    init: str  # "teacher-layers", "checkpoint", "fresh" or "static"
    source: str
    copied_layers: list[int] = field(default_factory=list)  # teacher layer ids, in student order


def select_layers(
    num_teacher_layers: int, num_student_layers: int, selection: str = "uniform", layer_ids: list[int] | None = None
) -> list[int]:
    """Teacher layer ids (0-based) a student copies.

    ``uniform`` spreads them from the first to the last layer (12 -> 3 gives [0, 6, 11]),
    ``first``/``last`` take the first/last k, ``explicit`` uses ``layer_ids`` as given.
    """
    n, k = num_teacher_layers, num_student_layers
    if selection == "explicit":
        require(bool(layer_ids), "explicit layer selection needs layer ids")
        ids = list(layer_ids or [])
        bad = [i for i in ids if not 0 <= i < n]
        require(not bad, f"student layer ids {bad} are outside the teacher's {n} layers (0..{n - 1})")
        require(len(set(ids)) == len(ids) and ids == sorted(ids), f"student layer ids {ids} must be increasing without repeats")
        return ids
    require(1 <= k <= n, f"student_layers={k}: a student built from the teacher's layers needs 1..{n} layers")
    if selection == "first":
        return list(range(k))
    if selection == "last":
        return list(range(n - k, n))
    if selection == "uniform":
        return sorted({int(i) for i in np.round(np.linspace(0, n - 1, k))}) if k > 1 else [n - 1]
    raise DistilkitError(f"layer_selection={selection!r}: use uniform, first, last or explicit")


def student_from_teacher_layers(teacher: PreTrainedModel, layer_ids: list[int]) -> PreTrainedModel:
    """A copy of ``teacher`` keeping only ``layer_ids`` (embeddings, pooler and head copied too)."""
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = len(layer_ids)
    student = type(teacher)(config)
    new_index = {old: new for new, old in enumerate(layer_ids)}
    state = {}
    for key, value in teacher.state_dict().items():
        match = _LAYER_KEY.search(key)
        if match is None:
            state[key] = value.clone()
        elif int(match.group(1)) in new_index:
            state[_LAYER_KEY.sub(str(new_index[int(match.group(1))]), key, count=1)] = value.clone()
    missing, unexpected = student.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    if missing or unexpected:
        raise DistilkitError(
            f"could not copy the teacher's layers into the student (missing {missing[:3]}, unexpected {unexpected[:3]}): "
            "this architecture does not name its layers '.layer.N.'; use --student with a checkpoint instead"
        )
    return student


def keep_layers(model: PreTrainedModel, k: int) -> tuple[PreTrainedModel, list[int]]:
    """``model`` cut to ``k`` of its layers, evenly spaced (:func:`select_layers` ``uniform``), and the
    layer ids kept; a model with ``k`` layers or fewer is refused (nothing to cut)."""
    n = int(model.config.num_hidden_layers)
    require(k < n, f"student_keep_layers={k}: the student has {n} layers; keep fewer (1..{n - 1}) or leave it out")
    ids = select_layers(n, k, "uniform")
    return student_from_teacher_layers(model, ids), ids


def fresh_student(
    teacher_config: PretrainedConfig, cfg: FreshStudentConfig, label_names: list[str] | None, problem_type: str | None = None
) -> PreTrainedModel:
    """A randomly initialised model of the teacher's architecture and vocabulary, sized by ``cfg``
    (a classifier for ``label_names``, or a bare encoder when None)."""
    hidden = cfg.student_hidden_size or teacher_config.hidden_size
    heads = cfg.student_num_heads or teacher_config.num_attention_heads
    require(hidden % heads == 0, f"student_hidden_size={hidden} must be divisible by student_num_heads={heads}")
    config = copy.deepcopy(teacher_config)
    config.update(
        {
            "hidden_size": hidden,
            "num_attention_heads": heads,
            "num_hidden_layers": cfg.student_layers,
            "intermediate_size": cfg.student_intermediate_size or 4 * hidden,
        }
    )
    if label_names is None:
        return AutoModel.from_config(config)
    config.update(label_maps(label_names, problem_type))
    return AutoModelForSequenceClassification.from_config(config)


def student_from_checkpoint(
    name: str,
    label_names: list[str],
    reinit_head: bool = False,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    problem_type: str | None = None,
) -> PreTrainedModel:
    """Another checkpoint as the student, with a head for the task's labels.

    A checkpoint that already is a classifier keeps its head only if its labels are the task's.
    """
    config = load_config(name, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code)
    if is_classifier_checkpoint(config) and not reinit_head:
        theirs = model_label_names(config)
        if theirs != list(label_names):
            raise DistilkitError(
                f"student {name!r} is a classifier for labels {theirs}, the task has {label_names}: "
                "pass --reinit-head to give it a new head, or pick a base checkpoint"
            )
    return load_classifier(
        name,
        label_names,
        allow_pickle=allow_pickle,
        trust_remote_code=trust_remote_code,
        ignore_mismatched_sizes=reinit_head,
        problem_type=problem_type,
    )


def build_student(
    cfg: StudentConfig,
    teacher: TeacherSource,
    label_names: list[str] | None,
    access: ModelAccessConfig,
    reinit_head: bool = False,
    problem_type: str | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, StudentInfo]:
    """Build the student that ``cfg`` describes: a classifier for ``label_names`` (of ``problem_type``),
    or a bare encoder when None. Only a student cut from the teacher's layers reads ``teacher.model`` (its weights)."""
    if is_static_name(cfg.student):
        encoder = static_encoder_of(str(cfg.student)) or getattr(teacher, "path", None)
        require(
            encoder is not None,
            "--student static reads the teacher's encoder, and this teacher is given as outputs: name one, e.g. --student static:minilm-l6",
        )
        require(label_names is not None, "a static student is a classifier: it cannot be distilled without a task (general-distill)")
        model, tok = build_static_student(str(encoder), label_names, problem_type, getattr(cfg, "max_length", 128))
        return model, tok, StudentInfo("static", str(encoder))
    if cfg.student:
        if label_names is None:
            model = load_encoder(cfg.student, access.allow_pickle, access.trust_remote_code)
        else:
            model = student_from_checkpoint(
                cfg.student, label_names, reinit_head, access.allow_pickle, access.trust_remote_code, problem_type
            )
        kept = keep_layers(model, cfg.student_keep_layers) if cfg.student_keep_layers else None
        if kept is not None:
            model = kept[0]
        info = StudentInfo("checkpoint", cfg.student, kept[1] if kept else [])
        return model, load_tokenizer(cfg.student, access.trust_remote_code), info
    if cfg.student_hidden_size is not None:
        return fresh_student(teacher.config, cfg, label_names, problem_type), teacher.tokenizer, StudentInfo("fresh", "config")
    ids = select_layers(teacher.config.num_hidden_layers, cfg.student_layers, cfg.layer_selection, cfg.student_layer_ids)
    return student_from_teacher_layers(teacher.model, ids), teacher.tokenizer, StudentInfo("teacher-layers", "teacher", ids)


def count_parameters(model: PreTrainedModel) -> dict[str, int]:
    """Total parameters and those outside the embedding layer."""
    total = sum(p.numel() for p in model.parameters())
    emb = sum(p.numel() for name, p in model.named_parameters() if ".embeddings." in f".{name}.")
    return {"total": total, "non_embedding": total - emb}
