"""The one decision of where a student's targets come from during training, made once per run.

- **cached logits**: the teacher labels the transfer set once (:mod:`distilkit.teacher.cache`);
  training reads the ``teacher_logits`` column and the teacher's weights are freed (or never
  loaded, when the student is not cut from them);
- **online layers**: layer terms need the teacher's hidden states, attention maps or Q/K/V, so it
  runs on every step that uses them (eval mode, no gradients, never wrapped by DDP) on its own
  tokenisation (``teacher_input_ids`` ...); a logits-only stage (TinyBERT's second) still reads the
  cached logits and skips the teacher;
- **ensemble**: several teachers' cached logits, stacked (N, K, C), mixed into one soft target.

:class:`TeacherPlan` makes the decision, checks every teacher on validation data, adds the columns
the student's training set needs, and gives the trainer the soft targets and online outputs.
"""

from __future__ import annotations

import gc
import hashlib
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch

from distilkit.data.task_types import MULTI, SINGLE
from distilkit.data.tokenize import MODEL_INPUTS, tokenize_dataset
from distilkit.errors import DistilkitError
from distilkit.modeling.heads import thresholds_of
from distilkit.teacher.alignment import require_alignment
from distilkit.teacher.cache import CachedLogits
from distilkit.teacher.checks import TeacherCheck, judge_teacher
from distilkit.teacher.external import ExternalTeacher
from distilkit.teacher.fast import CACHE_NAMES, Fidelity, TeacherBackendChoice, choose_teacher_backend, passes
from distilkit.teacher.handle import TeacherHandle
from distilkit.teacher.targets import column_order, ensemble_targets, normalised_weights, stack_teacher_logits, task_targets
from distilkit.training.collate import ENSEMBLE_LOGITS, TEACHER_LOGITS, TEACHER_PREFIX

log = logging.getLogger(__name__)


def add_teacher_logits(ds: datasets.Dataset, logits_file: Path, batch_size: int = 4096) -> datasets.Dataset:
    """Add the (N, C) logits stored in ``logits_file`` (.npy) as a ``teacher_logits`` column, chunk by
    chunk from a memory map, so neither the array nor a Python list of it is held in memory at once."""
    arr = np.load(logits_file, mmap_mode="r")
    if arr.shape[0] != len(ds):
        raise DistilkitError(f"teacher cache {logits_file} holds {arr.shape[0]} rows, the transfer set {len(ds)}: delete it and rerun")
    feature = datasets.Sequence(datasets.Value("float32"), length=int(arr.shape[1]))
    fingerprint = hashlib.sha256(f"{ds._fingerprint}|{Path(logits_file).name}".encode()).hexdigest()[:16]  # not a hash of arr
    return ds.map(
        lambda _, idx: {TEACHER_LOGITS: np.asarray(arr[np.asarray(idx)], dtype=np.float32)},
        with_indices=True,
        batched=True,
        batch_size=batch_size,
        new_fingerprint=fingerprint,
        features=datasets.Features({**ds.features, TEACHER_LOGITS: feature}),
        desc="teacher logits",
    )


class TeacherPlan:
    """Where the targets come from: ``online`` (some stage's terms need the teacher's layers),
    ``cached`` (some stage reads cached logits), ``ensemble`` (several teachers).

    ``teachers[0]`` is the primary teacher: its labels order the task and it is the one run online.
    """

    def __init__(self, teachers: list[TeacherHandle], online: bool, logits_stage: bool, weights: list[float] | None = None) -> None:
        self.teachers = teachers
        self.primary = teachers[0]
        self.weights = normalised_weights(len(teachers), weights) if len(teachers) > 1 else None
        self.online = online
        self.cached = not online or len(teachers) > 1 or logits_stage
        self.orders: list[list[int]] = []
        self.cache_key: str | None = None
        self.task_type = SINGLE
        self.scale: tuple[float, float] | None = None  # regression: (mean, std) the student's targets are standardised with
        self.validation_logits: np.ndarray | None = None  # the primary teacher's (torch fp32), from check()
        self.backend: TeacherBackendChoice | None = None
        self.torch_texts_per_s: float | None = None  # the primary teacher's validation pass (recorded with its cache entry)
        self.transfer_hit: CachedLogits | None = None  # the transfer set's logits, when choose_backend found them cached

    def use_task(self, task_type: str, scale: tuple[float, float] | None) -> None:
        """Targets for this task type (softmax, per-label sigmoid, standardised values)."""
        self.task_type, self.scale = task_type, scale

    @property
    def mode(self) -> str:
        parts = (["online layers"] if self.online else []) + (
            ["ensemble of cached logits"] if self.weights else ["cached logits"] if self.cached else []
        )
        return " + ".join(parts)

    def check(self, validation: datasets.Dataset, max_length: int, cache_dir: str | None, force: bool) -> TeacherCheck:
        """Score every teacher on ``validation`` (through the cache) and refuse one no better than the
        majority baseline (unless ``force``); returns the primary teacher's check."""
        labels = np.asarray(validation["label"])
        self.orders = [column_order(self._label_names(), t.config, t.name) for t in self.teachers[1:]]
        checks = []
        for i, teacher in enumerate(self.teachers):
            cached = teacher.logits(validation, max_length, cache_dir)  # every rank labels its share (cache.py)
            logits = cached.logits
            if i == 0:
                self.validation_logits = np.asarray(logits)
                self.torch_texts_per_s = cached.meta.get("texts_per_s") if cached.meta.get("backend", "torch") == "torch" else None
            if i:
                logits = logits[:, self.orders[i - 1]]
            thresholds = thresholds_of(teacher.config, self._label_names()) if self.task_type == MULTI else None
            checks.append(judge_teacher(logits, labels, force, self.task_type, thresholds))
            log.info(
                "teacher validation %s %.4f (baseline %.4f): %s",
                checks[-1].metric,
                checks[-1].accuracy,
                checks[-1].majority_baseline,
                teacher.name,
            )
        return checks[0]

    def choose_backend(
        self,
        validation: datasets.Dataset,
        transfer: datasets.Dataset,
        max_length: int,
        cache_dir: str | None,
        requested: str,
        min_agreement: float,
        threads: int | None,
        temperature: float = 1.0,
    ) -> TeacherBackendChoice | None:
        """Pick the backend of the primary teacher's pass over ``transfer`` (see
        :mod:`distilkit.teacher.fast`); None when no transfer-set pass is needed. Call after :meth:`check`.

        The cache is looked up first, for any number of rows: an entry for ``transfer`` is used as it
        is (torch's first, the reference; then bf16, fp32 and int8 ONNX entries whose recorded validation
        check passes today's gate; with a backend asked for by name, that backend's entry only), and
        then no teacher weights are loaded and no ONNX graph is built or run."""
        if not self.cached or isinstance(self.primary, ExternalTeacher):  # outputs given as data: nothing to run
            return None
        names = list(CACHE_NAMES) if requested == "auto" else [requested]  # torch first: the reference
        for name in names:
            hit = self.primary.cached_entry(transfer, max_length, cache_dir, CACHE_NAMES[name])
            recorded = (hit.meta.get("fidelity") or {}) if hit else {}
            if hit and (name == "torch" or requested != "auto" or passes(recorded, min_agreement)):
                self.transfer_hit = hit
                self.backend = TeacherBackendChoice(
                    name,
                    fidelity={name: Fidelity(**{k: v for k, v in recorded.items() if k in Fidelity.__dataclass_fields__})}
                    if recorded
                    else {},
                    min_agreement=min_agreement,
                    reason=f"the transfer set's {name} labels were in the cache ({hit.path.name})",
                    from_cache=True,
                    torch_texts_per_s=hit.meta.get("torch_validation_texts_per_s", self.torch_texts_per_s),
                    transfer={k: hit.meta.get(k) for k in ("rows", "seconds", "texts_per_s")},
                )
                log.info("teacher pass: %s", self.backend.reason)
                return self.backend
        pairs = validation["text_pair"] if "text_pair" in validation.column_names else None
        self.backend = choose_teacher_backend(
            self.primary,
            list(validation["text"]),
            list(pairs) if pairs is not None else None,
            self.validation_logits,
            max_length,
            requested,
            min_agreement,
            threads,
            rows=len(transfer),
            task_type=self.task_type,
            temperature=temperature,
            torch_texts_per_s=self.torch_texts_per_s,
        )
        return self.backend

    def _label_names(self) -> list[str]:
        config = self.primary.config
        return [str(config.id2label[i]) for i in range(config.num_labels)]

    def attach(
        self,
        train: datasets.Dataset,
        transfer: datasets.Dataset,
        student_tokenizer: Any,
        max_length: int,
        cache_dir: str | None,
        positionwise_terms: list[str],
        usable_terms: list[str],
    ) -> datasets.Dataset:
        """The student's tokenised training set ``train`` plus what the targets need: the teacher's
        own tokenisation (online), cached logits, or every teacher's stacked logits (ensemble).
        ``transfer`` is the untokenised training split in the same row order."""
        if self.online:
            t_train = tokenize_dataset(transfer, self.primary.tokenizer, max_length, prefix=TEACHER_PREFIX, keep=())
            if positionwise_terms:
                require_alignment(
                    student_tokenizer,
                    self.primary.tokenizer,
                    train["input_ids"],
                    t_train[TEACHER_PREFIX + "input_ids"],
                    positionwise_terms,
                    usable_terms,
                )
            for col in t_train.column_names:
                train = train.add_column(col, t_train[col])
        if self.cached:
            engine = self.backend.engine if self.backend else None
            per_teacher = [
                t.logits(transfer, max_length, cache_dir)
                if isinstance(t, ExternalTeacher)
                else self.transfer_hit
                if i == 0 and self.transfer_hit is not None and len(self.transfer_hit.logits) == len(transfer)
                else t.logits(transfer, max_length, cache_dir, backend=engine if i == 0 else None, meta=self._record() if i == 0 else None)
                for i, t in enumerate(self.teachers)
            ]
            if self.backend is not None and not self.backend.from_cache:
                self.backend.transfer = {k: per_teacher[0].meta.get(k) for k in ("rows", "seconds", "texts_per_s")}
            self.cache_key = per_teacher[0].key
            if self.weights:
                arrays = [per_teacher[0].logits] + [c.logits[:, order] for c, order in zip(per_teacher[1:], self.orders)]
                train = train.add_column(ENSEMBLE_LOGITS, stack_teacher_logits(arrays).tolist())
            else:
                train = add_teacher_logits(train, per_teacher[0].path)
        return train

    def _record(self) -> dict[str, Any]:
        """What the transfer set's cache entry records about the chosen backend: its validation check,
        so a later run can reuse an ONNX-made entry only if it passes that run's gate."""
        if self.backend is None:
            return {}
        own = self.backend.fidelity.get(self.backend.name)
        return {"fidelity": asdict(own) if own else None, "torch_validation_texts_per_s": self.torch_texts_per_s}

    def release(self) -> None:
        """Free every teacher's weights when training reads only cached logits."""
        if not self.online:
            for teacher in self.teachers:
                teacher.release()
            if self.backend is not None:
                self.backend.engine = None  # a torch-bf16 engine holds the teacher's weights; an ONNX one, its session
            gc.collect()

    def forward(self, batch: dict[str, torch.Tensor], attentions: bool) -> Any:
        """The primary teacher's outputs (logits, all hidden states, attention maps if asked) on its own
        inputs in ``batch`` (``teacher_input_ids`` ...), without gradients."""
        inputs = {
            k[len(TEACHER_PREFIX) :]: v
            for k, v in batch.items()
            if k.startswith(TEACHER_PREFIX) and k[len(TEACHER_PREFIX) :] in MODEL_INPUTS
        }
        with torch.no_grad():
            return self.primary.model(**inputs, output_hidden_states=True, output_attentions=attentions or None)

    def targets(self, batch: dict[str, torch.Tensor], teacher_outputs: Any, temperature: float) -> torch.Tensor | None:
        """The soft target (B, C) at ``temperature`` for the task type (see :func:`task_targets`): the
        ensemble's, the cached logits', or the online teacher's."""
        if batch.get(ENSEMBLE_LOGITS) is not None:
            return ensemble_targets(batch[ENSEMBLE_LOGITS], self.weights or [], temperature, self.task_type, self.scale)
        if batch.get(TEACHER_LOGITS) is not None:
            return task_targets(batch[TEACHER_LOGITS], temperature, self.task_type, self.scale)
        if teacher_outputs is not None:
            return task_targets(teacher_outputs.logits.detach(), temperature, self.task_type, self.scale)
        return None
